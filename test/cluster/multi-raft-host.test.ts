// Proves the multi-raft host drives real Raft groups over storage and a transport:
// elections, proposals applied on every replica, waiters settled, and failover after the
// leader's host stops, with several groups sharing one storage and one transport.
import { afterEach, describe, expect, it } from 'vitest';
import { MultiRaftHost } from '../../cluster/host/multi-raft-host.js';
import type { HostTransport } from '../../cluster/host/types.js';
import { createSeededPrng, toNodeId, type NodeId } from '../../raft/index.js';
import { MemoryNodeStorage, toGroupId } from '../../storage/index.js';
import { ListMachine } from '../support/list-machine.js';
import { waitFor } from '../support/wait-for.js';

/** Delivers messages between in-process hosts on a later turn; a stopped node hears nothing. */
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

const hosts: MultiRaftHost[] = [];
afterEach(() => {
  for (const h of hosts.splice(0)) h.stop();
});

async function cluster(groups: number[]): Promise<{ bus: Bus; nodes: { id: NodeId; host: MultiRaftHost; sms: Map<number, ListMachine>; storage: MemoryNodeStorage }[] }> {
  const bus = new Bus();
  const ids = ['n1', 'n2', 'n3'].map(toNodeId);
  const nodes = [];
  for (const [i, id] of ids.entries()) {
    const storage = await MemoryNodeStorage.open();
    const host = new MultiRaftHost(
      { nodeId: id, tickIntervalMs: 5, raft: { electionTimeoutTicks: 10, clockDriftMsMax: 10 }, snapshotEntriesInterval: 20, snapshotTrailingEntries: 5 },
      { storage, transport: bus.endpoint(id), clock: { nowMs: () => performance.now() }, prng: createSeededPrng(i + 1), logger: null },
    );
    const sms = new Map<number, ListMachine>();
    for (const g of groups) {
      const sm = new ListMachine();
      sms.set(g, sm);
      await host.addGroup(g, { bootstrap: { voters: ids, learners: [] }, stateMachine: sm });
    }
    host.start();
    hosts.push(host);
    nodes.push({ id, host, sms, storage });
  }
  return { bus, nodes };
}

function leaderOf(nodes: { host: MultiRaftHost }[], groupId: number): MultiRaftHost | undefined {
  return nodes.find((n) => n.host.view(groupId)?.role === 'leader')?.host;
}

describe('MultiRaftHost', () => {
  it('elects a leader per group and applies proposals on every replica', async () => {
    const { nodes } = await cluster([1, 2, 3]);
    for (const g of [1, 2, 3]) await waitFor(() => leaderOf(nodes, g) !== undefined, 5_000);
    for (const g of [1, 2, 3]) {
      const leader = leaderOf(nodes, g) as MultiRaftHost;
      for (let i = 0; i < 50; i++) {
        const r = leader.propose(g, new TextEncoder().encode(`g${g}:${i}`));
        expect(r.type).toBe('accepted');
        if (r.type === 'accepted' && i === 49) await leader.waitApplied(g, r);
      }
    }
    for (const g of [1, 2, 3]) {
      await waitFor(() => nodes.every((n) => (n.sms.get(g) as ListMachine).values.length === 50), 5_000);
      const expected = Array.from({ length: 50 }, (_, i) => `g${g}:${i}`);
      for (const n of nodes) expect((n.sms.get(g) as ListMachine).values).toEqual(expected);
    }
  });

  it('fails over when the leader stops, keeps every applied entry, and rejects its waiters', async () => {
    const { bus, nodes } = await cluster([1]);
    await waitFor(() => leaderOf(nodes, 1) !== undefined, 5_000);
    const first = nodes.find((n) => n.host === leaderOf(nodes, 1));
    if (first === undefined) throw new Error('no leader');
    const r = first.host.propose(1, new TextEncoder().encode('before'));
    if (r.type !== 'accepted') throw new Error('not accepted');
    await first.host.waitApplied(1, r);
    bus.down.add(first.id);
    first.host.stop();
    const rest = nodes.filter((n) => n !== first);
    await waitFor(() => leaderOf(rest, 1) !== undefined, 5_000);
    const second = leaderOf(rest, 1) as MultiRaftHost;
    const r2 = second.propose(1, new TextEncoder().encode('after'));
    if (r2.type !== 'accepted') throw new Error('not accepted');
    await second.waitApplied(1, r2);
    for (const n of rest) await waitFor(() => (n.sms.get(1) as ListMachine).values.join(',') === 'before,after', 5_000);
  });

  it('snapshots and compacts the log once enough entries are applied', async () => {
    const { nodes } = await cluster([1]);
    await waitFor(() => leaderOf(nodes, 1) !== undefined, 5_000);
    const leader = leaderOf(nodes, 1) as MultiRaftHost;
    let last = null;
    for (let i = 0; i < 60; i++) {
      const r = leader.propose(1, new TextEncoder().encode(`v${i}`));
      if (r.type === 'accepted') last = r;
    }
    if (last === null) throw new Error('nothing accepted');
    await leader.waitApplied(1, last);
    await waitFor(() => (leader.view(1)?.applied ?? 0) >= 60, 5_000);
    for (const n of nodes) await waitFor(() => (n.sms.get(1) as ListMachine).values.length === 60, 5_000);
    // Snapshots at >= 20 applied entries, each followed by compaction up to 5 behind it.
    for (const n of nodes) {
      const g = await n.storage.openGroup(toGroupId(1));
      await waitFor(() => g.snapshot().index >= 40 && g.firstIndex() > 30, 5_000, 'snapshot and compaction');
      const snap = await g.snapshotData();
      expect((JSON.parse(new TextDecoder().decode(snap.data)) as string[]).length).toBeGreaterThanOrEqual(38);
    }
  });
});
