// Proves group commit across groups: what all groups stage in one event-loop turn goes to
// LevelDB as one batch with one fsync, promises resolve only after their batch is written,
// the fsync modes do what they say, and a failed or overloaded committer refuses loudly.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toGroupId, LevelNodeStorage, StorageUnavailableError } from '../../storage/index.js';
import type { FsyncMode, GroupStorage, StorageOptions } from '../../storage/index.js';
import { GroupCommitter, UNSYNCED_BYTES_FLUSH, type BatchOp, type BatchTarget } from '../../storage/group-committer.js';
import { ent, ents, hs, rd } from './fixtures.js';
import { makeTempDir, removeDir } from './temp-dir.js';

interface Recorded {
  readonly ops: number;
  readonly sync: boolean;
  readonly bytes: number;
}

/** Wraps the database's batch: records each call and can hold batches until released. */
class Recorder {
  readonly batches: Recorded[] = [];
  held = false;
  fail = false;
  private waiting: (() => void)[] = [];

  target(inner: BatchTarget): BatchTarget {
    return {
      batch: async (ops: BatchOp[], options) => {
        let bytes = 0;
        for (const op of ops) bytes += op.key.length + (op.type === 'put' ? op.value.length : 0);
        this.batches.push({ ops: ops.length, sync: options.sync, bytes });
        if (this.held) await new Promise<void>((resolve) => this.waiting.push(resolve));
        if (this.fail) throw new Error('disk on fire');
        await inner.batch(ops, options);
      },
    };
  }

  release(): void {
    this.held = false;
    for (const w of this.waiting.splice(0)) w();
  }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

let dir = '';
let rec: Recorder;
beforeEach(async () => {
  dir = await makeTempDir('commit');
  rec = new Recorder();
});
afterEach(async () => {
  await removeDir(dir);
});

async function openWith(fsync: FsyncMode, extra: StorageOptions = {}): Promise<LevelNodeStorage> {
  return LevelNodeStorage.open({ location: join(dir, 'db'), fsync, ...extra }, { wrapTarget: (db) => rec.target(db) });
}

async function groups(node: LevelNodeStorage, n: number): Promise<GroupStorage[]> {
  return Promise.all(Array.from({ length: n }, (_, k) => node.createGroup(toGroupId(k + 1), { bootstrap: null })));
}

describe('group commit', () => {
  it('64 groups persisting in one turn share one batch and one fsync', async () => {
    const node = await openWith('batch');
    const gs = await groups(node, 64);
    rec.batches.length = 0;
    const before = node.stats();
    await Promise.all(gs.map((g) => g.persist(rd({ entries: [ent(1, 1, 4096)], hardState: hs(1, 0) }))));
    expect(rec.batches).toHaveLength(1);
    expect(rec.batches[0]).toMatchObject({ sync: true, ops: 64 * 2 });
    const after = node.stats();
    expect([after.batches - before.batches, after.syncedBatches - before.syncedBatches, after.writes - before.writes]).toEqual([1, 1, 64]);
    await node.close();
  });

  it('a write resolves only after its batch is written, while the view shows it at once', async () => {
    const node = await openWith('batch');
    const [g] = (await groups(node, 1)) as [GroupStorage];
    rec.held = true;
    let done = false;
    const p = g.persist(rd({ entries: ents(1, 3, 1), hardState: hs(1, 2) })).then(() => (done = true));
    expect(g.lastIndex()).toBe(3);
    for (let k = 0; k < 5; k++) await turn();
    expect(done).toBe(false);
    rec.release();
    await p;
    expect(done).toBe(true);
    await node.close();
  });

  it('writes staged while a batch is on disk go out together in the next batch', async () => {
    const node = await openWith('batch');
    const gs = await groups(node, 8);
    rec.batches.length = 0;
    rec.held = true;
    const first = (gs[0] as GroupStorage).persist(rd({ entries: [ent(1, 1)], hardState: hs(1, 0) }));
    await turn();
    const rest: Promise<void>[] = [];
    for (const g of gs.slice(1)) {
      rest.push(g.persist(rd({ entries: [ent(1, 1)], hardState: hs(1, 0) })));
      await turn();
    }
    expect(rec.batches).toHaveLength(1);
    rec.release();
    await Promise.all([first, ...rest]);
    expect(rec.batches.map((b) => b.ops)).toEqual([2, 14]);
    await node.close();
  });

  it('fsync off never syncs; always syncs each write alone; batch skips the fsync when no write needs it', async () => {
    const off = await openWith('off');
    const gOff = await groups(off, 4);
    await Promise.all(gOff.map((g) => g.persist(rd({ entries: [ent(1, 1)], hardState: hs(1, 0) }))));
    expect(rec.batches.every((b) => !b.sync)).toBe(true);
    await off.close();

    rec.batches.length = 0;
    const always = await openWith('always');
    const gAlways = await Promise.all(Array.from({ length: 4 }, (_, k) => always.openGroup(toGroupId(k + 1))));
    await Promise.all(gAlways.map((g) => g.persist(rd({ entries: [ent(2, 1)], hardState: hs(1, 0) }))));
    expect(rec.batches).toEqual(Array.from({ length: 4 }, () => expect.objectContaining({ sync: true, ops: 2 })));
    await always.close();

    rec.batches.length = 0;
    const batch = await openWith('batch');
    const gBatch = await Promise.all(Array.from({ length: 4 }, (_, k) => batch.openGroup(toGroupId(k + 1))));
    await Promise.all(gBatch.map((g) => g.persist(rd({ hardState: hs(1, 2), mustSync: false }))));
    expect(rec.batches).toEqual([expect.objectContaining({ sync: false, ops: 4 })]);
    await Promise.all(gBatch.map((g, k) => g.persist(rd({ hardState: hs(2, 2), mustSync: k === 0 }))));
    expect(rec.batches[1]).toMatchObject({ sync: true, ops: 4 });
    await batch.close();
  });

  it('a flush larger than batchBytesMax is split into batches, never inside one write', async () => {
    const node = await openWith('batch', { entryBytesMax: 256 * 1024, batchBytesMax: 2 * 1024 * 1024, pendingBytesMax: 64 * 1024 * 1024 });
    const gs = await groups(node, 20);
    rec.batches.length = 0;
    await Promise.all(gs.map((g) => g.persist(rd({ entries: ents(1, 2, 1, 200 * 1024), hardState: hs(1, 0) }))));
    expect(rec.batches.length).toBeGreaterThan(1);
    expect(rec.batches.reduce((n, b) => n + b.ops, 0)).toBe(20 * 3);
    for (const b of rec.batches) {
      expect(b.ops % 3).toBe(0);
      expect(b.bytes).toBeLessThanOrEqual(2 * 1024 * 1024);
    }
    await node.close();
  });

  it('a failed batch fails its writes and stops the node storage', async () => {
    const node = await openWith('batch');
    const [g] = (await groups(node, 1)) as [GroupStorage];
    rec.fail = true;
    await expect(g.persist(rd({ entries: [ent(1, 1)], hardState: hs(1, 0) }))).rejects.toMatchObject({ code: 'RL_ERR_UNAVAILABLE', reason: 'writeFailed' });
    expect(() => g.persist(rd({ entries: [ent(2, 1)], hardState: hs(1, 0) }))).toThrow(StorageUnavailableError);
    await expect(node.close()).rejects.toMatchObject({ reason: 'writeFailed' });
  });

  it('refuses writes past pendingBytesMax without changing the view', async () => {
    const node = await openWith('batch', { entryBytesMax: 64 * 1024, batchBytesMax: 2 * 1024 * 1024, pendingBytesMax: 2 * 1024 * 1024 });
    const [g] = (await groups(node, 1)) as [GroupStorage];
    rec.held = true;
    let i = 1;
    const accepted: Promise<void>[] = [];
    let refused: unknown = null;
    // Bounded: 2 MiB of 60 KiB entries is refused by the 35th.
    for (; i < 100 && refused === null; i++) {
      try {
        accepted.push(g.persist(rd({ entries: [ent(i, 1, 60 * 1024)], hardState: hs(1, 0) })));
      } catch (e) {
        refused = e;
      }
    }
    expect(refused).toMatchObject({ code: 'RL_ERR_UNAVAILABLE', reason: 'overloaded' });
    expect(g.lastIndex()).toBe(i - 2);
    rec.release();
    await Promise.all(accepted);
    await g.persist(rd({ entries: [ent(i - 1, 1)], hardState: hs(1, 0) }));
    await node.close();
  });
});

describe('writes without fsync wait for company (unsyncedDelayMs)', () => {
  /** A committer over a recording target, with turns and timers run by hand. */
  function harness(fsync: FsyncMode, unsyncedDelayMs: number) {
    const written: { ops: number; sync: boolean }[] = [];
    const deferred: (() => void)[] = [];
    const timers: { fn: () => void; ms: number; live: boolean }[] = [];
    const committer = new GroupCommitter(
      { fsync, batchBytesMax: 32 * 1024 * 1024, pendingBytesMax: 64 * 1024 * 1024, unsyncedDelayMs },
      {
        target: {
          batch: async (ops, options) => {
            written.push({ ops: ops.length, sync: options.sync });
          },
        },
        defer: (fn) => deferred.push(fn),
        delay: (fn, ms) => {
          const t = { fn, ms, live: true };
          timers.push(t);
          return () => (t.live = false);
        },
      },
    );
    const put = (bytes = 10): BatchOp => ({ type: 'put', key: new Uint8Array(4), value: new Uint8Array(bytes) });
    const stage = (sync: boolean, bytes = 10): Promise<void> => committer.stage([{ ops: [put(bytes)], bytes: bytes + 20, sync }]);
    const runTurn = async (): Promise<void> => {
      for (const fn of deferred.splice(0)) fn();
      await turn();
    };
    const fireTimers = async (): Promise<void> => {
      for (const t of timers.splice(0)) if (t.live) t.fn();
      await turn();
    };
    const liveTimers = (): number[] => timers.filter((t) => t.live).map((t) => t.ms);
    return { committer, written, stage, runTurn, fireTimers, liveTimers };
  }

  it('an unsynced write waits for the delay, not for the next turn', async () => {
    const h = harness('batch', 10);
    let done = false;
    void h.stage(false).then(() => (done = true));
    await h.runTurn();
    expect(h.written).toEqual([]);
    expect(h.liveTimers()).toEqual([10]);
    await h.fireTimers();
    expect(h.written).toEqual([{ ops: 1, sync: false }]);
    expect(done).toBe(true);
  });

  it('a synced write takes the waiting ones along, in order, and the wait is cancelled', async () => {
    const h = harness('batch', 10);
    const order: string[] = [];
    void h.stage(false).then(() => order.push('unsynced'));
    await h.runTurn();
    void h.stage(true).then(() => order.push('synced'));
    await h.runTurn();
    expect(h.written).toEqual([{ ops: 2, sync: true }]);
    expect(order).toEqual(['unsynced', 'synced']);
    expect(h.liveTimers()).toEqual([]);
  });

  it('writes staged behind an in-flight batch wait only when none needs an fsync', async () => {
    const h = harness('batch', 10);
    void h.stage(true);
    await h.runTurn(); // in flight and done: the target resolves at once
    void h.stage(false);
    await h.runTurn();
    expect(h.written).toEqual([{ ops: 1, sync: true }]);
    expect(h.liveTimers()).toEqual([10]);
  });

  it('goes at once past UNSYNCED_BYTES_FLUSH, in mode off, with the delay 0, and on drain', async () => {
    const big = harness('batch', 10);
    void big.stage(false, UNSYNCED_BYTES_FLUSH);
    await big.runTurn();
    expect(big.written).toEqual([{ ops: 1, sync: false }]);
    for (const [mode, delay] of [['off', 10], ['batch', 0]] as const) {
      const h = harness(mode, delay);
      void h.stage(false);
      await h.runTurn();
      expect(h.written).toEqual([{ ops: 1, sync: false }]);
      expect(h.liveTimers()).toEqual([]);
    }
    const d = harness('batch', 10);
    void d.stage(false);
    await d.runTurn();
    await d.committer.drain();
    expect(d.written).toEqual([{ ops: 1, sync: false }]);
    expect(d.liveTimers()).toEqual([]);
  });
});
