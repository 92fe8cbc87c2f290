// Proves the leader lease: it starts at the send time of a heartbeat round a quorum
// acknowledged and lasts electionTimeoutTicks * tickIntervalMs - clockDriftMsMax; it needs
// the current term's entry applied; it is void during (and for the term after starting)
// a transfer; followers refuse campaigns while within an election timeout of hearing a
// leader (also right after a restart), which is what makes it safe.
import { describe, expect, it } from 'vitest';
import { toLogIndex, toNodeId, toTerm } from '../../raft/index.js';
import { TestNet, electedNet } from './support/net.js';

const OPTS = { tickIntervalMs: 100, electionTimeoutTicks: 10, clockDriftMsMax: 100 } as const;

function leasedNet(): TestNet {
  const net = electedNet(['a', 'b', 'c'], { nodeOptions: OPTS });
  for (const id of ['a', 'b', 'c']) net.node(id).setTimeMs(1_000);
  net.tick('a');
  net.stabilize();
  return net;
}

describe('leader lease', () => {
  it('holds no lease before a heartbeat round is acknowledged', () => {
    const net = electedNet(['a', 'b', 'c'], { nodeOptions: OPTS });
    net.node('a').setTimeMs(1_000);
    expect(net.node('a').leaseValid(1_000)).toBe(false);
  });

  it('holds no lease when the time was never set', () => {
    const net = electedNet(['a', 'b', 'c'], { nodeOptions: OPTS });
    net.tick('a');
    net.stabilize();
    expect(net.node('a').leaseRemainingMs(0)).toBe(0);
  });

  it('lasts electionTimeoutMs - clockDriftMsMax from the acknowledged round send time', () => {
    const net = leasedNet();
    expect(net.node('a').leaseRemainingMs(1_000)).toBe(900);
    expect(net.node('a').leaseRemainingMs(1_899)).toBe(1);
    expect(net.node('a').leaseValid(1_900)).toBe(false);
  });

  it('extends with every acknowledged round', () => {
    const net = leasedNet();
    net.node('a').setTimeMs(1_500);
    net.tick('a');
    net.stabilize();
    expect(net.node('a').leaseRemainingMs(1_500)).toBe(900);
  });

  it('does not extend from a round only a minority acknowledged', () => {
    const net = leasedNet();
    net.isolate('a');
    net.node('a').setTimeMs(1_500);
    net.tick('a');
    net.stabilize();
    expect(net.node('a').leaseRemainingMs(1_500)).toBe(400);
  });

  it('is void once a transfer starts, for the rest of the term', () => {
    const net = leasedNet();
    net.isolate('b');
    net.node('a').transferLeadership(toNodeId('b'));
    expect(net.node('a').leaseValid(1_000)).toBe(false);
    for (let i = 0; i < 10; i++) {
      net.tick('a');
      net.stabilize();
    }
    expect(net.node('a').status().leadTransferee).toBeNull();
    net.node('a').setTimeMs(2_000);
    net.tick('a');
    net.stabilize();
    expect(net.node('a').leaseValid(2_000)).toBe(false);
  });

  it('needs an entry of the current term applied', () => {
    const net = TestNet.bootstrap(['a', 'b', 'c'], { nodeOptions: OPTS });
    for (const id of ['a', 'b', 'c']) net.node(id).setTimeMs(1_000);
    net.node('a').campaign();
    // Deliver votes, but keep the no-op from committing.
    for (let i = 0; i < 4; i++) {
      net.processAll();
      net.deliver();
    }
    expect(net.node('a').status().role).toBe('leader');
    net.inflight = net.inflight.filter((m) => m.type !== 'appendEntries');
    net.cut('b', 'a');
    net.cut('c', 'a');
    net.tick('a');
    net.processAll();
    net.heal();
    net.deliver((m) => m.type === 'heartbeat');
    net.processAll();
    net.deliver((m) => m.type === 'heartbeatResponse');
    expect(net.node('a').status().commit).toBe(1);
    expect(net.node('a').leaseValid(1_000)).toBe(false);
  });

  it('is gone when the leader steps down under check-quorum', () => {
    const net = leasedNet();
    net.isolate('a');
    net.tick('a', 20);
    expect(net.node('a').status().role).toBe('follower');
    expect(net.node('a').leaseValid(1_000)).toBe(false);
  });

  it('followers ignore campaigns within an election timeout of hearing the leader', () => {
    const net = leasedNet();
    net.tick('b', 10);
    net.node('c').campaign();
    net.stabilize();
    expect(net.leader()).toBe('a');
    expect(net.node('c').status().term).toBe(2);
  });

  it('followers accept campaigns after more than an election timeout without the leader', () => {
    const net = leasedNet();
    net.crash('a');
    net.tick('b', 11);
    net.node('c').campaign();
    net.stabilize();
    expect(net.leader()).toBe('c');
  });

  it('a restarted node ignores campaigns for an election timeout (it may have acknowledged a lease)', () => {
    const net = leasedNet();
    net.crash('a');
    net.crash('b');
    net.restart('b');
    net.node('c').campaign();
    net.stabilize();
    expect(net.node('c').status().role).not.toBe('leader');
    net.tick('b', 11);
    net.tick('c', 11);
    net.processAll();
    net.inflight = []; // campaigns b or c may have started on their own while ticking
    net.node('c').campaign();
    net.stabilize();
    expect(net.leader()).toBe('c');
  });

  it('a vote request marked as transfer is answered inside the window', () => {
    const net = leasedNet();
    const b = net.node('b');
    b.step({ type: 'requestVote', from: toNodeId('c'), to: toNodeId('b'), term: toTerm(3), lastLogIndex: toLogIndex(2), lastLogTerm: toTerm(2), transfer: true });
    expect(b.status().vote).toBe('c');
  });

  it('rejects a non-finite time and time that goes back', () => {
    const net = leasedNet();
    expect(() => net.node('a').setTimeMs(999)).toThrow(RangeError);
    expect(() => net.node('a').leaseValid(Number.NaN)).toThrow(RangeError);
  });
});
