// Proves leadership transfer: the target gets TimeoutNow once caught up and wins the next
// term even inside the voters' lease window, proposals are dropped (typed) meanwhile, a
// stalled transfer aborts after an election timeout, and bad targets are rejected.
import { describe, expect, it } from 'vitest';
import { toNodeId } from '../../raft/index.js';
import { electedNet } from './support/net.js';

const B = toNodeId('b');

describe('leadership transfer', () => {
  it('hands leadership to an up-to-date follower at once', () => {
    const net = electedNet(['a', 'b', 'c']);
    expect(net.node('a').transferLeadership(B)).toEqual({ type: 'started', to: 'b' });
    net.stabilize();
    expect(net.leader()).toBe('b');
    expect(net.node('b').status().term).toBe(3);
    expect(net.node('a').status().role).toBe('follower');
  });

  it('catches a lagging target up before sending TimeoutNow', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.isolate('b');
    net.proposeText('a', 'x');
    net.stabilize();
    net.heal();
    net.node('a').transferLeadership(B);
    net.processReady('a');
    expect(net.inflight.some((m) => m.type === 'timeoutNow')).toBe(false);
    net.stabilize();
    expect(net.leader()).toBe('b');
    expect(net.get('b').applied).toEqual(['x']);
  });

  it('drops proposals and configuration changes while a transfer is in progress', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.isolate('b');
    net.node('a').transferLeadership(B);
    expect(net.proposeText('a', 'x')).toMatchObject({ type: 'dropped', reason: 'transferInProgress' });
    expect(net.node('a').proposeConfChange({ type: 'removeNode', nodeId: toNodeId('c') })).toMatchObject({
      type: 'dropped',
      reason: 'transferInProgress',
    });
  });

  it('aborts a transfer that does not finish within an election timeout', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.isolate('b');
    net.node('a').transferLeadership(B);
    for (let i = 0; i < 10; i++) {
      net.tick('a');
      net.tick('c');
      net.stabilize();
    }
    expect(net.node('a').status().leadTransferee).toBeNull();
    expect(net.proposeText('a', 'x').type).toBe('accepted');
    expect(net.leader()).toBe('a');
  });

  it('rejects a transfer to itself or to a non-voter, and answers notLeader on a follower', () => {
    const net = electedNet(['a', 'b', 'c']);
    expect(net.node('a').transferLeadership(toNodeId('a'))).toMatchObject({ type: 'rejected', reason: 'self' });
    expect(net.node('a').transferLeadership(toNodeId('zz'))).toMatchObject({ type: 'rejected', reason: 'notVoter' });
    expect(net.node('b').transferLeadership(toNodeId('c'))).toEqual({ type: 'notLeader', leaderHint: 'a', term: 2 });
  });

  it('marks the target campaign as a transfer so voters inside the lease window still vote', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.node('a').transferLeadership(B);
    net.stabilize();
    expect(net.leader()).toBe('b');
  });
});
