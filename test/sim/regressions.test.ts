// Proves each Raft bug the simulator found stays fixed: every seed below failed (with the symptom given) before its fix in raft/, see chaos/sim/FOUND.md.
import { describe, expect, it } from 'vitest';
import { runSimulation } from '../../chaos/sim/run.js';
import { toNodeId } from '../../raft/index.js';
import { TestNet, electedNet } from '../raft/support/net.js';

interface Regression {
  /** FOUND.md entry number. */
  readonly bug: number;
  readonly seed: number;
  readonly nodeCount: number;
  readonly steps: number;
  /** The bug, in one line. */
  readonly description: string;
}

/**
 * Seeds are re-derived whenever the simulator changes (a change reshuffles what a seed
 * does): each one is checked to fail with its fix reverted in a scratch copy of raft/.
 */
const REGRESSIONS: readonly Regression[] = [
  {
    bug: 1,
    seed: 13,
    nodeCount: 3,
    steps: 2000,
    description: 'a lost appendEntriesResponse left the in-flight window full and replication to that peer stalled for the term',
  },
  {
    bug: 2,
    seed: 173,
    nodeCount: 3,
    steps: 2000,
    description: 'the lease was valid once the leader committed (not applied) its term entry, so a lease read missed acknowledged writes',
  },
  {
    bug: 3,
    seed: 0,
    nodeCount: 3,
    steps: 2000,
    description: 'a leader that demoted itself and lost leadership before the change committed could never campaign again: no leader forever',
  },
  {
    bug: 4,
    seed: 60,
    nodeCount: 3,
    steps: 2000,
    description: 'a follower whose last append was lost was never sent it again while no new entries came (sentCommit suppressed the probe)',
  },
  {
    bug: 5,
    seed: 3919,
    nodeCount: 3,
    steps: 2000,
    description: 'without pre-vote, rejected newer-term vote requests restarted the election timer, so a stale fast-clocked candidate starved all elections',
  },
  {
    bug: 6,
    seed: 312618709,
    nodeCount: 3,
    steps: 2000,
    description: 'a voter that adopted a newer term from a rejected pre-vote response granted a same-term vote inside a leader lease',
  },
];

describe('simulator regressions (chaos/sim/FOUND.md)', () => {
  for (const r of REGRESSIONS) {
    it(`bug ${r.bug}: ${r.description} (seed ${r.seed}, ${r.nodeCount} nodes)`, () => {
      const result = runSimulation({ seed: r.seed, nodeCount: r.nodeCount, steps: r.steps });
      expect(result.failure, `replay: ${result.replay}`).toBeNull();
    });
  }
});

/**
 * The same bugs as minimal scripted scenarios on the core's test network: these do not
 * depend on what a seed happens to do in the current simulator.
 */
describe('simulator regressions, minimised to scripts', () => {
  const drop = (net: TestNet, type: string, to?: string): void => {
    net.inflight = net.inflight.filter((m) => !(m.type === type && (to === undefined || m.to === to)));
  };

  it('bug 1: replication resumes after the acknowledgement of a full in-flight window is lost', () => {
    const net = electedNet(['a', 'b', 'c'], { nodeOptions: { inflightMessagesMax: 1 } });
    net.proposeText('a', 'x');
    net.processAll();
    net.deliver(); // appends reach b and c
    net.processAll();
    drop(net, 'appendEntriesResponse'); // both acknowledgements lost: a's windows stay full
    net.proposeText('a', 'y');
    net.stabilize();
    const lastY = net.node('a').status().lastIndex;
    for (let i = 0; i < 5; i++) {
      net.tick('a');
      net.stabilize();
    }
    expect(net.node('a').status().commit).toBe(lastY);
  });

  it('bug 2: a new leader holds no lease until it has applied an entry of its term', () => {
    const net = TestNet.bootstrap(['a', 'b', 'c'], { nodeOptions: { tickIntervalMs: 100, clockDriftMsMax: 100 } });
    const a = net.node('a');
    a.setTimeMs(1_000);
    a.campaign();
    for (let i = 0; i < 10 && a.status().role !== 'leader'; i++) {
      net.processAll();
      net.deliver();
    }
    expect(a.status().role).toBe('leader');
    net.processReady('a'); // persists the no-op, sends the appends
    a.setTimeMs(1_010);
    a.tick(); // a heartbeat round, sent after the election
    net.processReady('a');
    net.deliver(); // appends and heartbeats reach b and c
    net.processReady('b');
    net.processReady('c');
    a.setTimeMs(1_020);
    net.deliver(); // their acknowledgements reach a: the no-op commits, the round is acked
    const st = a.status();
    expect(st.commit).toBe(st.lastIndex);
    // a has not applied the no-op yet (its Ready is not processed): no lease.
    expect(st.applied).toBeLessThan(st.commit);
    expect(a.leaseValid(1_020)).toBe(false);
    net.processReady('a');
    expect(a.leaseValid(1_020)).toBe(true);
  });

  it('bug 3: a leader that demoted itself and lost leadership before the change committed can still get it committed', () => {
    const net = electedNet(['a', 'b', 'c']);
    expect(net.node('a').proposeConfChange({ type: 'removeNode', nodeId: toNodeId('c') }).type).toBe('accepted');
    net.stabilize();
    // Voters {a, b}. a demotes itself, but the entry never leaves a, and a loses leadership.
    net.isolate('a');
    expect(net.node('a').proposeConfChange({ type: 'addLearner', nodeId: toNodeId('a') }).type).toBe('accepted');
    net.stabilize();
    net.tick('a', 25); // check-quorum: no contact with b for an election timeout
    net.stabilize();
    expect(net.node('a').status().role).toBe('follower');
    net.heal();
    // b needs a's vote and a's log is longer; only a can commit the change it holds.
    let leader: string | null = null;
    for (let t = 0; t < 300 && leader === null; t++) {
      net.tickAll();
      net.stabilize();
      leader = net.leader();
    }
    expect(leader).not.toBeNull();
  });

  it('bug 4: a follower whose last append was lost gets it again though nothing new is proposed', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.proposeText('a', 'x');
    // Every append to b is lost (x, then the commit update): b never sees x; c does, so x
    // commits and a has nothing left to send b.
    for (let round = 0; round < 20; round++) {
      net.processAll();
      drop(net, 'appendEntries', 'b');
      net.deliver();
    }
    const last = net.node('a').status().lastIndex;
    expect(net.node('b').status().lastIndex).toBeLessThan(last);
    for (let i = 0; i < 5; i++) {
      net.tick('a');
      net.stabilize();
    }
    expect(net.node('b').status().lastIndex).toBe(last);
  });

  it('bug 5: without pre-vote, rejected campaigns of a stale node do not keep the up-to-date node from campaigning', () => {
    const net = electedNet(['a', 'b', 'c'], { nodeOptions: { preVote: false, electionTimeoutTicks: 10 } });
    net.isolate('c');
    net.proposeText('a', 'x'); // b gets x, c does not: c is stale
    net.stabilize();
    net.crash('a');
    net.heal();
    // c's clock runs fast: it times out (at most 2E ticks) three times as often as b ticks.
    let bLeads = false;
    for (let round = 0; round < 20 && !bLeads; round++) {
      const termBefore = net.node('c').status().term;
      for (let t = 0; t < 21 && net.node('c').status().term === termBefore; t++) net.tick('c');
      net.stabilize(); // b rejects c's campaign: c's log is stale
      net.tick('b', 7);
      net.stabilize();
      bLeads = net.node('b').status().role === 'leader';
    }
    expect(bLeads).toBe(true);
  });
});
