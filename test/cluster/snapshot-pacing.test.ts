// Proves the snapshot byte-rate cap: the pacer spaces chunks so N bytes take at least
// N / rate on a fake clock (a resent chunk keeps its turn and costs nothing more), and a
// real host streaming a snapshot of N bytes to a new learner at cap C takes at least N / C.
import { afterEach, describe, expect, it } from 'vitest';
import { MultiRaftHost } from '../../cluster/host/multi-raft-host.js';
import { SnapshotPacer } from '../../cluster/host/snapshot-pacer.js';
import type { HostTransport } from '../../cluster/host/types.js';
import { createSeededPrng, toNodeId } from '../../raft/index.js';
import { MemoryNodeStorage, toGroupId } from '../../storage/index.js';
import { ListMachine } from '../support/list-machine.js';
import { waitFor } from '../support/wait-for.js';

/** Timers on a virtual clock: `advance` runs what falls due, in order. */
class FakeTimers {
  nowMs = 0;
  private timers: { atMs: number; fn: () => void; id: number }[] = [];
  private nextId = 1;
  set(fn: () => void, delayMs: number): number {
    const id = this.nextId++;
    this.timers.push({ atMs: this.nowMs + Math.max(0, delayMs), fn, id });
    return id;
  }
  clear(id: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== id);
  }
  advance(ms: number): void {
    const until = this.nowMs + ms;
    for (let i = 0; i < 10_000; i++) {
      this.timers.sort((a, b) => a.atMs - b.atMs);
      const t = this.timers[0];
      if (t === undefined || t.atMs > until) break;
      this.timers.shift();
      this.nowMs = t.atMs;
      t.fn();
    }
    this.nowMs = until;
  }
}

describe('SnapshotPacer', () => {
  it('sends N bytes no sooner than N / rate, across streams, and a resend keeps its turn', () => {
    const t = new FakeTimers();
    const pacer = new SnapshotPacer(1000, { nowMs: () => t.nowMs, setTimer: (fn, ms) => t.set(fn, ms), clearTimer: (h) => t.clear(h) });
    const sent: { what: string; atMs: number }[] = [];
    pacer.submit('1:n2', 500, () => sent.push({ what: 'a', atMs: t.nowMs }));
    pacer.submit('2:n3', 500, () => sent.push({ what: 'b', atMs: t.nowMs }));
    pacer.submit('1:n2', 500, () => sent.push({ what: 'a-resent', atMs: t.nowMs })); // replaces 'a', no new reservation
    expect(pacer.waitingCount).toBe(2);
    t.advance(499);
    expect(sent).toEqual([]);
    t.advance(1);
    expect(sent).toEqual([{ what: 'a-resent', atMs: 500 }]);
    t.advance(500);
    expect(sent).toEqual([
      { what: 'a-resent', atMs: 500 },
      { what: 'b', atMs: 1000 },
    ]);
    // Idle time is not banked: a chunk after a pause still waits its own bytes / rate.
    t.advance(5000);
    pacer.submit('1:n2', 250, () => sent.push({ what: 'c', atMs: t.nowMs }));
    t.advance(249);
    expect(sent).toHaveLength(2);
    t.advance(1);
    expect(sent[2]).toEqual({ what: 'c', atMs: 6250 });
  });

  it('drops what waits when closed, and rejects a nonsense rate', () => {
    const t = new FakeTimers();
    const pacer = new SnapshotPacer(1000, { nowMs: () => t.nowMs, setTimer: (fn, ms) => t.set(fn, ms), clearTimer: (h) => t.clear(h) });
    let sent = 0;
    pacer.submit('1:n2', 10, () => sent++);
    pacer.close();
    t.advance(1000);
    expect(sent).toBe(0);
    expect(() => new SnapshotPacer(0, { nowMs: () => 0, setTimer: () => 0, clearTimer: () => undefined })).toThrow(RangeError);
  });
});

const hosts: MultiRaftHost[] = [];
afterEach(() => {
  for (const h of hosts.splice(0)) h.stop();
});

describe('MultiRaftHost snapshot cap', () => {
  it('streams a snapshot of N bytes to a new learner in no less than N / cap', async () => {
    const handlers = new Map<string, (from: string, groupId: number, message: unknown) => void>();
    const transport = (id: string): HostTransport => ({
      send: (to, groupId, message) => setImmediate(() => handlers.get(to)?.(id, groupId, structuredClone(message))),
      onMessage: (h) => void handlers.set(id, h),
    });
    const capBytesPerSecond = 1024 * 1024;
    const make = async (id: string, sm: ListMachine, bootstrap: boolean): Promise<{ host: MultiRaftHost; storage: MemoryNodeStorage }> => {
      const storage = await MemoryNodeStorage.open();
      const host = new MultiRaftHost(
        {
          nodeId: toNodeId(id),
          tickIntervalMs: 5,
          raft: { electionTimeoutTicks: 10, clockDriftMsMax: 10, snapshotChunkBytes: 64 * 1024 },
          snapshotEntriesInterval: 20,
          snapshotTrailingEntries: 2,
          snapshotSendBytesPerSecondMax: capBytesPerSecond,
        },
        { storage, transport: transport(id), clock: { nowMs: () => performance.now() }, prng: createSeededPrng(id.length + 7), logger: null },
      );
      await host.addGroup(1, { bootstrap: bootstrap ? { voters: [toNodeId('n1')], learners: [] } : null, stateMachine: sm });
      host.start();
      hosts.push(host);
      return { host, storage };
    };
    const leaderSm = new ListMachine();
    const { host: leader, storage } = await make('n1', leaderSm, true);
    leader.campaign(1);
    await waitFor(() => leader.leaderReady(1), 5_000, 'n1 leads');
    // ~40 entries of 16 KiB: a snapshot of ~640 KiB once the log is compacted behind it.
    const payload = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 42; i++) {
      const r = leader.propose(1, new TextEncoder().encode(`${i}:${payload}`));
      if (r.type !== 'accepted') throw new Error(`proposal ${i} not accepted: ${r.type}`);
      await leader.waitApplied(1, r);
    }
    const group = await storage.openGroup(toGroupId(1));
    await waitFor(() => group.snapshot().index >= 40 && group.firstIndex() > 3, 5_000, 'a snapshot and compaction on n1');
    const snapshotBytes = (await group.snapshotData()).data.byteLength;
    expect(snapshotBytes).toBeGreaterThan(600 * 1024);

    const learnerSm = new ListMachine();
    await make('n2', learnerSm, false);
    const startMs = performance.now();
    expect(leader.proposeConfChange(1, { type: 'addLearner', nodeId: toNodeId('n2') }).type).toBe('accepted');
    await waitFor(() => learnerSm.values.length >= 40, 20_000, 'n2 restored the snapshot');
    const tookMs = performance.now() - startMs;
    // At least N / C (the pacer sends each chunk at the end of its reservation); far below 20 s.
    expect(tookMs).toBeGreaterThanOrEqual((snapshotBytes / capBytesPerSecond) * 1000 - 1);
    expect(leader.groupStats(1)?.snapshotsSent).toBeGreaterThanOrEqual(1);
  });
});
