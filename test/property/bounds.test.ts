// Proves the admission bounds directly from the admitted traffic, with no model: GCRA
// admits at most burst + elapsed × rate in any interval; windows at most limit per window.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, type AlgorithmState } from '../../src/engine/algorithm.js';
import type { CompiledRule } from '../../src/engine/types.js';
import { fcParams } from '../support/fc-params.js';
import { makeRule, opsArb, ruleParamsArb, startMsArb, type Op } from './harness.js';

function admitted(rule: CompiledRule, startMs: number, ops: readonly Op[]): { t: number; cost: number }[] {
  let state: AlgorithmState | undefined;
  let now = startMs;
  const out: { t: number; cost: number }[] = [];
  for (const op of ops) {
    now += op.dtMs;
    const d = decide(rule, state, op.cost, now);
    if (d.allowed && op.cost > 0) out.push({ t: now, cost: op.cost });
    if (d.next !== null) state = d.next;
  }
  return out;
}

describe('admission bounds', () => {
  it('gcra admits at most burst + floor(elapsed × limit / period) units in any interval', () => {
    fc.assert(
      fc.property(
        ruleParamsArb.chain((p) => fc.tuple(fc.constant(p), opsArb(p.periodMs, Math.max(1, p.limit + p.burstExtra), false))),
        startMsArb,
        ([p, ops], startMs) => {
          const rule = makeRule('gcra', p);
          const a = admitted(rule, startMs, ops);
          for (let i = 0; i < a.length; i++) {
            let sum = 0;
            for (let j = i; j < a.length; j++) {
              const first = a[i] as { t: number };
              const last = a[j] as { t: number; cost: number };
              sum += last.cost;
              const bound = rule.burst + Math.floor(((last.t - first.t) * rule.limit) / rule.periodMs);
              expect(sum).toBeLessThanOrEqual(bound);
            }
          }
        },
      ),
      fcParams(300),
    );
  });

  for (const algorithm of ['fixed_window', 'sliding_window'] as const) {
    it(`${algorithm} admits at most limit units in any aligned window`, () => {
      fc.assert(
        fc.property(
          ruleParamsArb.chain((p) => fc.tuple(fc.constant(p), opsArb(p.periodMs, p.limit, false))),
          startMsArb,
          ([p, ops], startMs) => {
            const rule = makeRule(algorithm, p);
            const perWindow = new Map<number, number>();
            for (const { t, cost } of admitted(rule, startMs, ops)) {
              const k = Math.floor(t / rule.periodMs);
              perWindow.set(k, (perWindow.get(k) ?? 0) + cost);
            }
            for (const total of perWindow.values()) expect(total).toBeLessThanOrEqual(rule.limit);
          },
        ),
        fcParams(300),
      );
    });
  }

  it('sliding window admits at most 2 × limit in any interval of one period', () => {
    fc.assert(
      fc.property(
        ruleParamsArb.chain((p) => fc.tuple(fc.constant(p), opsArb(p.periodMs, p.limit, false))),
        startMsArb,
        ([p, ops], startMs) => {
          const rule = makeRule('sliding_window', p);
          const a = admitted(rule, startMs, ops);
          for (let i = 0; i < a.length; i++) {
            let sum = 0;
            for (let j = i; j < a.length && (a[j] as { t: number }).t - (a[i] as { t: number }).t < rule.periodMs; j++) {
              sum += (a[j] as { cost: number }).cost;
            }
            expect(sum).toBeLessThanOrEqual(2 * rule.limit);
          }
        },
      ),
      fcParams(200),
    );
  });
});
