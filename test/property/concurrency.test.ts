// Proves the concurrency limit against a model that keeps every lease ever granted: same
// decisions, exact retryAfterMs, never more than `limit` units held at any instant.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concurrencyAcquire, concurrencyRelease, type ConcurrencyState } from '../../src/engine/concurrency.js';
import { RETRY_NEVER_MS } from '../../src/engine/types.js';
import { fcParams } from '../support/fc-params.js';
import { ruleOf } from '../support/rules.js';
import { startMsArb } from './harness.js';
import { ConcurrencyModel, firstTrue } from './models.js';

type Step = { kind: 'acquire'; dtMs: number; cost: number } | { kind: 'release'; dtMs: number; pick: number };

const stepsArb = (leaseMs: number, limit: number): fc.Arbitrary<Step[]> =>
  fc.array(
    fc.oneof(
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('acquire' as const),
          dtMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: Math.max(1, Math.ceil(leaseMs / 4)) })),
          cost: fc.oneof(fc.constant(1), fc.constant(0), fc.integer({ min: 2, max: limit + 2 })),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('release' as const),
          dtMs: fc.integer({ min: 0, max: leaseMs }),
          pick: fc.nat(),
        }),
      },
    ),
    { minLength: 1, maxLength: 100 },
  );

describe('concurrency limit', () => {
  it('matches the lease-history model and never holds more than limit', () => {
    fc.assert(
      fc.property(
        fc
          .record({ limit: fc.integer({ min: 1, max: 8 }), leaseMs: fc.integer({ min: 1, max: 2_000 }) })
          .chain((p) => fc.tuple(fc.constant(p), stepsArb(p.leaseMs, p.limit))),
        startMsArb,
        ([p, steps], startMs) => {
          const rule = ruleOf({ algorithm: 'concurrency', limit: p.limit, leaseMs: p.leaseMs });
          const model = new ConcurrencyModel(p.limit, p.leaseMs);
          let state: ConcurrencyState | undefined;
          let now = startMs;
          const granted: string[] = [];
          for (const step of steps) {
            now += step.dtMs;
            if (step.kind === 'release') {
              if (granted.length === 0) continue;
              const id = granted[step.pick % granted.length] as string;
              const next = concurrencyRelease(state, id, now);
              expect(next !== null).toBe(model.release(id, now));
              if (next !== null) state = next;
              continue;
            }
            const d = concurrencyAcquire(state, rule, step.cost, now);
            const expected = step.cost <= p.limit && model.allowedAt(step.cost, now);
            expect(d.allowed).toBe(expected);
            if (d.allowed) {
              model.apply(step.cost, now, d.leaseId ?? '');
              if (d.leaseId !== null) granted.push(d.leaseId);
            } else {
              const wait = step.cost > p.limit ? null : firstTrue(1, p.leaseMs + 1, (w) => model.allowedAt(step.cost, now + w));
              expect(d.retryAfterMs).toBe(wait ?? RETRY_NEVER_MS);
            }
            expect(d.remaining).toBe(model.remainingAt(now));
            expect(model.usedAt(now)).toBeLessThanOrEqual(p.limit);
            if (d.next !== null) state = d.next;
          }
        },
      ),
      fcParams(300),
    );
  });

  it('lease ids stay unique after the state expires and restarts', () => {
    const rule = ruleOf({ algorithm: 'concurrency', limit: 1, leaseMs: 10 });
    const a = concurrencyAcquire(undefined, rule, 1, 1_000);
    const b = concurrencyAcquire(undefined, rule, 1, 1_010);
    expect(a.leaseId).not.toBe(b.leaseId);
    // A stale id from the first incarnation releases nothing in the second.
    expect(concurrencyRelease(b.next ?? undefined, a.leaseId ?? '', 1_011)).toBeNull();
  });

  it('a negative cost is a caller mistake', () => {
    const rule = ruleOf({ algorithm: 'concurrency', limit: 1 });
    expect(() => concurrencyAcquire(undefined, rule, -1, 0)).toThrow(RangeError);
  });
});
