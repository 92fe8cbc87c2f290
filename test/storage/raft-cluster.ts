/**
 * A small three-node Raft group run over a storage implementation (one harness, hence one
 * node storage, per member), carrying out each Ready as its ORDERING RULE says with the
 * storage's asynchronous `persist`. Used by the compliance suite to show the core runs on
 * the storage end to end: election, replication, compaction, restart, snapshot catch-up.
 */
import { expect } from 'vitest';
import { createRaftNode, createSeededPrng, toLogIndex, toNodeId } from '../../raft/index.js';
import type { Message, NodeId, RaftNode, Ready } from '../../raft/index.js';
import { toGroupId } from '../../storage/index.js';
import type { GroupStorage, NodeStorage } from '../../storage/index.js';
import type { Harness, HarnessFactory } from './compliance.js';

const G = toGroupId(7);
const IDS = ['a', 'b', 'c'].map(toNodeId);
const CONF = { voters: IDS, learners: [] };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Member {
  readonly id: NodeId;
  readonly harness: Harness;
  node: NodeStorage | null;
  group: GroupStorage | null;
  raft: RaftNode | null;
  /** The state machine: data of applied normal entries, in order. */
  applied: string[];
}

class Cluster {
  readonly members = new Map<NodeId, Member>();
  private queue: Message[] = [];

  member(id: NodeId): Member {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  async start(id: NodeId, create: boolean): Promise<void> {
    const m = this.member(id);
    m.node = await m.harness.open({ snapshotChunkBytes: 1000, groupEntryCacheBytesMax: 2000 });
    m.group = create ? await m.node.createGroup(G, { bootstrap: CONF }) : await m.node.openGroup(G);
    m.applied = [];
    // The state machine restarts from the group's snapshot, then the core re-delivers the log after it.
    const snap = await m.group.snapshotData();
    if (snap.meta.index > 0) m.applied = JSON.parse(decoder.decode(snap.data)) as string[];
    m.raft = createRaftNode({ id, electionTimeoutTicks: 10, heartbeatIntervalTicks: 1, snapshotChunkBytes: 700 }, { storage: m.group, prng: createSeededPrng(id.charCodeAt(0)) });
  }

  async stop(id: NodeId): Promise<void> {
    const m = this.member(id);
    await m.node?.close();
    m.node = null;
    m.group = null;
    m.raft = null;
  }

  private async handle(m: Member, rd: Ready): Promise<void> {
    const group = m.group as GroupStorage;
    this.queue.push(...rd.messages);
    if (rd.snapshot !== null) m.applied = JSON.parse(decoder.decode(rd.snapshot.data)) as string[];
    await group.persist(rd);
    this.queue.push(...rd.messagesAfterPersist);
    for (const e of rd.committedEntries) if (e.type === 'normal' && e.data.byteLength > 0) m.applied.push(decoder.decode(e.data));
    m.raft?.advance(rd);
  }

  /** Runs Readies and delivers messages until quiet; bounded by `roundsMax`. */
  async stabilize(roundsMax = 200): Promise<void> {
    for (let round = 0; round < roundsMax; round++) {
      let busy = false;
      for (const m of this.members.values()) {
        // Bounded: each Ready is advanced before the next, and input stops while we loop.
        for (let k = 0; k < 50 && m.raft?.hasReady() === true; k++) {
          busy = true;
          await this.handle(m, m.raft.ready());
        }
      }
      const msgs = this.queue;
      this.queue = [];
      for (const msg of msgs) {
        busy = true;
        this.members.get(msg.to)?.raft?.step(msg);
      }
      if (!busy) return;
    }
    throw new Error('cluster did not stabilize');
  }

  async tickAll(times: number): Promise<void> {
    for (let t = 0; t < times; t++) {
      for (const m of this.members.values()) m.raft?.tick();
      await this.stabilize();
    }
  }

  propose(id: NodeId, value: string): void {
    const r = this.member(id).raft?.propose(encoder.encode(value));
    expect(r?.type).toBe('accepted');
  }
}

export async function runRaftScenario(factory: HarnessFactory): Promise<void> {
  const cluster = new Cluster();
  try {
    for (const id of IDS) cluster.members.set(id, { id, harness: await factory(), node: null, group: null, raft: null, applied: [] });
    for (const id of IDS) await cluster.start(id, true);
    const [a, b, c] = IDS as [NodeId, NodeId, NodeId];
    cluster.member(a).raft?.campaign();
    await cluster.stabilize();
    expect(cluster.member(a).raft?.status().role).toBe('leader');

    for (let i = 0; i < 30; i++) cluster.propose(a, `v${i}`);
    await cluster.stabilize();
    const first30 = Array.from({ length: 30 }, (_, i) => `v${i}`);
    for (const id of IDS) expect(cluster.member(id).applied).toEqual(first30);

    // c goes down; the others go on, snapshot and compact past c's log.
    await cluster.stop(c);
    for (let i = 30; i < 60; i++) cluster.propose(a, `v${i}`);
    await cluster.stabilize();
    for (const id of [a, b]) {
      const m = cluster.member(id);
      const applied = m.raft?.status().applied ?? 0;
      const group = m.group as GroupStorage;
      await group.createSnapshot(toLogIndex(applied), CONF, encoder.encode(JSON.stringify(m.applied)));
      await group.compact(toLogIndex(applied - 2));
    }

    // a restarts from its own disk and is elected again; c comes back and needs a snapshot.
    await cluster.stop(a);
    await cluster.start(a, false);
    await cluster.start(c, false);
    expect(cluster.member(c).applied).toEqual([]);
    await cluster.tickAll(40);
    const leader = IDS.find((id) => cluster.member(id).raft?.status().role === 'leader');
    expect(leader).toBeDefined();
    cluster.propose(leader as NodeId, 'after');
    await cluster.tickAll(5);
    const all = [...Array.from({ length: 60 }, (_, i) => `v${i}`), 'after'];
    for (const id of IDS) expect(cluster.member(id).applied).toEqual(all);
    const cGroup = cluster.member(c).group as GroupStorage;
    expect(cGroup.snapshot().index).toBeGreaterThan(30);
    expect(cGroup.firstIndex()).toBe(cGroup.snapshot().index + 1);

    // Everything c holds survives one more restart.
    await cluster.stop(c);
    await cluster.start(c, false);
    expect(cluster.member(c).group?.lastIndex()).toBe(cluster.member(leader as NodeId).group?.lastIndex());
  } finally {
    for (const m of cluster.members.values()) {
      await m.node?.close().catch(() => undefined);
      await m.harness.dispose();
    }
  }
}
