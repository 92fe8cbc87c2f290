// Proves the house rules that a compiler does not check: no focused or skipped tests,
// no default exports, no `any`, and every test file opens with a line on what it proves.
import { describe, expect, it } from 'vitest';
import { codeOnly, listSourceFiles } from './source-files.js';

// test/lint/ holds these patterns as regex literals, so it is left out of the pattern checks.
const all = listSourceFiles(['src', 'raft', 'storage', 'cluster', 'client', 'chaos', 'test']).filter(
  (f) => !f.path.startsWith('test/lint/'),
);
const tests = all.filter((f) => f.path.endsWith('.test.ts'));

function offending(pattern: RegExp, files: typeof all): string[] {
  const out: string[] = [];
  for (const f of files) {
    codeOnly(f.text)
      .split('\n')
      .forEach((line, i) => {
        if (pattern.test(line)) out.push(`${f.path}:${i + 1}: ${line.trim()}`);
      });
  }
  return out;
}

describe('house rules', () => {
  it('no test is focused, skipped or left as todo', () => {
    expect(offending(/\b(it|test|describe)\.(only|skip|todo|skipIf|runIf)\b|\bx(it|describe)\(/, tests)).toEqual([]);
  });

  it('no default exports outside config files', () => {
    const sources = all.filter((f) => !f.path.endsWith('vitest.config.ts'));
    expect(offending(/\bexport\s+default\b/, sources)).toEqual([]);
  });

  it('no explicit any', () => {
    expect(offending(/(:\s*any\b|\bas\s+any\b|<any>|any\[\])/, all)).toEqual([]);
  });

  it('every test file opens with a comment on what it proves', () => {
    const bare = tests.filter((f) => !/^\s*(\/\/|\/\*)/.test(f.text)).map((f) => f.path);
    expect(bare).toEqual([]);
  });
});
