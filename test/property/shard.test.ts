// Proves the shard leader (committed state + overlay + batches) decides exactly as a
// single in-process limiter would, however commits lag behind decisions, and that every
// replica applying the batches ends with the same state.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfigOrThrow } from '../../src/config/index.js';
import { Limiter } from '../../src/engine/limiter.js';
import { ShardLeader, type SealedBatch } from '../../src/shard/leader.js';
import { ShardReplica } from '../../src/shard/replica.js';
import type { StoredState } from '../../src/engine/store.js';
import { fcParams } from '../support/fc-params.js';

const CONFIG = loadConfigOrThrow(`
defaults: { algorithm: gcra, limit: 5, period: 1s, burst: 5 }
resources:
  win: { algorithm: sliding_window, limit: 4, period: 500ms }
  fixed: { algorithm: fixed_window, limit: 3, period: 200ms }
  conc: { algorithm: concurrency, limit: 2, lease: 300ms }
`);

type Op =
  | { kind: 'check'; key: number; resources: readonly string[]; cost: number; dtMs: number }
  | { kind: 'seal' }
  | { kind: 'commit' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('check' as const),
      key: fc.integer({ min: 0, max: 4 }),
      resources: fc.oneof(
        fc.constantFrom(['default'], ['win'], ['fixed'], ['conc']),
        fc.constantFrom(['default', 'win'], ['fixed', 'win', 'default']),
      ),
      cost: fc.oneof(fc.constant(1), fc.integer({ min: 0, max: 3 })),
      dtMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 150 })),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'seal' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'commit' as const }) },
);

describe('shard leader over lagging commits', () => {
  it('decides as one limiter would, and every replica converges to the same state', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 150 }), (ops) => {
        const reference = new Limiter({ resolver: CONFIG });
        const leaderReplica = new ShardReplica();
        const follower = new ShardReplica();
        const leader = new ShardLeader(leaderReplica, CONFIG);
        const inflight: SealedBatch[] = [];
        let index = 0;
        let now = 1_700_000_000_000;
        const commitOne = (): void => {
          const b = inflight.shift();
          if (b === undefined) return;
          index++;
          // Half the leader's own entries apply by slot (applyOwn), half decode like a follower's.
          const own = index % 2 === 0 ? leader.applyOwn(index, b.data) : -1;
          leader.onApplied(own >= 0 ? own : leaderReplica.apply(index, b.data));
          follower.apply(index, b.data);
        };
        for (const op of ops) {
          if (op.kind === 'seal') {
            const b = leader.seal();
            if (b !== null) inflight.push(b);
          } else if (op.kind === 'commit') {
            commitOne();
          } else {
            now += op.dtMs;
            const key = `k${op.key}`;
            const got = leader.check({ key, resources: op.resources, cost: op.cost, tier: undefined, idempotencyId: undefined }, now);
            const want =
              op.resources.length === 1
                ? reference.check(key, op.resources[0] as string, op.cost, undefined, now)
                : reference.checkMulti(key, op.resources, op.cost, undefined, now);
            const { results: _ignored, ...wantTop } = want as typeof want & { results?: unknown };
            const { results: _ignored2, ...gotTop } = got.result as typeof got.result & { results?: unknown };
            expect(gotTop).toEqual(wantTop);
          }
        }
        const last = leader.seal();
        if (last !== null) inflight.push(last);
        while (inflight.length > 0) commitOne();
        expect(leader.overlaySize).toBe(0);
        const dump = (r: ShardReplica): StoredState[] => [...r.store.entries()].sort((a, b) => (a.key + a.resource < b.key + b.resource ? -1 : 1));
        expect(dump(leaderReplica)).toEqual(dump(follower));
        expect(dump(leaderReplica).map((s) => [s.key, s.resource, s.state])).toEqual(
          [...reference.states()].sort((a, b) => (a.key + a.resource < b.key + b.resource ? -1 : 1)).map((s) => [s.key, s.resource, s.state]),
        );
      }),
      fcParams(300),
    );
  });
});
