// Proves every input that needs a leader answers a typed notLeader result carrying the
// known leader (null while an election runs) instead of throwing.
import { describe, expect, it } from 'vitest';
import { toNodeId } from '../../raft/index.js';
import { TestNet, bytes, electedNet } from './support/net.js';

describe('not-leader results', () => {
  it('propose on a follower answers notLeader with the leader hint', () => {
    const net = electedNet(['a', 'b', 'c']);
    expect(net.node('b').propose(bytes('x'))).toEqual({ type: 'notLeader', leaderHint: 'a', term: 2 });
  });

  it('proposeConfChange, transferLeadership and readIndex on a follower answer notLeader', () => {
    const net = electedNet(['a', 'b', 'c']);
    const b = net.node('b');
    const expected = { type: 'notLeader', leaderHint: 'a', term: 2 };
    expect(b.proposeConfChange({ type: 'addLearner', nodeId: toNodeId('d') })).toEqual(expected);
    expect(b.transferLeadership(toNodeId('c'))).toEqual(expected);
    expect(b.readIndex('r')).toEqual(expected);
  });

  it('a candidate answers notLeader with no hint', () => {
    const net = TestNet.bootstrap(['a', 'b', 'c']);
    net.node('a').campaign();
    expect(net.node('a').propose(bytes('x'))).toEqual({ type: 'notLeader', leaderHint: null, term: 1 });
  });

  it('a deposed leader answers notLeader and names the new leader once it hears from it', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.node('a').transferLeadership(toNodeId('b'));
    net.stabilize();
    expect(net.node('a').propose(bytes('x'))).toEqual({ type: 'notLeader', leaderHint: 'b', term: 3 });
  });

  it('bad arguments are caller errors, not results', () => {
    const net = electedNet(['a', 'b', 'c']);
    expect(() => net.node('a').propose('x' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => net.node('a').proposeConfChange({ type: 'nope', nodeId: toNodeId('d') } as never)).toThrow(TypeError);
  });
});
