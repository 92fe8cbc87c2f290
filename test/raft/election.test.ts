// Proves leader election: randomized timeouts elect exactly one leader per term, pre-vote
// runs first, a lone voter elects itself, and non-voters never campaign.
import { describe, expect, it } from 'vitest';
import { MemoryStorage, createRaftNode, createSeededPrng, toNodeId } from '../../raft/index.js';
import { TestNet, electedNet } from './support/net.js';

describe('election', () => {
  it('a single voter elects itself on campaign and commits its no-op', () => {
    const net = TestNet.bootstrap(['a']);
    net.elect('a');
    const s = net.node('a').status();
    expect(s.role).toBe('leader');
    expect(s.term).toBe(2);
    expect(s.commit).toBe(2);
  });

  it('a single voter elects itself after its randomized election timeout', () => {
    const net = TestNet.bootstrap(['a']);
    for (let i = 0; i < 20 && net.leader() === null; i++) {
      net.tick('a');
      net.stabilize();
    }
    expect(net.leader()).toBe('a');
  });

  it('three voters elect exactly one leader by ticking alone, whatever the seed', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const net = TestNet.bootstrap(['a', 'b', 'c'], { seed: seed * 7 });
      for (let i = 0; i < 100 && net.leader() === null; i++) {
        net.tickAll();
        net.stabilize();
      }
      const leader = net.leader();
      expect(leader).not.toBeNull();
      const term = net.node(leader as string).status().term;
      const leadersInTerm = [...net.members.values()].filter((m) => m.node.status().role === 'leader' && m.node.status().term === term);
      expect(leadersInTerm).toHaveLength(1);
      for (const m of net.members.values()) expect(m.node.status().leader).toBe(leader);
    }
  });

  it('the randomized election timeout falls in (E, 2E] ticks', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 200; seed++) {
      const storage = MemoryStorage.bootstrap({ voters: [toNodeId('a'), toNodeId('b')], learners: [] });
      const node = createRaftNode({ id: toNodeId('a'), electionTimeoutTicks: 5 }, { storage, prng: createSeededPrng(seed) });
      let ticks = 0;
      while (node.status().role === 'follower' && ticks < 100) {
        node.tick();
        ticks++;
      }
      seen.add(ticks);
    }
    expect(Math.min(...seen)).toBe(6);
    expect(Math.max(...seen)).toBe(10);
  });

  it('pre-vote runs first and does not change term or vote', () => {
    const net = TestNet.bootstrap(['a', 'b', 'c']);
    net.node('a').campaign();
    const s = net.node('a').status();
    expect(s.role).toBe('preCandidate');
    expect(s.term).toBe(1);
    expect(s.vote).toBeNull();
    const rd = net.node('a').ready();
    expect(rd.messages.map((m) => m.type)).toEqual(['requestPreVote', 'requestPreVote']);
    expect(rd.messages.every((m) => m.term === 2)).toBe(true);
  });

  it('a candidate that loses a majority of votes falls back to follower', () => {
    const net = electedNet(['a', 'b', 'c']);
    // b's log is behind (a replicates without b), so b cannot win even after a dies.
    net.isolate('b');
    net.proposeText('a', 'x');
    net.stabilize();
    net.heal();
    net.crash('a');
    net.tickAll(11); // b and c leave the lease window of a
    net.deliver(() => false);
    net.node('b').campaign();
    net.stabilize();
    expect(net.node('b').status().role).not.toBe('leader');
    expect(net.node('b').status().term).toBe(2);
  });

  it('a learner never campaigns', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.add('d');
    expect(net.node('a').proposeConfChange({ type: 'addLearner', nodeId: toNodeId('d') }).type).toBe('accepted');
    net.stabilize();
    net.crash('a');
    for (let i = 0; i < 50; i++) net.tick('d');
    expect(net.node('d').status().role).toBe('follower');
    expect(net.node('d').hasReady()).toBe(false);
  });

  it('a node that has not learned any configuration never campaigns', () => {
    const net = new TestNet();
    net.add('z');
    for (let i = 0; i < 50; i++) net.tick('z');
    expect(net.node('z').status().role).toBe('follower');
    net.node('z').campaign();
    expect(net.node('z').status().role).toBe('follower');
  });

  it('a leader elected with checkQuorum and preVote off still works', () => {
    const net = electedNet(['a', 'b', 'c'], { nodeOptions: { checkQuorum: false, preVote: false } });
    net.proposeText('a', 'x');
    net.stabilize();
    for (const id of ['a', 'b', 'c']) expect(net.get(id).applied).toEqual(['x']);
  });
});
