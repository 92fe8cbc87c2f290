// Proves single-server membership changes: learners replicate but neither vote nor count,
// a caught-up learner is promoted, changes wait for the leader's own-term commit and go
// one at a time, a change takes effect when appended (and reverts when truncated), a
// removed leader steps down once its removal commits, and nonsense changes are refused.
import { describe, expect, it } from 'vitest';
import { decodeConfChangeEntry, toNodeId } from '../../raft/index.js';
import { TestNet, electedNet } from './support/net.js';

const D = toNodeId('d');

function withLearner(): TestNet {
  const net = electedNet(['a', 'b', 'c']);
  net.add('d');
  expect(net.node('a').proposeConfChange({ type: 'addLearner', nodeId: D })).toMatchObject({ type: 'accepted' });
  net.stabilize();
  return net;
}

describe('membership changes', () => {
  it('a new learner catches up from index 1 and learns the configuration from the log', () => {
    const net = withLearner();
    const d = net.node('d').status();
    expect(d.confState).toEqual({ voters: ['a', 'b', 'c'], learners: ['d'] });
    expect(d.commit).toBe(3);
  });

  it('a learner does not count towards commit', () => {
    const net = withLearner();
    net.isolate('b');
    net.isolate('c');
    net.proposeText('a', 'x');
    net.stabilize();
    expect(net.node('d').status().lastIndex).toBe(4);
    expect(net.node('a').status().commit).toBe(3);
  });

  it('promotes a caught-up learner to voter', () => {
    const net = withLearner();
    expect(net.node('a').proposeConfChange({ type: 'addVoter', nodeId: D })).toMatchObject({ type: 'accepted', index: 4 });
    net.stabilize();
    for (const id of ['a', 'b', 'c', 'd']) expect(net.node(id).status().confState.voters).toEqual(['a', 'b', 'c', 'd']);
  });

  it('refuses to promote a learner that is behind the commit index', () => {
    const net = withLearner();
    net.isolate('d');
    net.proposeText('a', 'x');
    net.stabilize();
    expect(net.node('a').proposeConfChange({ type: 'addVoter', nodeId: D })).toMatchObject({ type: 'dropped', reason: 'learnerNotCaughtUp' });
  });

  it('refuses addVoter for a node that is not a learner yet', () => {
    const net = electedNet(['a', 'b', 'c']);
    expect(net.node('a').proposeConfChange({ type: 'addVoter', nodeId: D })).toMatchObject({ type: 'dropped', reason: 'invalidConfChange' });
  });

  it('allows one pending change at a time', () => {
    const net = withLearner();
    net.isolate('a');
    expect(net.node('a').proposeConfChange({ type: 'removeNode', nodeId: D }).type).toBe('accepted');
    expect(net.node('a').proposeConfChange({ type: 'removeNode', nodeId: toNodeId('c') })).toMatchObject({
      type: 'dropped',
      reason: 'confChangePending',
    });
  });

  it('refuses changes until the new leader has committed its own no-op', () => {
    const net = TestNet.bootstrap(['a', 'b', 'c']);
    net.node('a').campaign();
    for (let i = 0; i < 4; i++) {
      net.processAll();
      net.deliver();
    }
    expect(net.node('a').status().role).toBe('leader');
    expect(net.node('a').proposeConfChange({ type: 'addLearner', nodeId: D })).toMatchObject({ type: 'dropped', reason: 'leaderNotReady' });
    net.stabilize();
    expect(net.node('a').proposeConfChange({ type: 'addLearner', nodeId: D }).type).toBe('accepted');
  });

  it('a change takes effect on the leader as soon as it is appended, before commit', () => {
    const net = withLearner();
    net.isolate('a');
    net.node('a').proposeConfChange({ type: 'removeNode', nodeId: toNodeId('c') });
    expect(net.node('a').status().confState.voters).toEqual(['a', 'b']);
    expect(net.node('a').status().confStateApplied.voters).toEqual(['a', 'b', 'c']);
  });

  it('refuses removing or demoting the last voter, and duplicate changes', () => {
    const net = electedNet(['a']);
    const a = net.node('a');
    expect(a.proposeConfChange({ type: 'removeNode', nodeId: toNodeId('a') })).toMatchObject({ reason: 'invalidConfChange' });
    expect(a.proposeConfChange({ type: 'addLearner', nodeId: toNodeId('a') })).toMatchObject({ reason: 'invalidConfChange' });
    expect(a.proposeConfChange({ type: 'removeNode', nodeId: toNodeId('zz') })).toMatchObject({ reason: 'invalidConfChange' });
  });

  it('a leader that removes itself keeps leading until the removal commits, then steps down', () => {
    const net = electedNet(['a', 'b', 'c']);
    expect(net.node('a').proposeConfChange({ type: 'removeNode', nodeId: toNodeId('a') }).type).toBe('accepted');
    expect(net.node('a').status().role).toBe('leader');
    net.stabilize();
    expect(net.node('a').status().role).toBe('follower');
    expect(net.node('b').status().confState.voters).toEqual(['b', 'c']);
    // The remaining voters elect a leader among themselves; a never campaigns again.
    for (let i = 0; i < 60 && net.leader() === null; i++) {
      net.tickAll();
      net.stabilize();
    }
    expect(['b', 'c']).toContain(net.leader());
    net.tick('a', 50);
    expect(net.node('a').status().role).toBe('follower');
  });

  it('a removed follower stops receiving appends', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.node('a').proposeConfChange({ type: 'removeNode', nodeId: toNodeId('c') });
    net.stabilize();
    net.proposeText('a', 'after');
    net.stabilize();
    expect(net.get('b').applied).toEqual(['after']);
    expect(net.get('c').applied).toEqual([]);
  });

  it('committed confChange entries carry the change and the resulting configuration', () => {
    const net = withLearner();
    const conf = net.get('b').appliedEntries.filter((e) => e.type === 'confChange').map((e) => decodeConfChangeEntry(e.data));
    expect(conf.at(-1)).toEqual({ change: { type: 'addLearner', nodeId: 'd' }, confState: { voters: ['a', 'b', 'c'], learners: ['d'] } });
  });

  it('demotes a voter to learner', () => {
    const net = electedNet(['a', 'b', 'c']);
    expect(net.node('a').proposeConfChange({ type: 'addLearner', nodeId: toNodeId('c') }).type).toBe('accepted');
    net.stabilize();
    expect(net.node('b').status().confState).toEqual({ voters: ['a', 'b'], learners: ['c'] });
  });
});
