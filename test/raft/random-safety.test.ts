// Proves the safety properties under random faults, seed by seed (a failing seed is
// printed and replays exactly): at most one leader per term, every index is applied with
// the same entry everywhere, no two nodes hold a lease at the same instant, and once the
// faults stop the group elects a leader and commits again (liveness).
import { describe, expect, it } from 'vitest';
import { createSeededPrng, toNodeId } from '../../raft/index.js';
import type { ConfChange, Entry, Message, Prng } from '../../raft/index.js';
import { TestNet, text } from './support/net.js';

const IDS = ['a', 'b', 'c', 'd', 'e'];
const TICK_MS = 100;
const OPTS = { tickIntervalMs: TICK_MS, electionTimeoutTicks: 10, clockDriftMsMax: 100, snapshotChunkBytes: 16 } as const;

class Checker {
  readonly leaderOfTerm = new Map<number, string>();
  readonly appliedAt = new Map<number, string>();
  private readonly seenApplied = new Map<string, number>();

  check(net: TestNet, nowMs: number): void {
    let leased: string | null = null;
    for (const [id, m] of net.members) {
      if (m.down) continue;
      const s = m.node.status();
      if (s.role === 'leader') {
        const prev = this.leaderOfTerm.get(s.term);
        if (prev !== undefined && prev !== id) throw new Error(`two leaders in term ${s.term}: ${prev} and ${id}`);
        this.leaderOfTerm.set(s.term, id);
      }
      if (m.node.leaseValid(nowMs)) {
        if (leased !== null) throw new Error(`two leases at ${nowMs} ms: ${leased} and ${id}`);
        leased = id;
      }
      const from = this.seenApplied.get(id) ?? 0;
      for (let k = from; k < m.appliedEntries.length; k++) this.applied(id, m.appliedEntries[k] as Entry);
      this.seenApplied.set(id, m.appliedEntries.length);
    }
  }

  forget(id: string): void {
    this.seenApplied.set(id, 0);
  }

  private applied(id: string, e: Entry): void {
    const sig = `${e.term}:${e.type}:${text(e.data)}`;
    const prev = this.appliedAt.get(e.index);
    if (prev !== undefined && prev !== sig) throw new Error(`${id} applied ${sig} at ${e.index}, others applied ${prev}`);
    this.appliedAt.set(e.index, sig);
  }
}

function shuffle<T>(xs: T[], prng: Prng): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = prng.nextInt(i + 1);
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
}

function randomChange(prng: Prng, voters: readonly string[], learners: readonly string[]): ConfChange {
  const id = toNodeId(IDS[prng.nextInt(IDS.length)] as string);
  const k = prng.nextInt(3);
  if (k === 0) return { type: 'addLearner', nodeId: id };
  if (k === 1) return { type: 'addVoter', nodeId: learners.length > 0 ? toNodeId(learners[prng.nextInt(learners.length)] as string) : id };
  if (voters.length <= 3) return { type: 'addLearner', nodeId: id };
  return { type: 'removeNode', nodeId: id };
}

function runSeed(seed: number, steps: number): void {
  const prng = createSeededPrng(seed);
  const net = TestNet.bootstrap(['a', 'b', 'c'], { seed, nodeOptions: OPTS });
  net.add('d');
  net.add('e');
  const checker = new Checker();
  let nowMs = 1_000;
  let proposal = 0;
  const downUntil = new Map<string, number>();
  const pausedUntil = new Map<string, number>();
  const setTimes = (): void => {
    for (const m of net.members.values()) if (!m.paused && !m.down) m.node.setTimeMs(nowMs);
  };
  const deliverRandomly = (dropPct: number): void => {
    const batch = net.inflight;
    net.inflight = [];
    shuffle(batch, prng);
    const kept: Message[] = [];
    for (const msg of batch) {
      const r = prng.nextInt(100);
      if (r < dropPct) continue;
      kept.push(msg);
      if (r >= 98) kept.push(msg); // duplicate
    }
    net.inflight = kept;
    net.deliver();
  };

  for (let step = 0; step < steps; step++) {
    nowMs += TICK_MS;
    setTimes();
    for (const id of net.members.keys()) net.tick(id);
    const leader = net.leader();
    const r = prng.nextInt(100);
    if (leader !== null && r < 40) {
      for (let k = 0; k < 1 + prng.nextInt(3); k++) net.proposeText(leader, `p${proposal++}`);
    } else if (leader !== null && r < 44) {
      const s = net.node(leader).status();
      net.node(leader).proposeConfChange(randomChange(prng, s.confState.voters, s.confState.learners));
    } else if (leader !== null && r < 46) {
      const voters = net.node(leader).status().confState.voters.filter((v) => v !== leader);
      if (voters.length > 0) net.node(leader).transferLeadership(voters[prng.nextInt(voters.length)] as never);
    } else if (leader !== null && r < 47) {
      net.node(leader).readIndex(`r${step}`);
    } else if (r < 50) {
      const id = IDS[prng.nextInt(IDS.length)] as string;
      const m = net.get(id);
      const st = m.node.status();
      if (!m.down && st.applied > m.storage.snapshot().index) {
        m.storage.createSnapshot(st.applied, st.confStateApplied, new TextEncoder().encode(m.applied.join('\n')));
        m.storage.compact(st.applied);
      }
    } else if (r < 52) {
      net.heal();
      net.isolate(IDS[prng.nextInt(IDS.length)] as string);
    } else if (r < 58) {
      // One-way link failure: the case where a voter still hears the leader while a
      // candidate does not (what the voters' lease guard is for).
      const from = IDS[prng.nextInt(IDS.length)] as string;
      const to = IDS[prng.nextInt(IDS.length)] as string;
      if (from !== to) net.cut(from, to);
    } else if (r < 59) {
      net.heal();
    } else if (r < 60) {
      // Crash a node for up to 30 steps (restarted from its storage below).
      const id = IDS[prng.nextInt(IDS.length)] as string;
      if (!net.get(id).down) {
        net.crash(id);
        downUntil.set(id, step + 1 + prng.nextInt(30));
      }
    } else if (r < 61) {
      // Pause a node (a GC pause, a stopped VM) for up to 30 steps: its clock stops too.
      const id = IDS[prng.nextInt(IDS.length)] as string;
      net.get(id).paused = true;
      pausedUntil.set(id, step + 1 + prng.nextInt(30));
    }
    for (const [id, until] of downUntil) {
      if (until <= step) {
        downUntil.delete(id);
        net.restart(id);
        checker.forget(id);
      }
    }
    for (const [id, until] of pausedUntil) {
      if (until <= step) {
        pausedUntil.delete(id);
        net.get(id).paused = false;
      }
    }
    for (let round = 0; round < 3; round++) {
      net.processAll();
      deliverRandomly(10);
    }
    checker.check(net, nowMs);
  }

  // Faults stop: every node up, resumed, connected; the group must make progress.
  net.heal();
  for (const [id, m] of net.members) {
    if (m.down) {
      net.restart(id);
      checker.forget(id);
    }
    net.get(id).paused = false;
  }
  let committed = false;
  for (let step = 0; step < 200 && !committed; step++) {
    nowMs += TICK_MS;
    setTimes();
    for (const id of net.members.keys()) net.tick(id);
    net.stabilize();
    const leader = net.leader();
    if (leader !== null && step % 10 === 5) {
      const res = net.proposeText(leader, `final${step}`);
      net.stabilize();
      if (res.type === 'accepted' && net.node(leader).status().commit >= res.index) committed = true;
    }
    checker.check(net, nowMs);
  }
  if (!committed) throw new Error('no progress after the faults stopped');
}

describe('random faults', () => {
  const seeds = Number(process.env['RAFT_RANDOM_SEEDS'] ?? '40');
  it(`keeps election safety, state machine safety and lease exclusivity over ${seeds} seeds, and recovers`, () => {
    for (let seed = 1; seed <= seeds; seed++) {
      try {
        runSeed(seed, 300);
      } catch (err) {
        throw new Error(`seed ${seed}: ${(err as Error).message}`, { cause: err });
      }
    }
    expect(true).toBe(true);
  });
});
