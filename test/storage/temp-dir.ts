/** Temporary directories under os.tmpdir() for storage tests, removed by the caller. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function makeTempDir(tag: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `rl-storage-${tag}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}
