// Proves each algorithm decides exactly as its brute-force model at every step (allowed,
// remaining, resetMs) and that retryAfterMs is exact, over random rules and traffic.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { fcParams } from '../support/fc-params.js';
import { FixedWindowModel, SlidingWindowModel, TokenBucketModel } from './models.js';
import { makeRule, opsArb, ruleParamsArb, runAgainstModel, startMsArb } from './harness.js';

const RUNS = 300;

describe('engine against reference models', () => {
  it('gcra decides as an exact token bucket, with exact retryAfterMs', () => {
    fc.assert(
      fc.property(
        ruleParamsArb.chain((p) => fc.tuple(fc.constant(p), opsArb(p.periodMs, Math.max(1, p.limit + p.burstExtra), true))),
        startMsArb,
        ([p, ops], startMs) => {
          const rule = makeRule('gcra', p);
          runAgainstModel(rule, new TokenBucketModel(rule.limit, rule.periodMs, rule.burst), startMs, ops);
        },
      ),
      fcParams(RUNS),
    );
  });

  it('sliding window decides as the two-window estimate over every window, with exact retryAfterMs', () => {
    fc.assert(
      fc.property(
        ruleParamsArb.chain((p) => fc.tuple(fc.constant(p), opsArb(p.periodMs, p.limit, true))),
        startMsArb,
        ([p, ops], startMs) => {
          const rule = makeRule('sliding_window', p);
          runAgainstModel(rule, new SlidingWindowModel(rule.limit, rule.periodMs), startMs, ops);
        },
      ),
      fcParams(RUNS),
    );
  });

  it('fixed window decides as per-window counts, with exact retryAfterMs', () => {
    fc.assert(
      fc.property(
        ruleParamsArb.chain((p) => fc.tuple(fc.constant(p), opsArb(p.periodMs, p.limit, true))),
        startMsArb,
        ([p, ops], startMs) => {
          const rule = makeRule('fixed_window', p);
          runAgainstModel(rule, new FixedWindowModel(rule.limit, rule.periodMs), startMs, ops);
        },
      ),
      fcParams(RUNS),
    );
  });
});
