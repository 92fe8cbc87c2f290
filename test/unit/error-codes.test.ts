// Proves docs/errors.md lists exactly the error codes the code defines, and that the
// retryable flag of RateLimiterError follows the table.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, RateLimiterError, isRetryableCode } from '../../src/protocol/errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const rows = [...doc.matchAll(/^\| `(RL_ERR_[A-Z_]+)` \|.*\| (yes|no)[^|]*\|/gm)].map((m) => ({ code: m[1], retry: m[2] === 'yes' }));

describe('error codes', () => {
  it('docs/errors.md lists every code exactly once and nothing else', () => {
    expect(rows.map((r) => r.code).sort()).toEqual([...ERROR_CODES].sort());
  });

  it('retryable codes match the retry column of docs/errors.md', () => {
    for (const row of rows) expect(isRetryableCode(row.code as (typeof ERROR_CODES)[number]), row.code).toBe(row.retry);
  });

  it('RateLimiterError carries code, retryable, details and cause', () => {
    const cause = new Error('disk');
    const err = new RateLimiterError('RL_ERR_NO_QUORUM', 'group 3 has 1 of 3 replicas', { cause, details: { groupId: 3 } });
    expect(err).toMatchObject({ code: 'RL_ERR_NO_QUORUM', retryable: true, details: { groupId: 3 }, name: 'RateLimiterError' });
    expect(err.cause).toBe(cause);
  });
});
