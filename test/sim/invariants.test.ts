// Proves every invariant checker of the simulator can fail: each is fed a planted violation (and a legal history it must accept).
import { describe, expect, it } from 'vitest';
import { MemoryStorage, toLogIndex, toNodeId, toTerm } from '../../raft/index.js';
import type { Entry, Message } from '../../raft/index.js';
import { checkDurableBeforeSend } from '../../chaos/sim/contract.js';
import {
  ConfigChecker,
  EMPTY_LOG_BASE,
  InvariantViolation,
  LeaseChecker,
  ReadChecker,
  SafetyChecker,
} from '../../chaos/sim/invariants.js';
import type { EntryFacts, InvariantName } from '../../chaos/sim/invariants.js';

function violates(name: InvariantName, fn: () => void): void {
  let caught: unknown = null;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InvariantViolation);
  expect((caught as InvariantViolation).invariant).toBe(name);
}

const e = (term: number, hash: number): EntryFacts => ({ term, hash });

/** Three nodes that all hold the bootstrap entry (1, term 1) committed. */
function bootstrapped(): SafetyChecker {
  const c = new SafetyChecker();
  for (const n of [1, 2, 3]) {
    c.addNode(n);
    c.restarted(n, { base: EMPTY_LOG_BASE, entries: [e(1, 100)], term: 1, commit: 1 });
  }
  return c;
}

describe('SafetyChecker accepts a legal history', () => {
  it('one leader replicates, commits and applies on every node', () => {
    const c = bootstrapped();
    c.observeRole(1, 2, true);
    c.observeLogWrite(1, 2, [e(2, 200)], 2);
    for (const n of [2, 3]) {
      c.observeRole(n, 2, false);
      c.observeLogWrite(n, 2, [e(2, 200)], null);
    }
    for (const n of [1, 2, 3]) {
      c.observeCommit(n, 2);
      c.observeApply(n, 1, e(1, 100), 11);
      c.observeApply(n, 2, e(2, 200), 22);
    }
    expect(c.committedMax).toBe(2);
    // A follower may truncate an uncommitted suffix written by a deposed leader.
    c.observeLogWrite(3, 3, [e(2, 300)], null);
    c.observeLogWrite(3, 3, [e(3, 301)], null);
  });
});

describe('SafetyChecker catches planted violations', () => {
  it('two leaders in one term', () => {
    const c = bootstrapped();
    c.observeRole(1, 2, true);
    violates('election-safety', () => c.observeRole(2, 2, true));
  });

  it('one voter granting two candidates in one term', () => {
    const c = bootstrapped();
    c.observeVoteGranted(3, 2, 1);
    c.observeVoteGranted(3, 2, 1); // a resend of the same vote is fine
    violates('vote-safety', () => c.observeVoteGranted(3, 2, 2));
  });

  it('a leader overwriting its own log in its term', () => {
    const c = bootstrapped();
    c.observeRole(1, 2, true);
    c.observeLogWrite(1, 2, [e(2, 200), e(2, 201)], 2);
    violates('leader-append-only', () => c.observeLogWrite(1, 3, [e(2, 999)], 2));
  });

  it('two logs with the same entry (index, term) but different prefixes', () => {
    const c = bootstrapped();
    c.observeLogWrite(1, 2, [e(2, 200), e(3, 300)], null);
    violates('log-matching', () => c.observeLogWrite(2, 2, [e(2, 222), e(3, 300)], null));
  });

  it('a log whose terms decrease', () => {
    const c = bootstrapped();
    violates('log-matching', () => c.observeLogWrite(1, 2, [e(3, 300), e(2, 200)], null));
  });

  it('a new leader lacking a committed entry', () => {
    const c = bootstrapped();
    c.observeLogWrite(1, 2, [e(2, 200)], 2);
    c.observeLogWrite(2, 2, [e(2, 200)], null);
    c.observeCommit(1, 2);
    // Node 3 never got entry 2 and becomes leader of term 3 with its own entry at 2.
    violates('leader-completeness', () => c.observeLogWrite(3, 2, [e(3, 300)], 3));
  });

  it('two nodes committing different entries at one index', () => {
    const c = bootstrapped();
    c.observeLogWrite(1, 2, [e(2, 200)], null);
    c.observeLogWrite(2, 2, [e(3, 300)], null);
    c.observeCommit(1, 2);
    violates('state-machine-safety', () => c.observeCommit(2, 2));
  });

  it('applying a payload other than the committed one, or a state that differs', () => {
    const c = bootstrapped();
    c.observeLogWrite(1, 2, [e(2, 200)], null);
    c.observeCommit(1, 2);
    c.observeApply(1, 1, e(1, 100), 11);
    violates('state-machine-safety', () => c.observeApply(1, 2, e(2, 201), 22));
    const d = bootstrapped();
    d.observeApply(1, 1, e(1, 100), 11);
    violates('state-machine-safety', () => d.observeApply(2, 1, e(1, 100), 12));
  });

  it('applying beyond the commit index, or out of order', () => {
    const c = bootstrapped();
    c.observeLogWrite(1, 2, [e(2, 200)], null);
    c.observeApply(1, 1, e(1, 100), 11);
    violates('state-machine-safety', () => c.observeApply(1, 2, e(2, 200), 22));
    violates('monotonic', () => c.observeApply(2, 2, e(2, 200), 22));
  });

  it('a restart that lost a committed entry', () => {
    const c = bootstrapped();
    c.observeLogWrite(1, 2, [e(2, 200)], null);
    c.observeCommit(1, 2);
    c.crashed(1);
    violates('committed-durability', () => c.restarted(1, { base: EMPTY_LOG_BASE, entries: [e(1, 100)], term: 2, commit: 2 }));
  });

  it('a restart whose persisted commit holds a different entry', () => {
    const c = bootstrapped();
    c.observeLogWrite(1, 2, [e(2, 200)], null);
    c.observeCommit(1, 2);
    c.crashed(2);
    violates('state-machine-safety', () =>
      c.restarted(2, { base: EMPTY_LOG_BASE, entries: [e(1, 100), e(3, 300)], term: 3, commit: 2 }),
    );
  });

  it('a commit index beyond the log', () => {
    const c = bootstrapped();
    violates('log-matching', () => c.observeCommit(1, 5));
  });

  it('term, commit or persisted state going backwards', () => {
    const c = bootstrapped();
    c.observeRole(1, 4, false);
    violates('monotonic', () => c.observeRole(1, 3, false));
    c.observeLogWrite(2, 2, [e(2, 200)], null);
    c.observeCommit(2, 2);
    violates('monotonic', () => c.observeCommit(2, 1));
    c.observeHardStateWrite(3, 5, 1);
    violates('monotonic', () => c.observeHardStateWrite(3, 4, 1));
  });

  it('a snapshot at an index that is not committed, or with another term', () => {
    const c = bootstrapped();
    violates('state-machine-safety', () => c.observeSnapshotInstall(1, { index: 2, term: 2, chain: 5 }, 9));
    violates('state-machine-safety', () => c.observeSnapshotInstall(1, { index: 1, term: 7, chain: 5 }, 9));
  });
});

describe('ConfigChecker', () => {
  const conf = (voters: string[], learners: string[] = []): { voters: string[]; learners: string[] } => ({ voters, learners });

  it('accepts single-server changes and snapshots that carry the committed configuration', () => {
    const c = new ConfigChecker();
    c.observeApplied(1, 1, conf(['a', 'b', 'c']));
    c.observeApplied(1, 5, conf(['a', 'b'], ['c']));
    c.observeApplied(2, 5, conf(['b', 'a'], ['c']));
    c.observeApplied(1, 9, conf(['a', 'b', 'd'], ['c']));
    c.observeSnapshotConf(3, 7, conf(['a', 'b'], ['c']));
  });

  it('fails on two voters changed at once, on disagreement, and on a snapshot with the wrong configuration', () => {
    const c = new ConfigChecker();
    c.observeApplied(1, 1, conf(['a', 'b', 'c']));
    violates('config-safety', () => c.observeApplied(1, 4, conf(['a'])));
    violates('config-safety', () => c.observeApplied(2, 1, conf(['a', 'b'])));
    violates('config-safety', () => c.observeSnapshotConf(1, 3, conf(['a', 'b'])));
  });
});

describe('LeaseChecker', () => {
  it('accepts one holder at a time, handing over at distinct instants', () => {
    const l = new LeaseChecker();
    l.observe(1, [1]);
    l.observe(2, []);
    l.observe(3, [2]);
  });

  it('fails when two nodes hold a lease at one instant', () => {
    violates('lease-exclusive', () => new LeaseChecker().observe(5, [1, 2]));
    const l = new LeaseChecker();
    l.observe(5, [1]);
    violates('lease-exclusive', () => l.observe(5, [2]));
  });
});

describe('ReadChecker', () => {
  it('accepts reads at least as new as every earlier acknowledged write', () => {
    const r = new ReadChecker();
    r.readStarted(1, 'k');
    r.writeAcked('k', 3);
    r.readAcked(1, 0, 'lease'); // began before the write was acknowledged
    r.readStarted(2, 'k');
    r.readAcked(2, 3, 'ReadIndex');
  });

  it('fails on a read older than a write acknowledged before it began', () => {
    const r = new ReadChecker();
    r.writeAcked('k', 3);
    r.readStarted(1, 'k');
    violates('read-freshness', () => r.readAcked(1, 2, 'lease'));
  });
});

describe('the Ready ordering rule (persist before send)', () => {
  const a = toNodeId('n1');
  const b = toNodeId('n2');
  const conf = { voters: [a, b], learners: [] };
  const grant: Message = { type: 'requestVoteResponse', from: a, to: b, term: toTerm(2), granted: true };

  it('accepts a vote whose term and vote are on disk', () => {
    const s = MemoryStorage.bootstrap(conf);
    s.setHardState({ term: toTerm(2), vote: b, commit: toLogIndex(1) });
    checkDurableBeforeSend(a, s, grant);
  });

  it('fails on a vote, or an append acknowledgement, sent before it is durable', () => {
    const s = MemoryStorage.bootstrap(conf);
    violates('persist-before-send', () => checkDurableBeforeSend(a, s, grant));
    const ack: Message = {
      type: 'appendEntriesResponse',
      from: a,
      to: b,
      term: toTerm(1),
      reject: false,
      index: toLogIndex(2),
      hintIndex: toLogIndex(0),
      hintTerm: toTerm(0),
    };
    violates('persist-before-send', () => checkDurableBeforeSend(a, s, ack));
    const entry: Entry = { term: toTerm(1), index: toLogIndex(2), type: 'normal', data: new Uint8Array([1]) };
    s.append([entry]);
    checkDurableBeforeSend(a, s, ack);
  });
});
