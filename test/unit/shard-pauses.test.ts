// Proves the background work of a shard with 1M keys never blocks the event loop for more
// than 20 ms at a time: each snapshot chunk and each expiry sweep step is bounded work.
import { describe, expect, it } from 'vitest';
import { SNAPSHOT_STATES_PER_CHUNK, ShardReplica } from '../../src/shard/replica.js';
import { encodeBatch, type Mutation } from '../../src/shard/codec.js';

const KEYS = 1_000_000;
const T0 = 1_700_000_000_000;

function replicaWithKeys(): ShardReplica {
  const replica = new ShardReplica();
  let index = 0;
  for (let base = 0; base < KEYS; base += 10_000) {
    const mutations: Mutation[] = [];
    for (let i = base; i < base + 10_000; i++) {
      // Half the keys expire at T0 + 1 s, half an hour later: sweeps find both kinds.
      const tat = T0 + (i % 2 === 0 ? 1_000 : 1_800_000);
      mutations.push({ key: `user:${i}`, resource: 'default', shape: 'gcra', algorithm: 'gcra', state: { tatMs: tat, tatFrac: 0 }, expiresAtMs: tat });
    }
    replica.apply(++index, encodeBatch({ nowMs: T0 + 5_000, mutations, dedup: [] }));
  }
  return replica;
}

describe('background work of a 1M-key shard', () => {
  const replica = replicaWithKeys();

  it('writes a snapshot in chunks of at most 20 ms each', () => {
    let worstMs = 0;
    let chunks = 0;
    const it = replica.snapshotChunks();
    for (;;) {
      const t = performance.now();
      const step = it.next();
      worstMs = Math.max(worstMs, performance.now() - t);
      if (step.done === true) break;
      chunks++;
    }
    expect(chunks).toBe(KEYS / SNAPSHOT_STATES_PER_CHUNK);
    process.stdout.write(`snapshot of ${KEYS} keys: ${chunks} chunks, longest ${worstMs.toFixed(1)} ms\n`);
    expect(worstMs).toBeLessThan(20);
  }, 60_000);

  it('sweeps expired keys in steps of at most 20 ms each', () => {
    let worstMs = 0;
    let dropped = 0;
    for (let step = 0; step < 200 && dropped < KEYS / 2; step++) {
      const t = performance.now();
      dropped += replica.sweep(10_000);
      worstMs = Math.max(worstMs, performance.now() - t);
    }
    expect(dropped).toBe(KEYS / 2);
    expect(replica.store.size).toBe(KEYS / 2);
    process.stdout.write(`sweep of ${KEYS} keys: longest step ${worstMs.toFixed(1)} ms\n`);
    expect(worstMs).toBeLessThan(20);
  }, 60_000);
});
