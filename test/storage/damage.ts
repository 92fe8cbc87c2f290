/**
 * Helpers for corruption tests: a populated node database with known contents, raw
 * LevelDB access to damage values through LevelDB's API, and byte flips in its files.
 */
import { readdir, readFile, writeFile, cp } from 'node:fs/promises';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { toLogIndex } from '../../raft/index.js';
import { LevelNodeStorage, StorageCorruptionError, toGroupId } from '../../storage/index.js';
import type { GroupId, NodeStorage } from '../../storage/index.js';
import { CONF, ents, hs, observe, rd } from './fixtures.js';

export type RawDb = ClassicLevel<Uint8Array, Uint8Array>;

export const GROUPS = [1, 2, 3, 4].map(toGroupId);
/** Group 3 holds a snapshot (and a compacted log); the others a plain log. */
export const SNAP_GROUP = toGroupId(3);
export const LAST_INDEX = 60;

export function rawDb(location: string): RawDb {
  return new ClassicLevel<Uint8Array, Uint8Array>(location, { keyEncoding: 'view', valueEncoding: 'view' });
}

/** Writes four groups of known contents at `location`; returns what each group shows. */
export async function populate(location: string): Promise<Map<GroupId, unknown>> {
  const node = await LevelNodeStorage.open({ location, fsync: 'off', snapshotChunkBytes: 4096 });
  const expected = new Map<GroupId, unknown>();
  for (const id of GROUPS) {
    const g = await node.createGroup(id, { bootstrap: CONF });
    await g.persist(rd({ entries: ents(2, LAST_INDEX, 2 + id, 500 + id * 100), hardState: hs(2 + id, 50, 'a') }));
    if (id === SNAP_GROUP) {
      await g.createSnapshot(toLogIndex(40), CONF, Uint8Array.from({ length: 20_000 }, (_, k) => (k * 13) & 0xff));
      await g.compact(toLogIndex(35));
    }
    expected.set(id, observe(g));
  }
  await node.close();
  return expected;
}

/** What a reader sees of each group after reopening: its contents, or the typed error. */
export async function inspect(node: NodeStorage): Promise<Map<GroupId, unknown>> {
  const out = new Map<GroupId, unknown>();
  for (const id of GROUPS) {
    try {
      const g = await node.openGroup(id);
      const snap = await g.snapshotData();
      out.set(id, { seen: observe(g), snapshotBytes: snap.data.byteLength });
    } catch (err) {
      out.set(id, err);
    }
  }
  return out;
}

/** Every group either reads exactly as written or fails with a typed error naming it: never wrong data, never an untyped crash. */
export function checkNoWrongData(seen: Map<GroupId, unknown>, expected: Map<GroupId, unknown>, listingFailed: boolean): { corrupt: GroupId[]; intact: GroupId[] } {
  const corrupt: GroupId[] = [];
  const intact: GroupId[] = [];
  for (const [id, result] of seen) {
    if (result instanceof StorageCorruptionError) {
      if (result.groupId !== id) throw new Error(`group ${id}: corruption reported for group ${String(result.groupId)}`);
      corrupt.push(id);
    } else if (result instanceof RangeError && listingFailed) {
      corrupt.push(id); // not listed: LevelDB could not read past damage while listing groups
    } else if (result instanceof Error) {
      throw new Error(`group ${id}: untyped failure ${result.name}: ${result.message}`);
    } else {
      const { seen: view } = result as { seen: unknown };
      if (JSON.stringify(view) !== JSON.stringify(expected.get(id))) throw new Error(`group ${id}: served data that differs from what was written`);
      intact.push(id);
    }
  }
  return { corrupt, intact };
}

/** Flips one byte (xor `mask`) at `position` of the file. */
export async function flipByte(file: string, position: number, mask = 0x5a): Promise<void> {
  const buf = await readFile(file);
  buf[position] = (buf[position] as number) ^ mask;
  await writeFile(file, buf);
}

export async function filesEnding(dir: string, suffix: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith(suffix)).map((f) => join(dir, f));
}

export async function copyDir(from: string, to: string): Promise<void> {
  await cp(from, to, { recursive: true });
}

