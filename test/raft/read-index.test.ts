// Proves ReadIndex: a read gets the leader's commit index once a heartbeat round sent
// after the request is acknowledged by a quorum; it waits for the leader's first commit
// in its term; reads are batched into one round; non-leaders answer notLeader; a
// partitioned leader never confirms; and the pending queue is bounded.
import { describe, expect, it } from 'vitest';
import { toNodeId } from '../../raft/index.js';
import { TestNet, electedNet } from './support/net.js';

describe('ReadIndex', () => {
  it('confirms a read at the commit index after a quorum acknowledges a heartbeat round', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.proposeText('a', 'x');
    net.stabilize();
    expect(net.node('a').readIndex('r1')).toEqual({ type: 'pending' });
    expect(net.get('a').readStates).toEqual([]);
    net.stabilize();
    expect(net.get('a').readStates).toEqual([{ index: 3, ctx: 'r1' }]);
  });

  it('sends one heartbeat round for all reads registered before the next Ready', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.node('a').readIndex('r1');
    net.node('a').readIndex('r2');
    const rd = net.node('a').ready();
    expect(rd.messages.filter((m) => m.type === 'heartbeat')).toHaveLength(2);
  });

  it('waits for the new leader to commit an entry of its term', () => {
    const net = TestNet.bootstrap(['a', 'b', 'c']);
    net.node('a').campaign();
    // Pre-votes, their answers, votes, their answers: a leads, its no-op not yet sent.
    for (let i = 0; i < 4; i++) {
      net.processAll();
      net.deliver();
    }
    expect(net.node('a').status().role).toBe('leader');
    expect(net.node('a').status().commit).toBe(1);
    expect(net.node('a').readIndex('early')).toEqual({ type: 'pending' });
    net.stabilize();
    expect(net.get('a').readStates).toEqual([{ index: 2, ctx: 'early' }]);
  });

  it('answers notLeader with the leader hint on a follower', () => {
    const net = electedNet(['a', 'b', 'c']);
    expect(net.node('b').readIndex('r')).toEqual({ type: 'notLeader', leaderHint: 'a', term: 2 });
  });

  it('never confirms a read on a leader cut off from the quorum', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.isolate('a');
    net.node('a').readIndex('stale?');
    net.stabilize();
    net.tick('a', 5);
    net.stabilize();
    expect(net.get('a').readStates).toEqual([]);
  });

  it('confirms reads at once on a single-voter group', () => {
    const net = electedNet(['a']);
    net.node('a').readIndex('solo');
    net.stabilize();
    expect(net.get('a').readStates).toEqual([{ index: 2, ctx: 'solo' }]);
  });

  it('drops reads beyond readIndexPendingMax with a typed result', () => {
    const net = electedNet(['a', 'b', 'c'], { nodeOptions: { readIndexPendingMax: 2 } });
    net.isolate('a');
    expect(net.node('a').readIndex('1').type).toBe('pending');
    expect(net.node('a').readIndex('2').type).toBe('pending');
    expect(net.node('a').readIndex('3')).toMatchObject({ type: 'dropped', reason: 'readIndexPendingMax' });
  });

  it('forgets pending reads when leadership is lost', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.isolate('a');
    net.node('a').readIndex('lost');
    net.processReady('a');
    net.inflight = []; // the read's heartbeat round is lost
    net.heal();
    net.node('a').transferLeadership(toNodeId('b'));
    net.stabilize();
    expect(net.leader()).toBe('b');
    expect(net.get('a').readStates).toEqual([]);
  });
});
