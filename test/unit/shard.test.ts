// Proves the shard pieces one behaviour at a time: retries with an idempotency id are
// answered once, leadership loss drops uncommitted state, group time never runs
// backwards, snapshots round-trip, and malformed payloads are rejected by field.
import { describe, expect, it } from 'vitest';
import { loadConfigOrThrow } from '../../src/config/index.js';
import { CodecError, decodeBatch, encodeBatch, encodeLegacyBatch } from '../../src/shard/codec.js';
import { ShardLeader, type CheckRequest } from '../../src/shard/leader.js';
import { ShardReplica } from '../../src/shard/replica.js';
import { Packr } from 'msgpackr';

const CONFIG = loadConfigOrThrow('defaults: { algorithm: gcra, limit: 2, period: 1s }');
const T0 = 1_700_000_000_000;
const req = (key: string, idempotencyId?: string): CheckRequest => ({ key, resources: ['default'], cost: 1, tier: undefined, idempotencyId });

function commit(leader: ShardLeader, replicas: ShardReplica[]): void {
  const b = leader.seal();
  if (b === null) return;
  for (const [i, r] of replicas.entries()) {
    const applied = r.apply(r.appliedIndex + 1, b.data);
    if (i === 0) leader.onApplied(applied);
  }
}

describe('shard leader', () => {
  it('a retry with the same idempotency id gets the first answer and is not counted again', () => {
    const replica = new ShardReplica();
    const leader = new ShardLeader(replica, CONFIG);
    const first = leader.check(req('k', 'c1:1'), T0);
    const retryInflight = leader.check(req('k', 'c1:1'), T0);
    expect(retryInflight).toMatchObject({ deduplicated: true, batchSeq: first.batchSeq, result: first.result });
    commit(leader, [replica]);
    expect(leader.check(req('k', 'c1:1'), T0)).toMatchObject({ deduplicated: true, batchSeq: null });
    // Only one unit was taken: one more fits, the next does not.
    expect(leader.check(req('k'), T0).result.allowed).toBe(true);
    expect(leader.check(req('k'), T0).result.allowed).toBe(false);
  });

  it('a retry reaching a new leader after the entry committed is answered from the replicated record', () => {
    const a = new ShardReplica();
    const b = new ShardReplica();
    const oldLeader = new ShardLeader(a, CONFIG);
    const first = oldLeader.check(req('k', 'c1:7'), T0);
    commit(oldLeader, [a, b]);
    const newLeader = new ShardLeader(b, CONFIG);
    expect(newLeader.check(req('k', 'c1:7'), T0 + 5)).toMatchObject({ deduplicated: true, result: first.result });
  });

  it('reset drops the overlay and the open batch; decisions fall back to committed state', () => {
    const replica = new ShardReplica();
    const leader = new ShardLeader(replica, CONFIG);
    leader.check(req('k'), T0);
    leader.check(req('k'), T0);
    expect(leader.check(req('k'), T0).result.allowed).toBe(false);
    leader.reset();
    expect(leader.pendingMutations).toBe(0);
    expect(leader.seal()).toBeNull();
    expect(leader.check(req('k'), T0).result.allowed).toBe(true);
  });

  it('group time never runs behind an applied batch, whatever the local clock says', () => {
    const replica = new ShardReplica();
    const leader = new ShardLeader(replica, CONFIG);
    leader.check(req('k'), T0 + 10_000);
    commit(leader, [replica]);
    expect(replica.maxAppliedTimeMs).toBe(T0 + 10_000);
    const fresh = new ShardLeader(replica, CONFIG);
    expect(fresh.groupTime(T0)).toBe(T0 + 10_000);
  });

  it('seals at most one batch per call and reports when the batch is full', () => {
    const leader = new ShardLeader(new ShardReplica(), CONFIG, { batchMutationsMax: 20 });
    for (let i = 0; i < 6; i++) leader.check(req(`k${i}`), T0);
    expect(leader.batchFull).toBe(true);
    expect(leader.seal()?.mutationCount).toBe(6);
    expect(leader.batchFull).toBe(false);
  });
});

describe('shard replica', () => {
  it('snapshot chunks restore the same states, clock and idempotency records', () => {
    const replica = new ShardReplica();
    const leader = new ShardLeader(replica, CONFIG);
    for (let i = 0; i < 250; i++) leader.check(req(`k${i}`, `c:${i}`), T0 + i);
    commit(leader, [replica]);
    const chunks = [...replica.snapshotChunks(100)];
    expect(chunks.length).toBe(3);
    const restored = new ShardReplica();
    restored.restore(replica.appliedIndex, chunks);
    expect([...restored.store.entries()]).toEqual([...replica.store.entries()]);
    expect(restored.maxAppliedTimeMs).toBe(replica.maxAppliedTimeMs);
    expect(restored.appliedIndex).toBe(1);
    expect(restored.dedupLookup('c:3', T0)).toEqual(replica.dedupLookup('c:3', T0));
  });

  it('a snapshot that fails to decode leaves the old state intact', () => {
    const replica = new ShardReplica();
    const leader = new ShardLeader(replica, CONFIG);
    leader.check(req('k'), T0);
    commit(leader, [replica]);
    expect(() => replica.restore(9, [new Uint8Array([1, 2, 3])])).toThrow(CodecError);
    expect(replica.store.size).toBe(1);
    expect(replica.appliedIndex).toBe(1);
  });

  it('applies entries only in order', () => {
    const replica = new ShardReplica();
    expect(() => replica.apply(2, new Uint8Array())).toThrow(/out of order/);
    replica.apply(1, new Uint8Array());
    expect(replica.appliedIndex).toBe(1);
  });

  it('sweep drops idle state once the group clock passes its expiry plus the grace', () => {
    const replica = new ShardReplica({ idleGraceMs: 10_000 });
    const leader = new ShardLeader(replica, CONFIG);
    leader.check(req('old'), T0);
    commit(leader, [replica]);
    leader.check(req('new'), T0 + 5_000);
    commit(leader, [replica]);
    expect(replica.sweep(1000)).toBe(0); // 'old' expired ~4.5 s ago: within the grace
    leader.check(req('new'), T0 + 12_000);
    commit(leader, [replica]);
    expect(replica.sweep(1000)).toBe(1);
    expect([...replica.store.entries()].map((s) => s.key)).toEqual(['new']);
  });
});

describe('shard leader pending layer', () => {
  it('a batch carries each changed (key, resource) once, with its latest state', () => {
    const config = loadConfigOrThrow('defaults: { algorithm: gcra, limit: 1000, period: 1s }');
    const replica = new ShardReplica();
    const leader = new ShardLeader(replica, config);
    for (let i = 0; i < 50; i++) leader.check(req('hot'), T0);
    leader.check(req('cold'), T0);
    const b = leader.seal();
    expect(b?.mutationCount).toBe(2);
    const decoded = decodeBatch(b?.data ?? new Uint8Array());
    expect(decoded.mutations.map((m) => m.key)).toEqual(['hot', 'cold']);
    // 50 checks at 1 ms each: the hot key's state is the 50th decision's.
    expect(decoded.mutations[0]?.state).toEqual({ tatMs: T0 + 50, tatFrac: 0 });
    replica.apply(1, b?.data ?? new Uint8Array());
    leader.onApplied(b?.mutationCount ?? 0);
    expect(leader.overlaySize).toBe(0);
  });

  it('reset frees slots that held only uncommitted state, and snapshots never show them', () => {
    const replica = new ShardReplica();
    const leader = new ShardLeader(replica, CONFIG);
    leader.check(req('a'), T0);
    commit(leader, [replica]);
    leader.check(req('a'), T0);
    leader.check(req('b'), T0);
    expect(replica.store.size).toBe(2);
    expect([...replica.store.entries()].map((e) => e.key)).toEqual(['a']);
    leader.reset();
    expect(replica.store.size).toBe(1);
    expect(leader.overlaySize).toBe(0);
    // 'a' counts only its committed unit again: one more fits, then the limit of 2 holds.
    expect(leader.check(req('a'), T0).result.allowed).toBe(true);
    expect(leader.check(req('a'), T0).result.allowed).toBe(false);
  });
});

describe('shard leader applying its own batches', () => {
  it('applies a batch it sealed by slot, and decodes it instead once a reset voided its records', () => {
    const replica = new ShardReplica();
    const leader = new ShardLeader(replica, CONFIG);
    leader.check(req('a'), T0);
    const first = leader.seal();
    leader.check(req('b'), T0);
    const second = leader.seal();
    if (first === null || second === null) throw new Error('expected two batches');
    expect(leader.applyOwn(1, first.data)).toBe(1);
    expect(leader.applyOwn(1, first.data)).toBe(-1); // applied once only
    leader.reset(); // leadership lost: 'b' is uncommitted, its slot freed
    expect(leader.applyOwn(2, second.data)).toBe(-1);
    replica.apply(2, second.data); // the entry committed anyway, under the next leader
    expect([...replica.store.entries()].map((e) => [e.key, e.state])).toEqual([
      ['a', { tatMs: T0 + 500, tatFrac: 0 }],
      ['b', { tatMs: T0 + 500, tatFrac: 0 }],
    ]);
  });
});

describe('shard codec', () => {
  it('round-trips a batch of every algorithm, with idempotency records and non-ASCII keys', () => {
    const batch = {
      nowMs: T0,
      mutations: [
        { key: 'k', resource: 'r', shape: 'gcra', algorithm: 'gcra' as const, state: { tatMs: T0 + 5, tatFrac: 1 }, expiresAtMs: T0 + 6 },
        { key: 'ключ:ü', resource: 'r', shape: 'fixed_window:1000', algorithm: 'fixed_window' as const, state: { windowStartMs: T0, count: 3 }, expiresAtMs: T0 + 1000 },
        { key: 'k', resource: 's', shape: 'sliding_window:60000', algorithm: 'sliding_window' as const, state: { windowStartMs: T0, count: 3, prevCount: 9 }, expiresAtMs: T0 + 120_000 },
        {
          key: 'x'.repeat(256),
          resource: 'jobs',
          shape: 'concurrency',
          algorithm: 'concurrency' as const,
          state: { nextSeq: 3, leases: [{ id: `${T0}.1`, expiresAtMs: T0 + 30_000, units: 2 }] },
          expiresAtMs: T0 + 30_000,
        },
      ],
      dedup: [
        { id: 'c1:1', expiresAtMs: T0 + 60_000, allowed: true, limit: 5, remaining: 4, resetMs: 200, retryAfterMs: 0, rule: 'defaults', leaseId: null },
        { id: 'c1:2', expiresAtMs: T0 + 60_000, allowed: false, limit: -1, remaining: 0, resetMs: 0, retryAfterMs: -1, rule: 'resources.jobs', leaseId: `${T0}.1` },
      ],
    };
    expect(decodeBatch(encodeBatch(batch))).toEqual(batch);
    // Format 1 (msgpack), written before format 2, still reads the same.
    expect(decodeBatch(encodeLegacyBatch(batch))).toEqual(batch);
  });

  it('rejects a truncated or padded format-2 batch, naming where', () => {
    const batch = { nowMs: T0, mutations: [{ key: 'k', resource: 'r', shape: 'gcra', algorithm: 'gcra' as const, state: { tatMs: 1, tatFrac: 0 }, expiresAtMs: 2 }], dedup: [] };
    const bytes = encodeBatch(batch);
    expect(() => decodeBatch(bytes.subarray(0, 20))).toThrow(/runs past the end|string table offset/);
    const broken = bytes.slice();
    broken[22] = 0xff; // the shape's string-table index: now outside the table
    expect(() => decodeBatch(broken)).toThrow(/batch.mutations\[0\]/);
  });

  it('rejects an unknown format version and malformed fields by name', () => {
    const packr = new Packr({ useRecords: false });
    expect(() => decodeBatch(packr.pack([99, T0, [], []]))).toThrow(/format version 99 is not supported/);
    expect(() => decodeBatch(packr.pack([1, 'x', [], []]))).toThrow(/batch.nowMs must be a safe integer/);
    expect(() => decodeBatch(packr.pack([1, T0, [['k', 'r', 'gcra', 7, 0, []]], []]))).toThrow(/algorithm is not a known algorithm/);
    expect(() => decodeBatch(new Uint8Array([0xc1]))).toThrow(CodecError);
  });
});
