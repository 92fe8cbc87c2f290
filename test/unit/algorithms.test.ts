// Proves the algorithms on hand-checked examples: the numbers a user would compute on paper.
import { describe, expect, it } from 'vitest';
import { fixedWindowDecide } from '../../src/engine/fixed-window.js';
import { gcraDecide, gcraExpiresAtMs } from '../../src/engine/gcra.js';
import { slidingWindowDecide } from '../../src/engine/sliding-window.js';
import { RETRY_NEVER_MS } from '../../src/engine/types.js';
import { ruleOf } from '../support/rules.js';

const T0 = 1_700_000_000_000; // a multiple of 1000

describe('gcra', () => {
  it('allows a burst then spaces checks by period / limit, with exact retryAfterMs', () => {
    const rule = ruleOf({ algorithm: 'gcra', limit: 3, periodMs: 1000, burst: 3 });
    let s = undefined;
    for (let i = 0; i < 3; i++) {
      const r = gcraDecide(s, rule, 1, T0);
      expect(r).toMatchObject({ allowed: true, remaining: 2 - i });
      s = r.next ?? s;
    }
    const denied = gcraDecide(s, rule, 1, T0);
    // One unit every 333.33 ms: the next fits at T0 + 334 (333 is still 1/3 ms short).
    expect(denied).toMatchObject({ allowed: false, retryAfterMs: 334, resetMs: 1000 });
    expect(gcraDecide(s, rule, 1, T0 + 333).allowed).toBe(false);
    expect(gcraDecide(s, rule, 1, T0 + 334).allowed).toBe(true);
  });

  it('keeps exact time for rates that are not whole milliseconds, over a long run', () => {
    // burst 2 never overflows under a check every ms, so the bucket holds exactly
    // 2 + 3e/1000 - admitted tokens at elapsed e: admitted must be 2 + floor(3e / 1000).
    const rule = ruleOf({ algorithm: 'gcra', limit: 3, periodMs: 1000, burst: 2 });
    let s = undefined;
    let admitted = 0;
    let drift = 0;
    for (let e = 0; e < 3_600_000; e += 1) {
      const r = gcraDecide(s, rule, 1, T0 + e);
      if (r.allowed) admitted++;
      s = r.next ?? s;
      if (e > 0 && admitted !== 2 + Math.floor((3 * e) / 1000)) drift++; // e = 0 takes one of the two
    }
    expect(drift).toBe(0);
    expect(admitted).toBe(10_801);
  });

  it('a cost above burst is never allowed; cost 0 peeks without changing state', () => {
    const rule = ruleOf({ algorithm: 'gcra', limit: 10, periodMs: 1000, burst: 5 });
    expect(gcraDecide(undefined, rule, 6, T0)).toMatchObject({ allowed: false, retryAfterMs: RETRY_NEVER_MS, remaining: 5 });
    expect(gcraDecide(undefined, rule, 0, T0)).toMatchObject({ allowed: true, remaining: 5, next: null });
  });

  it('a refund gives units back, never beyond a full bucket', () => {
    const rule = ruleOf({ algorithm: 'gcra', limit: 10, periodMs: 1000 });
    const taken = gcraDecide(undefined, rule, 4, T0);
    expect(taken.remaining).toBe(6);
    const back = gcraDecide(taken.next ?? undefined, rule, -2, T0);
    expect(back).toMatchObject({ allowed: true, remaining: 8 });
    const over = gcraDecide(back.next ?? undefined, rule, -100, T0);
    expect(over.remaining).toBe(10);
    expect(gcraExpiresAtMs(over.next ?? { tatMs: 0, tatFrac: 0 })).toBe(T0);
  });

  it('rejects non-integer cost and time', () => {
    const rule = ruleOf({ algorithm: 'gcra', limit: 10 });
    expect(() => gcraDecide(undefined, rule, 1.5, T0)).toThrow(/'cost' must be a safe integer \(got 1.5\)/);
    expect(() => gcraDecide(undefined, rule, 1, -1)).toThrow(/'nowMs'/);
  });
});

describe('windows', () => {
  it('fixed window resets at the epoch-aligned boundary', () => {
    const rule = ruleOf({ algorithm: 'fixed_window', limit: 2, periodMs: 1000 });
    const a = fixedWindowDecide(undefined, rule, 2, T0 + 400);
    expect(a).toMatchObject({ allowed: true, remaining: 0, resetMs: 600 });
    expect(fixedWindowDecide(a.next ?? undefined, rule, 1, T0 + 999)).toMatchObject({ allowed: false, retryAfterMs: 1 });
    expect(fixedWindowDecide(a.next ?? undefined, rule, 1, T0 + 1000).allowed).toBe(true);
  });

  it('sliding window weights the previous window by the part still covered', () => {
    const rule = ruleOf({ algorithm: 'sliding_window', limit: 10, periodMs: 1000 });
    const full = slidingWindowDecide(undefined, rule, 10, T0 + 500);
    expect(full.allowed).toBe(true);
    // 250 ms into the next window, the previous 10 weigh 7.5: 2 units fit, not 3.
    const at = T0 + 1250;
    const r2 = slidingWindowDecide(full.next ?? undefined, rule, 2, at);
    expect(r2).toMatchObject({ allowed: true, remaining: 0 });
    const r3 = slidingWindowDecide(full.next ?? undefined, rule, 3, at);
    // 3 fit once prev's weight is <= 7: 10 × (1000 - t) / 1000 <= 7 at t = 300.
    expect(r3).toMatchObject({ allowed: false, retryAfterMs: 50 });
  });
});
