// Proves the import table of ARCHITECTURE.md holds: each folder imports only what it may,
// and the pure parts (raft/, the domain in src/) use no clock, randomness, timer or I/O.
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codeOnly, importSpecifiers, listSourceFiles } from './source-files.js';

type Area =
  | 'raft'
  | 'storage'
  | 'protocol'
  | 'domain'
  | 'node'
  | 'cli'
  | 'cluster'
  | 'client'
  | 'chaos'
  | 'test'
  | 'raft-sim';

function areaOf(path: string): Area {
  if (path.startsWith('raft/sim/')) return 'raft-sim';
  if (path.startsWith('raft/')) return 'raft';
  if (path.startsWith('storage/')) return 'storage';
  if (path.startsWith('src/protocol/')) return 'protocol';
  if (path.startsWith('src/node/')) return 'node';
  if (path.startsWith('src/cli/')) return 'cli';
  if (path.startsWith('src/')) return 'domain';
  if (path.startsWith('cluster/')) return 'cluster';
  if (path.startsWith('client/')) return 'client';
  if (path.startsWith('chaos/')) return 'chaos';
  return 'test';
}

/** Which project areas each area may import (its own area is always allowed). */
const MAY_IMPORT: Record<Area, readonly Area[] | 'anything'> = {
  raft: [],
  'raft-sim': ['raft'],
  storage: ['raft'],
  protocol: [],
  domain: ['protocol'],
  node: 'anything',
  cli: 'anything',
  cluster: ['raft', 'storage', 'protocol'],
  client: ['protocol', 'domain'],
  chaos: 'anything',
  test: 'anything',
};

/** Packages (non-relative imports) each pure area may use: pure computation only. */
const PURE_PACKAGES: Partial<Record<Area, readonly string[]>> = {
  raft: [],
  protocol: ['msgpackr'],
  domain: ['yaml', 'msgpackr'],
};

/** Calls that read the clock, a random source or schedule work: forbidden in pure code. */
const IMPURE_CALLS = /\b(Date\.now|new Date|Math\.random|performance\.now|setTimeout|setInterval|setImmediate|queueMicrotask|process\.hrtime|crypto\.random\w*)\s*\(/;

const files = listSourceFiles(['src', 'raft', 'storage', 'cluster', 'client', 'chaos', 'test']);

describe('import boundaries', () => {
  it('finds the source tree', () => {
    expect(files.some((f) => f.path.startsWith('src/engine/'))).toBe(true);
  });

  for (const file of files) {
    const from = areaOf(file.path);
    const allowed = MAY_IMPORT[from];
    const pkgs = PURE_PACKAGES[from];
    const specs = importSpecifiers(file.text);
    if (allowed === 'anything' && pkgs === undefined) continue;

    it(`${file.path} imports only what ${from} may`, () => {
      const violations: string[] = [];
      for (const spec of specs) {
        if (spec.startsWith('.')) {
          const target = posix.normalize(posix.join(posix.dirname(file.path), spec));
          const to = areaOf(target);
          if (to !== from && allowed !== 'anything' && !allowed.includes(to)) {
            violations.push(`${spec} (${to})`);
          }
        } else if (pkgs !== undefined) {
          const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
          if (spec.startsWith('node:') || name === undefined || !pkgs.includes(name)) {
            violations.push(`${spec} (package not allowed in pure ${from})`);
          }
        }
      }
      expect(violations).toEqual([]);
    });
  }
});

describe('purity of raft/ and the domain', () => {
  const pure = files.filter((f) => ['raft', 'protocol', 'domain'].includes(areaOf(f.path)));
  for (const file of pure) {
    it(`${file.path} reads no clock or random source and sets no timer`, () => {
      const hits = codeOnly(file.text)
        .split('\n')
        .map((line, i) => ({ line, n: i + 1 }))
        .filter(({ line }) => IMPURE_CALLS.test(line))
        .map(({ line, n }) => `${n}: ${line.trim()}`);
      expect(hits).toEqual([]);
    });
  }
});

describe('the boundary check itself', () => {
  it('parses static, side-effect and dynamic imports', () => {
    const text = "import { a } from '../x.js';\nimport '../y.js';\nexport * from \"./z.js\";\nconst m = await import('node:fs');";
    expect(importSpecifiers(text).sort()).toEqual(['../x.js', '../y.js', './z.js', 'node:fs']);
  });

  it('flags impure calls in code but not in comments or strings', () => {
    expect(IMPURE_CALLS.test(codeOnly('const t = Date.now();'))).toBe(true);
    expect(IMPURE_CALLS.test(codeOnly('// Date.now() is forbidden here'))).toBe(false);
    expect(IMPURE_CALLS.test(codeOnly("const s = 'Math.random()';"))).toBe(false);
  });

  it('classifies folders as ARCHITECTURE.md lays them out', () => {
    expect(areaOf('src/engine/gcra.ts')).toBe('domain');
    expect(areaOf('src/protocol/errors.ts')).toBe('protocol');
    expect(areaOf('src/node/main.ts')).toBe('node');
    expect(areaOf('raft/raft.ts')).toBe('raft');
    expect(areaOf('cluster/transport.ts')).toBe('cluster');
  });
});
