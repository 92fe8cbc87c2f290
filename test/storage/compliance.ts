/**
 * The storage compliance suite (the abstract-level habit): one set of cases, run by
 * compliance.test.ts against every `NodeStorage` implementation. A case sees only the
 * `NodeStorage`/`GroupStorage` interfaces and a harness that opens (and re-opens, to
 * simulate a restart) the same backing store.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStorage, decodeConfChangeEntry, toLogIndex, toNodeId, toTerm } from '../../raft/index.js';
import type { Entry } from '../../raft/index.js';
import { StorageCorruptionError, toGroupId } from '../../storage/index.js';
import type { GroupStorage, NodeStorage, PersistInput, StorageOptions } from '../../storage/index.js';
import { fcParams } from '../support/fc-params.js';
import { CONF, ent, ents, G1, G2, hs, observe, rd } from './fixtures.js';
import { runRaftScenario } from './raft-cluster.js';

export interface Harness {
  /** Opens the backing store (again after `close`, as a restart). */
  open(options?: StorageOptions): Promise<NodeStorage>;
  /** Removes the backing store (temp dirs). */
  dispose(): Promise<void>;
}

export type HarnessFactory = () => Promise<Harness>;

async function withNode<T>(h: Harness, fn: (node: NodeStorage) => Promise<T>, options?: StorageOptions): Promise<T> {
  const node = await h.open(options);
  try {
    return await fn(node);
  } finally {
    await node.close();
  }
}

export function complianceSuite(name: string, factory: HarnessFactory): void {
  const withHarness = async (fn: (h: Harness) => Promise<void>): Promise<void> => {
    const h = await factory();
    try {
      await fn(h);
    } finally {
      await h.dispose();
    }
  };

  describe(`storage compliance: ${name}`, () => {
    it('a new group is empty and listed', () =>
      withHarness(async (h) => {
        await withNode(h, async (node) => {
          const g = await node.createGroup(G1, { bootstrap: null });
          expect(g.firstIndex()).toBe(1);
          expect(g.lastIndex()).toBe(0);
          expect(g.term(toLogIndex(0))).toBe(0);
          expect(g.snapshot()).toEqual({ index: 0, term: 0, confState: { voters: [], learners: [] } });
          expect(g.initialState().hardState).toEqual(hs(0, 0));
          expect(g.appliedIndex()).toBe(0);
          expect(node.groupIds()).toEqual([G1]);
          expect(node.corruptGroups()).toEqual([]);
        });
      }));

    it('a bootstrapped group holds the bootstrap entry and hard state, as MemoryStorage.bootstrap', () =>
      withHarness(async (h) => {
        await withNode(h, async (node) => {
          const g = await node.createGroup(G1, { bootstrap: CONF });
          expect(observe(g)).toEqual(observe(MemoryStorage.bootstrap(CONF)));
          const [e] = g.entries(toLogIndex(1), toLogIndex(2), 1024);
          expect(e?.type).toBe('confChange');
          expect(decodeConfChangeEntry((e as Entry).data).confState).toEqual(CONF);
        });
      }));

    it('persist appends entries and hard state; entries() stops at bytesMax but returns at least one', () =>
      withHarness(async (h) => {
        await withNode(h, async (node) => {
          const g = await node.createGroup(G1, { bootstrap: null });
          await g.persist(rd({ entries: ents(1, 10, 1, 100), hardState: hs(1, 4, 'a') }));
          expect(g.lastIndex()).toBe(10);
          expect(g.initialState().hardState).toEqual(hs(1, 4, 'a'));
          // Each entry costs 100 + 24 bytes: a budget of 300 holds two.
          expect(g.entries(toLogIndex(3), toLogIndex(11), 300).map((e) => e.index)).toEqual([3, 4]);
          expect(g.entries(toLogIndex(3), toLogIndex(11), 1).map((e) => e.index)).toEqual([3]);
          expect(g.entries(toLogIndex(1), toLogIndex(11), 1 << 20)).toHaveLength(10);
          expect(g.entries(toLogIndex(7), toLogIndex(8), 1 << 20)[0]).toEqual(ent(7, 1, 100));
          expect(() => g.entries(toLogIndex(0), toLogIndex(2), 100)).toThrow();
          expect(() => g.entries(toLogIndex(5), toLogIndex(12), 100)).toThrow();
          expect(() => g.term(toLogIndex(11))).toThrow();
          expect(await g.readEntries(toLogIndex(2), toLogIndex(6), 1 << 20)).toEqual(ents(2, 5, 1, 100));
          expect((await g.readEntries(toLogIndex(2), toLogIndex(11), 300)).map((e) => e.index)).toEqual([2, 3]);
          await expect(g.readEntries(toLogIndex(5), toLogIndex(12), 100)).rejects.toThrow(RangeError);
        });
      }));

    it('appending at an earlier index discards the conflicting suffix', () =>
      withHarness(async (h) => {
        await withNode(h, async (node) => {
          const g = await node.createGroup(G1, { bootstrap: null });
          await g.persist(rd({ entries: ents(1, 10, 1), hardState: hs(1, 3) }));
          await g.persist(rd({ entries: ents(6, 7, 2), hardState: hs(2, 3) }));
          expect(g.lastIndex()).toBe(7);
          expect([5, 6, 7].map((i) => g.term(toLogIndex(i)))).toEqual([1, 2, 2]);
          expect(g.entries(toLogIndex(1), toLogIndex(8), 1 << 20)).toEqual([...ents(1, 5, 1), ...ents(6, 7, 2)]);
          // Replace again, from before the last replacement, with a longer suffix.
          await g.persist(rd({ entries: ents(4, 12, 3), hardState: hs(3, 3) }));
          expect(g.entries(toLogIndex(1), toLogIndex(13), 1 << 20)).toEqual([...ents(1, 3, 1), ...ents(4, 12, 3)]);
        });
        await withNode(h, async (node) => {
          const g = await node.openGroup(G1);
          expect(g.lastIndex()).toBe(12);
          expect(g.entries(toLogIndex(1), toLogIndex(13), 1 << 20)).toEqual([...ents(1, 3, 1), ...ents(4, 12, 3)]);
        });
      }));

    it('everything written survives a restart', () =>
      withHarness(async (h) => {
        let before: unknown;
        await withNode(h, async (node) => {
          const g = await node.createGroup(G1, { bootstrap: CONF });
          await g.persist(rd({ entries: ents(2, 40, 2, 300), hardState: hs(2, 30, 'b') }));
          await g.createSnapshot(toLogIndex(20), CONF, new Uint8Array(5000).fill(9));
          await g.compact(toLogIndex(15));
          await g.setAppliedIndex(toLogIndex(25));
          before = observe(g);
        });
        await withNode(h, async (node) => {
          expect(node.groupIds()).toEqual([G1]);
          const g = await node.openGroup(G1);
          expect(observe(g)).toEqual(before);
          expect(g.appliedIndex()).toBe(25);
          expect(await node.openGroup(G1)).toBe(g);
        });
      }));

    it('createSnapshot and compact keep the compaction point term; snapshot chunks read back', () =>
      withHarness(async (h) => {
        await withNode(h, async (node) => {
          const g = await node.createGroup(G1, { bootstrap: null });
          await g.persist(rd({ entries: [...ents(1, 5, 1), ...ents(6, 10, 2)], hardState: hs(2, 8) }));
          const data = Uint8Array.from({ length: 3000 }, (_, k) => k % 251);
          const meta = await g.createSnapshot(toLogIndex(7), CONF, data);
          expect(meta).toEqual({ index: 7, term: 2, confState: CONF });
          expect(g.snapshot()).toEqual(meta);
          expect(g.firstIndex()).toBe(1);
          await g.compact(toLogIndex(6));
          expect(g.firstIndex()).toBe(7);
          expect(g.term(toLogIndex(6))).toBe(2);
          expect(() => g.entries(toLogIndex(6), toLogIndex(8), 1000)).toThrow();
          expect(g.entries(toLogIndex(7), toLogIndex(11), 1 << 20)).toEqual(ents(7, 10, 2));
          const c1 = g.snapshotChunk(toLogIndex(7), 0, 1000);
          const c2 = g.snapshotChunk(toLogIndex(7), 1000, 5000);
          expect(c1).toEqual({ type: 'chunk', data: data.subarray(0, 1000), last: false });
          expect(c2).toEqual({ type: 'chunk', data: data.subarray(1000), last: true });
          expect(g.snapshotChunk(toLogIndex(5), 0, 10)).toEqual({ type: 'unavailable' });
          expect((await g.snapshotData()).data).toEqual(data);
          await g.compact(toLogIndex(3)); // at or below the compaction point: nothing to do
          expect(g.firstIndex()).toBe(7);
          expect(() => g.compact(toLogIndex(8))).toThrow(RangeError);
          await g.compact(toLogIndex(7));
          expect(g.firstIndex()).toBe(8);
          await expect(g.createSnapshot(toLogIndex(7), CONF, data)).rejects.toThrow(RangeError); // not newer
          await expect(g.createSnapshot(toLogIndex(9), CONF, data)).rejects.toThrow(RangeError); // beyond commit
        });
      }));

    it('a snapshot written piece by piece is the concatenation of its pieces; a newer install supersedes it', () =>
      withHarness(async (h) => {
        await withNode(h, async (node) => {
          const g = await node.createGroup(G1, { bootstrap: null });
          await g.persist(rd({ entries: ents(1, 20, 1), hardState: hs(1, 20) }));
          const pieces = [3, 70_000, 1, 200_000, 0, 12_345].map((n, k) => new Uint8Array(n).fill(k + 1));
          const w = g.beginSnapshot(toLogIndex(10), CONF);
          for (const p of pieces) await w.write(p);
          expect(g.snapshot().index).toBe(0); // nothing visible before commit
          expect(await w.commit()).toEqual({ type: 'committed', meta: { index: 10, term: 1, confState: CONF } });
          const all = Buffer.concat(pieces);
          expect(Buffer.from((await g.snapshotData()).data).equals(all)).toBe(true);
          const read: Uint8Array[] = [];
          for await (const piece of g.readSnapshot()) read.push(piece);
          expect(Buffer.concat(read).equals(all)).toBe(true);
          const big = g.snapshotChunk(toLogIndex(10), 69_999, 1 << 20);
          expect(big.type === 'chunk' && Buffer.from(big.data).equals(all.subarray(69_999))).toBe(true);

          // An aborted writer leaves nothing behind.
          const aborted = g.beginSnapshot(toLogIndex(12), CONF);
          await aborted.write(new Uint8Array(100_000).fill(9));
          await aborted.abort();
          expect(g.snapshot().index).toBe(10);
          expect(Buffer.from((await g.snapshotData()).data).equals(all)).toBe(true);

          // A writer overtaken by a snapshot installed from the leader is superseded.
          const late = g.beginSnapshot(toLogIndex(15), CONF);
          await late.write(new Uint8Array(1000));
          const installed = { meta: { index: toLogIndex(30), term: toTerm(3), confState: CONF }, data: new Uint8Array(10).fill(7) };
          await g.persist(rd({ snapshot: installed, hardState: hs(3, 30) }));
          const result = await late.commit();
          expect(result).toEqual({ type: 'superseded', current: installed.meta });
          expect((await g.snapshotData()).data).toEqual(installed.data);
        });
      }));

    it('installing a snapshot from the leader replaces the log; an older one is refused', () =>
      withHarness(async (h) => {
        await withNode(h, async (node) => {
          const g = await node.createGroup(G1, { bootstrap: CONF });
          await g.persist(rd({ entries: ents(2, 10, 1), hardState: hs(1, 5) }));
          const snap = { meta: { index: toLogIndex(50), term: toTerm(4), confState: CONF }, data: new Uint8Array(600_000).fill(3) };
          await g.persist(rd({ snapshot: snap, entries: ents(51, 53, 4), hardState: hs(4, 50, 'a') }));
          expect(g.firstIndex()).toBe(51);
          expect(g.lastIndex()).toBe(53);
          expect(g.term(toLogIndex(50))).toBe(4);
          expect(g.snapshot()).toEqual(snap.meta);
          const c = g.snapshotChunk(toLogIndex(50), 599_990, 100);
          expect(c).toEqual({ type: 'chunk', data: snap.data.subarray(599_990), last: true });
          const older = { meta: { index: toLogIndex(40), term: toTerm(4), confState: CONF }, data: new Uint8Array(1) };
          expect(() => g.persist(rd({ snapshot: older }))).toThrow(RangeError);
        });
        await withNode(h, async (node) => {
          const g = await node.openGroup(G1);
          expect(g.firstIndex()).toBe(51);
          expect(g.entries(toLogIndex(51), toLogIndex(54), 1 << 20)).toEqual(ents(51, 53, 4));
          expect(Buffer.from((await g.snapshotData()).data).equals(Buffer.alloc(600_000, 3))).toBe(true);
        });
      }));

    it('the applied index round-trips and may not pass the commit index', () =>
      withHarness(async (h) => {
        await withNode(h, async (node) => {
          const g = await node.createGroup(G1, { bootstrap: null });
          await g.persist(rd({ entries: ents(1, 5, 1), hardState: hs(1, 4) }));
          await g.setAppliedIndex(toLogIndex(3));
          expect(g.appliedIndex()).toBe(3);
          expect(() => g.setAppliedIndex(toLogIndex(5))).toThrow(RangeError);
        });
        await withNode(h, async (node) => expect((await node.openGroup(G1)).appliedIndex()).toBe(3));
      }));

    it('groups are isolated from each other', () =>
      withHarness(async (h) => {
        await withNode(h, async (node) => {
          const g1 = await node.createGroup(G1, { bootstrap: null });
          const g2 = await node.createGroup(G2, { bootstrap: CONF });
          await Promise.all([g1.persist(rd({ entries: ents(1, 30, 5), hardState: hs(5, 30) })), g2.persist(rd({ entries: ents(2, 4, 2), hardState: hs(2, 1) }))]);
          await g1.compact(toLogIndex(0));
          expect(g2.lastIndex()).toBe(4);
          expect(g1.lastIndex()).toBe(30);
          await node.dropGroup(G1);
          expect(node.groupIds()).toEqual([G2]);
          expect(() => g1.lastIndex()).toThrow();
        });
        await withNode(h, async (node) => {
          expect(node.groupIds()).toEqual([G2]);
          await expect(node.openGroup(G1)).rejects.toThrow(RangeError);
          expect((await node.openGroup(G2)).entries(toLogIndex(2), toLogIndex(5), 1 << 20)).toEqual(ents(2, 4, 2));
        });
      }));

    it('writes of a group resolve in the order they were made', () =>
      withHarness(async (h) => {
        await withNode(h, async (node) => {
          const g = await node.createGroup(G1, { bootstrap: null });
          const order: number[] = [];
          const ps: Promise<void>[] = [];
          for (let i = 1; i <= 20; i++) ps.push(g.persist(rd({ entries: [ent(i, 1)], hardState: hs(1, i - 1) })).then(() => void order.push(i)));
          await Promise.all(ps);
          expect(order).toEqual(Array.from({ length: 20 }, (_, k) => k + 1));
          expect(g.lastIndex()).toBe(20);
        });
      }));

    it('caller mistakes throw RangeError or TypeError naming the value, and change nothing', () =>
      withHarness(async (h) => {
        await withNode(
          h,
          async (node) => {
            const g = await node.createGroup(G1, { bootstrap: null });
            await g.persist(rd({ entries: ents(1, 5, 2), hardState: hs(2, 2) }));
            const before = observe(g);
            expect(() => g.persist(rd({ entries: ents(7, 8, 2) }))).toThrow(/gap/);
            expect(() => g.persist(rd({ entries: [ent(6, 2), ent(8, 2)] }))).toThrow(/consecutive/);
            expect(() => g.persist(rd({ entries: [ent(6, 2, 5000)] }))).toThrow(/entryBytesMax/);
            expect(() => g.persist(rd({ entries: [ent(6, 1)] }))).toThrow(/term 1/);
            expect(() => g.persist(rd({ entries: [ent(6, 2)], hardState: hs(2, 9) }))).toThrow(/commit/);
            expect(() => g.persist(rd({ hardState: hs(1, 2) }))).toThrow(/term/);
            expect(() => g.persist({ entries: 'x' } as unknown as PersistInput)).toThrow(TypeError);
            expect(observe(g)).toEqual(before);
            await expect(node.createGroup(G1, { bootstrap: null })).rejects.toThrow(RangeError);
            await expect(node.openGroup(toGroupId(99))).rejects.toThrow(/does not exist/);
            for (const bad of [-1, 1.5, 2 ** 32, Number.NaN]) {
              await expect(node.openGroup(bad as ReturnType<typeof toGroupId>)).rejects.toThrow(RangeError);
            }
            expect(() => toGroupId(2 ** 32)).toThrow(/GroupId/);
          },
          { entryBytesMax: 4096 },
        );
        await expect(h.open({ entryBytesMax: 0 })).rejects.toThrow(/'entryBytesMax' must be an integer from 1/);
        await expect(h.open({ fsync: 'sometimes' as 'batch' })).rejects.toThrow(/'fsync' must be one of always, batch, off/);
        await expect(h.open({ entryBytesMx: 5 } as StorageOptions)).rejects.toThrow(/unknown option 'entryBytesMx' \(did you mean 'entryBytesMax'\?\)/);
      }));

    it('a group marked corrupt stops serving, stays marked across restarts, and a wipe re-creates it empty', () =>
      withHarness(async (h) => {
        await withNode(h, async (node) => {
          const g = await node.createGroup(G1, { bootstrap: CONF });
          await node.createGroup(G2, { bootstrap: CONF });
          await g.persist(rd({ entries: ents(2, 9, 5), hardState: hs(5, 4, 'a') }));
          await node.markCorrupt({ groupId: G1, index: 7, reason: 'checksum', message: 'test damage' });
          expect(node.corruptGroups()).toEqual([{ groupId: G1, index: 7, reason: 'checksum', message: 'test damage' }]);
          const err = (() => {
            try {
              g.term(toLogIndex(3));
            } catch (e) {
              return e;
            }
            return null;
          })();
          expect(err).toBeInstanceOf(StorageCorruptionError);
          expect(err).toMatchObject({ code: 'RL_ERR_STORAGE_CORRUPT', groupId: G1, index: 7 });
          await expect(node.openGroup(G1)).rejects.toMatchObject({ code: 'RL_ERR_STORAGE_CORRUPT', groupId: G1, reason: 'marked' });
        });
        await withNode(h, async (node) => {
          expect(node.corruptGroups().map((c) => c.groupId)).toEqual([G1]);
          await expect(node.openGroup(G1)).rejects.toBeInstanceOf(StorageCorruptionError);
          expect((await node.openGroup(G2)).lastIndex()).toBe(1);
          // The old hard state (term 5) is readable and newer than the leader's term given: it is kept.
          const w = await node.wipeGroup(G1, { term: toTerm(3), vote: toNodeId('b') });
          expect(observe(w)).toMatchObject({ first: 1, last: 0, hardState: hs(5, 0, 'a') });
          expect(node.corruptGroups()).toEqual([]);
          const w2 = await node.wipeGroup(G1, { term: toTerm(8), vote: toNodeId('b') });
          expect(w2.initialState().hardState).toEqual(hs(8, 0, 'b'));
          expect(() => w.lastIndex()).toThrow(/wiped/);
          // Re-seeded by a snapshot from the leader, as the runtime's rebuild does.
          const snap = { meta: { index: toLogIndex(40), term: toTerm(8), confState: CONF }, data: new Uint8Array(100).fill(1) };
          await w2.persist(rd({ snapshot: snap, entries: ents(41, 42, 8), hardState: hs(8, 42, 'b') }));
        });
        await withNode(h, async (node) => {
          expect(node.corruptGroups()).toEqual([]);
          const g = await node.openGroup(G1);
          expect(observe(g)).toMatchObject({ first: 41, last: 42, hardState: hs(8, 42, 'b') });
        });
      }));

    it('matches raft MemoryStorage under random operations, before and after a restart', async () => {
      type Op =
        | { kind: 'append'; back: number; count: number; bump: boolean; size: number; commitBack: number }
        | { kind: 'snapshot'; back: number; size: number }
        | { kind: 'compact'; back: number }
        | { kind: 'install'; ahead: number; size: number; count: number };
      const opArb: fc.Arbitrary<Op> = fc.oneof(
        { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), back: fc.nat(4), count: fc.integer({ min: 1, max: 6 }), bump: fc.boolean(), size: fc.nat(3000), commitBack: fc.nat(3) }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('snapshot' as const), back: fc.nat(5), size: fc.nat(20_000) }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('compact' as const), back: fc.nat(3) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('install' as const), ahead: fc.integer({ min: 1, max: 20 }), size: fc.nat(5000), count: fc.nat(3) }) },
      );
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
          const h = await factory();
          try {
            // A tiny entry cache and snapshot chunks make the implementation read from disk.
            const options: StorageOptions = { groupEntryCacheBytesMax: 4096, snapshotChunkBytes: 4096 };
            const ref = new MemoryStorage();
            const node = await h.open(options);
            const g = await node.createGroup(G1, { bootstrap: null });
            let term = 1;
            for (const op of ops) await applyOp(op, g, ref, () => term, (t) => (term = t));
            expect(observe(g)).toEqual(observe(ref));
            await node.close();
            const again = await h.open(options);
            expect(observe(await again.openGroup(G1))).toEqual(observe(ref));
            await again.close();
          } finally {
            await h.dispose();
          }
        }),
        fcParams(25),
      );

      async function applyOp(op: Op, g: GroupStorage, ref: MemoryStorage, getTerm: () => number, setTerm: (t: number) => void): Promise<void> {
        const first = ref.firstIndex();
        const last = ref.lastIndex();
        const commit = ref.initialState().hardState.commit;
        switch (op.kind) {
          case 'append': {
            // Never truncate at or below commit (Raft never does).
            const from = Math.max(commit + 1, last + 1 - op.back, first);
            const term = op.bump ? getTerm() + 1 : Math.max(getTerm(), from - 1 >= first - 1 ? ref.term(toLogIndex(from - 1)) : 0);
            setTerm(term);
            const es = ents(from, from + op.count - 1, term, op.size);
            const newLast = from + op.count - 1;
            const hard = hs(term, Math.max(commit, newLast - op.commitBack));
            const input = rd({ entries: es, hardState: hard });
            await g.persist(input);
            ref.persist({ ...input, softState: null, committedEntries: [], messages: [], messagesAfterPersist: [], readStates: [] });
            return;
          }
          case 'snapshot': {
            const at = commit - op.back;
            if (at <= ref.snapshot().index || at < first - 1 || at > last) return;
            const data = new Uint8Array(op.size).fill(at & 0xff);
            await g.createSnapshot(toLogIndex(at), CONF, data);
            ref.createSnapshot(toLogIndex(at), CONF, data);
            return;
          }
          case 'compact': {
            const at = ref.snapshot().index - op.back;
            if (at < 0) return;
            await g.compact(toLogIndex(at));
            ref.compact(toLogIndex(at));
            return;
          }
          case 'install': {
            const index = Math.max(last, commit) + op.ahead;
            const t = getTerm() + 1;
            setTerm(t);
            const snapshot = { meta: { index: toLogIndex(index), term: toTerm(t), confState: CONF }, data: new Uint8Array(op.size).fill(5) };
            const input = rd({ snapshot, entries: ents(index + 1, index + op.count, t), hardState: hs(t, index) });
            await g.persist(input);
            ref.persist({ ...input, softState: null, committedEntries: [], messages: [], messagesAfterPersist: [], readStates: [] });
            return;
          }
        }
      }
    });

    it('a three-node Raft group elects, replicates, compacts, restarts and catches up by snapshot on it', () =>
      runRaftScenario(factory));
  });
}

