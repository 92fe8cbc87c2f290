// Proves a node restarts from its storage alone: term, vote and commit from the hard
// state, the configuration from the snapshot plus configuration entries in the log,
// committed entries handed out again after `appliedIndex`, and it rejoins its group.
import { describe, expect, it } from 'vitest';
import { toLogIndex, toNodeId } from '../../raft/index.js';
import { electedNet } from './support/net.js';

describe('restart', () => {
  it('recovers term, vote, commit and configuration from storage', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.add('d');
    net.node('a').proposeConfChange({ type: 'addLearner', nodeId: toNodeId('d') });
    net.proposeText('a', 'x');
    net.stabilize();
    net.crash('b');
    const b = net.restart('b');
    const s = b.node.status();
    expect(s).toMatchObject({ term: 2, vote: 'a', commit: 4, applied: 0, role: 'follower' });
    expect(s.confState).toEqual({ voters: ['a', 'b', 'c'], learners: ['d'] });
  });

  it('hands committed entries out again after appliedIndex', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.proposeText('a', 'x');
    net.proposeText('a', 'y');
    net.stabilize();
    net.crash('b');
    const b = net.restart('b', { appliedIndex: toLogIndex(3) });
    const rd = b.node.ready();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([4]);
  });

  it('a restarted follower rejoins and catches up', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.crash('c');
    net.proposeText('a', 'while-down');
    net.stabilize();
    net.restart('c');
    net.tick('a');
    net.stabilize();
    expect(net.get('c').applied).toEqual(['while-down']);
  });

  it('a restarted leader comes back as follower and the group elects again', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.proposeText('a', 'x');
    net.stabilize();
    net.crash('a');
    net.restart('a');
    expect(net.node('a').status().role).toBe('follower');
    for (let i = 0; i < 80 && net.leader() === null; i++) {
      net.tickAll();
      net.stabilize();
    }
    const leader = net.leader();
    expect(leader).not.toBeNull();
    net.proposeText(leader as string, 'y');
    net.stabilize();
    for (const id of ['a', 'b', 'c']) expect(net.get(id).applied.slice(-1)).toEqual(['y']);
  });
});
