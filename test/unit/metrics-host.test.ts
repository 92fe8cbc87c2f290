// Proves the multi-raft host's plain stats that the node's metrics read at scrape time:
// a leader reports each follower's replication lag (growing while one is cut off), and
// counts the snapshots it writes and sends (with their bytes) when a follower that fell
// behind the compacted log comes back (and that follower keeps serving the group);
// storage latency histograms count every batch.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MultiRaftHost } from '../../cluster/host/multi-raft-host.js';
import type { GroupStateMachine, HostTransport } from '../../cluster/host/types.js';
import { createSeededPrng, toNodeId, type Entry, type NodeId, type SnapshotMeta } from '../../raft/index.js';
import { LevelNodeStorage, MemoryNodeStorage, toGroupId } from '../../storage/index.js';
import { waitFor } from '../support/wait-for.js';

/** In-process delivery on a later turn; messages to or from a node in `down` are lost. */
class Bus {
  private readonly handlers = new Map<string, (from: string, groupId: number, message: unknown) => void>();
  readonly down = new Set<string>();
  endpoint(id: string): HostTransport {
    return {
      send: (to, groupId, message) => {
        if (this.down.has(id) || this.down.has(to)) return;
        setImmediate(() => {
          if (!this.down.has(to)) this.handlers.get(to)?.(id, groupId, structuredClone(message));
        });
      },
      onMessage: (handler) => {
        this.handlers.set(id, handler);
      },
    };
  }
}

/** Keeps a running count of applied entries; its snapshot is ~1 KB so sizes are visible. */
class CounterMachine implements GroupStateMachine {
  applied = 0;
  count = 0;
  appliedIndex(): number {
    return this.applied;
  }
  apply(entry: Entry): void {
    this.applied = entry.index;
    if (entry.type === 'normal' && entry.data.byteLength > 0) this.count++;
  }
  async restore(meta: SnapshotMeta, data: AsyncIterable<Uint8Array>): Promise<void> {
    let text = '';
    for await (const chunk of data) text += new TextDecoder().decode(chunk);
    this.count = (JSON.parse(text) as { count: number }).count;
    this.applied = meta.index;
  }
  *snapshotChunks(): Iterable<Uint8Array> {
    yield new TextEncoder().encode(JSON.stringify({ count: this.count, pad: 'x'.repeat(1000) }));
  }
  onRoleChange(): void {}
}

const hosts: MultiRaftHost[] = [];
afterEach(() => {
  for (const h of hosts.splice(0)) h.stop();
});

describe('multi-raft host stats', () => {
  it('reports follower lag while one is cut off, and counts the snapshot written and sent to catch it up', async () => {
    const bus = new Bus();
    const ids = ['n1', 'n2', 'n3'].map(toNodeId);
    const nodes: { id: NodeId; host: MultiRaftHost }[] = [];
    for (const [i, id] of ids.entries()) {
      const storage = await MemoryNodeStorage.open();
      const host = new MultiRaftHost(
        { nodeId: id, tickIntervalMs: 5, raft: { electionTimeoutTicks: 10, clockDriftMsMax: 10 }, snapshotEntriesInterval: 20, snapshotTrailingEntries: 5 },
        { storage, transport: bus.endpoint(id), clock: { nowMs: () => performance.now() }, prng: createSeededPrng(i + 1), logger: null },
      );
      await host.addGroup(1, { bootstrap: { voters: ids, learners: [] }, stateMachine: new CounterMachine() });
      host.start();
      hosts.push(host);
      nodes.push({ id, host });
    }
    const leader = nodes[0] as { id: NodeId; host: MultiRaftHost };
    leader.host.campaign(1);
    await waitFor(() => leader.host.leaderReady(1), 10_000, 'n1 leads');
    bus.down.add('n3');
    for (let i = 0; i < 60; i++) {
      const r = leader.host.propose(1, new TextEncoder().encode(`e${i}`));
      expect(r.type).toBe('accepted');
      if (r.type === 'accepted') await leader.host.waitApplied(1, r);
    }
    const cutOff = leader.host.groupStats(1);
    expect(cutOff?.role).toBe('leader');
    expect(cutOff?.replicationLagEntries.get(toNodeId('n3'))).toBeGreaterThanOrEqual(50);
    expect(cutOff?.replicationLagEntries.get(toNodeId('n2'))).toBeLessThanOrEqual(1);
    await waitFor(() => (leader.host.groupStats(1)?.snapshotsWritten ?? 0) >= 1, 10_000, 'a snapshot written');
    expect(leader.host.groupStats(1)?.snapshotWrittenBytes).toBeGreaterThan(1000);
    expect(leader.host.groupStats(1)?.snapshotsSent).toBe(0);
    bus.down.delete('n3');
    await waitFor(() => leader.host.groupStats(1)?.replicationLagEntries.get(toNodeId('n3')) === 0, 15_000, 'n3 caught up');
    const after = leader.host.groupStats(1);
    expect(after?.snapshotsSent).toBeGreaterThanOrEqual(1);
    expect(after?.snapshotSentBytes).toBeGreaterThan(1000);
    const follower = nodes[2]?.host.groupStats(1);
    // Regression: a follower that installed a snapshot used to try to write one at the same
    // index, which storage refuses, and stopped the group.
    expect(follower?.failed).toBe(false);
    expect(follower?.role).toBe('follower');
    expect(follower?.leader).toBe('n1');
    expect(follower?.replicationLagEntries.size).toBe(0); // only leaders report lag
    expect(follower?.applied).toBe(after?.applied);
    expect(after?.pendingEntries).toBe(0);
  }, 60_000);
});

describe('storage latency stats', () => {
  it('times every LevelDB batch, and synced batches separately', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rl-metrics-storage-'));
    const storage = await LevelNodeStorage.open({ location: join(dir, 'db'), fsync: 'batch' });
    try {
      const before = { write: storage.latency().write.count, fsync: storage.latency().fsync.count };
      await storage.createGroup(toGroupId(1), { bootstrap: { voters: [toNodeId('n1')], learners: [] } });
      const { write, fsync } = storage.latency();
      expect(write.count).toBeGreaterThan(before.write);
      expect(fsync.count).toBeGreaterThan(before.fsync);
      expect(write.count).toBe(storage.stats().batches);
      expect(fsync.count).toBe(storage.stats().syncedBatches);
      expect(write.sum).toBeGreaterThan(0);
    } finally {
      await storage.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
