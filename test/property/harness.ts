import fc from 'fast-check';
import { expect } from 'vitest';
import type { AlgorithmState, AnyAlgorithmResult } from '../../src/engine/algorithm.js';
import { decide } from '../../src/engine/algorithm.js';
import { RETRY_NEVER_MS, type AlgorithmName, type CompiledRule } from '../../src/engine/types.js';
import { ruleOf } from '../support/rules.js';
import { firstTrue, type Model } from './models.js';

export interface Op {
  readonly dtMs: number;
  readonly cost: number;
}

/** Epoch-sized start times, so the exact-arithmetic claims are tested at real magnitudes. */
export const startMsArb = fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 });

export function opsArb(periodMs: number, costMax: number, refunds: boolean): fc.Arbitrary<Op[]> {
  const dt = fc.oneof(
    { weight: 4, arbitrary: fc.constant(0) },
    { weight: 6, arbitrary: fc.integer({ min: 1, max: Math.max(1, Math.ceil(periodMs / 3)) }) },
    { weight: 1, arbitrary: fc.integer({ min: periodMs, max: 4 * periodMs }) },
  );
  const costs: { weight: number; arbitrary: fc.Arbitrary<number> }[] = [
    { weight: 8, arbitrary: fc.constant(1) },
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 2, arbitrary: fc.integer({ min: 2, max: Math.max(2, costMax) }) },
    { weight: 1, arbitrary: fc.integer({ min: costMax + 1, max: costMax + 3 }) },
  ];
  if (refunds) costs.push({ weight: 1, arbitrary: fc.integer({ min: -3, max: -1 }) });
  return fc.array(fc.record({ dtMs: dt, cost: fc.oneof(...costs) }), { minLength: 1, maxLength: 120 });
}

export const ruleParamsArb = fc.record({
  limit: fc.integer({ min: 1, max: 12 }),
  periodMs: fc.oneof(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 51, max: 3_000 })),
  burstExtra: fc.integer({ min: -5, max: 10 }),
});

export function makeRule(algorithm: AlgorithmName, p: { limit: number; periodMs: number; burstExtra: number }): CompiledRule {
  if (algorithm === 'gcra') return ruleOf({ algorithm, limit: p.limit, periodMs: p.periodMs, burst: Math.max(1, p.limit + p.burstExtra) });
  if (algorithm === 'concurrency') return ruleOf({ algorithm, limit: p.limit, leaseMs: p.periodMs });
  return ruleOf({ algorithm, limit: p.limit, periodMs: p.periodMs });
}

/** Capacity: the largest cost that can ever be allowed. */
export function capacityOf(rule: CompiledRule): number {
  return rule.algorithm === 'gcra' ? rule.burst : rule.limit;
}

/**
 * Runs `ops` through the engine and the model side by side and checks, at every step:
 * the same decision; `remaining` and `resetMs` as the model defines them; `retryAfterMs`
 * exact (the model allows the same cost at now + retryAfterMs and denies it 1 ms before).
 * Returns the engine's decisions.
 */
export function runAgainstModel(rule: CompiledRule, model: Model, startMs: number, ops: readonly Op[]): AnyAlgorithmResult[] {
  let state: AlgorithmState | undefined;
  let now = startMs;
  const out: AnyAlgorithmResult[] = [];
  const capacity = capacityOf(rule);
  ops.forEach((op, step) => {
    now += op.dtMs;
    const where = `step ${step} at +${now - startMs} ms, cost ${op.cost}`;
    const d = decide(rule, state, op.cost, now);
    const modelAllowed = op.cost <= capacity && model.allowedAt(op.cost, now);
    expect(d.allowed, `${where}: allowed`).toBe(modelAllowed);
    if (!d.allowed) {
      const horizon = model.horizonMs(now) - now;
      const wait = op.cost > capacity ? null : firstTrue(1, horizon, (w) => model.allowedAt(op.cost, now + w));
      expect(d.retryAfterMs, `${where}: retryAfterMs`).toBe(wait ?? RETRY_NEVER_MS);
      if (wait !== null) {
        expect(model.allowedAt(op.cost, now + d.retryAfterMs), `${where}: allowed at retry`).toBe(true);
        expect(model.allowedAt(op.cost, now + d.retryAfterMs - 1), `${where}: denied 1 ms before retry`).toBe(false);
      }
      expect(d.next, `${where}: a denial changes no state`).toBeNull();
    } else {
      expect(d.retryAfterMs).toBe(0);
      model.apply(op.cost, now);
    }
    expect(d.remaining, `${where}: remaining`).toBe(model.remainingAt(now));
    const full = capacity;
    const reset = firstTrue(0, model.horizonMs(now) - now, (w) => model.remainingAt(now + w) >= full);
    expect(d.resetMs, `${where}: resetMs`).toBe(reset);
    if (d.next !== null) state = d.next;
    out.push(d);
  });
  return out;
}
