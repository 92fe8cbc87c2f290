// Proves the scripted scenarios in test/raft/testdata/*.txt still produce their golden output
// (regenerate on purpose with UPDATE_GOLDEN=1 and review the diff).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runScript } from './support/script.js';

const dir = fileURLToPath(new URL('./testdata', import.meta.url));
const update = process.env['UPDATE_GOLDEN'] === '1';

describe('scripted scenarios', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()) {
    it(`${file} matches its golden output`, () => {
      const path = join(dir, file);
      const source = readFileSync(path, 'utf8');
      const actual = runScript(source);
      if (update) writeFileSync(path, actual);
      else expect(actual).toBe(source);
    });
  }
});
