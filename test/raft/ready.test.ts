// Proves the Ready contract: what goes in messages vs messagesAfterPersist, that a new
// term or vote holds every message back until durable, mustSync, one outstanding Ready
// at a time, and that advance is what makes entries stable and applied.
import { describe, expect, it } from 'vitest';
import { toNodeId } from '../../raft/index.js';
import { TestNet, electedNet } from './support/net.js';

describe('Ready', () => {
  it('holds a candidate vote requests back until its term and vote are durable', () => {
    const net = TestNet.bootstrap(['a', 'b', 'c'], { nodeOptions: { preVote: false } });
    net.node('a').campaign();
    const rd = net.node('a').ready();
    expect(rd.hardState).toEqual({ term: 2, vote: 'a', commit: 1 });
    expect(rd.messages).toEqual([]);
    expect(rd.messagesAfterPersist.map((m) => m.type)).toEqual(['requestVote', 'requestVote']);
    expect(rd.mustSync).toBe(true);
  });

  it('lets pre-vote requests leave at once (they change no durable state)', () => {
    const net = TestNet.bootstrap(['a', 'b', 'c']);
    net.node('a').campaign();
    const rd = net.node('a').ready();
    expect(rd.hardState).toBeNull();
    expect(rd.messages.map((m) => m.type)).toEqual(['requestPreVote', 'requestPreVote']);
    expect(rd.mustSync).toBe(false);
  });

  it('a lone voter becomes leader only once its term and self-vote are durable', () => {
    const net = TestNet.bootstrap(['a']);
    const a = net.get('a');
    a.node.campaign();
    expect(a.node.status().role).toBe('candidate');
    const rd = a.node.ready();
    expect(rd.hardState).toEqual({ term: 2, vote: 'a', commit: 1 });
    expect(rd.softState?.role).toBe('candidate');
    a.storage.persist(rd);
    a.node.advance(rd);
    expect(a.node.status().role).toBe('leader');
    expect(a.node.ready().softState?.role).toBe('leader');
  });

  it('puts follower acknowledgements after persistence', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.proposeText('a', 'x');
    net.processReady('a');
    net.deliver((m) => m.to === 'b');
    const rd = net.node('b').ready();
    expect(rd.entries).toHaveLength(1);
    expect(rd.messages).toEqual([]);
    expect(rd.messagesAfterPersist.map((m) => m.type)).toEqual(['appendEntriesResponse']);
    expect(rd.mustSync).toBe(true);
  });

  it('reports soft state changes (leader and role) once', () => {
    const net = TestNet.bootstrap(['a', 'b', 'c']);
    const seen: string[] = [];
    net.node('a').campaign();
    for (let i = 0; i < 10; i++) {
      for (const id of ['a', 'b', 'c']) {
        const n = net.node(id);
        if (!n.hasReady()) continue;
        const rd = n.ready();
        if (rd.softState !== null && id === 'a') seen.push(`${rd.softState.role}:${String(rd.softState.leader)}`);
        net.get(id).storage.persist(rd);
        net.inflight.push(...rd.messages, ...rd.messagesAfterPersist);
        n.advance(rd);
      }
      net.deliver();
    }
    expect(seen).toEqual(['preCandidate:null', 'candidate:null', 'leader:a']);
  });

  it('allows one outstanding Ready: hasReady is false and ready() asserts until advance', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.proposeText('a', 'x');
    const rd = net.node('a').ready();
    net.proposeText('a', 'y');
    expect(net.node('a').hasReady()).toBe(false);
    expect(() => net.node('a').ready()).toThrow(/not advanced/);
    net.get('a').storage.persist(rd);
    net.node('a').advance(rd);
    expect(net.node('a').hasReady()).toBe(true);
    expect(net.node('a').ready().entries.map((e) => e.index)).toEqual([4]);
  });

  it('asserts when advance gets a Ready other than the last one', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.proposeText('a', 'x');
    const rd = net.node('a').ready();
    expect(() => net.node('a').advance({ ...rd })).toThrow(/not the Ready/);
  });

  it('hands committed entries out once, in order', () => {
    const net = electedNet(['a', 'b', 'c']);
    for (let i = 0; i < 5; i++) net.proposeText('a', `p${i}`);
    net.stabilize();
    expect(net.get('c').applied).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
    expect(net.get('c').appliedEntries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('rejects a message addressed to another node as a caller error', () => {
    const net = electedNet(['a', 'b', 'c']);
    expect(() =>
      net.node('a').step({ type: 'timeoutNow', from: toNodeId('b'), to: toNodeId('c'), term: 2 as never }),
    ).toThrow(RangeError);
  });

  it('rejects a malformed append (non-consecutive entries) before it touches the log', () => {
    const net = electedNet(['a', 'b', 'c']);
    const bad = {
      type: 'appendEntries' as const,
      from: toNodeId('a'),
      to: toNodeId('b'),
      term: 2 as never,
      prevLogIndex: 2 as never,
      prevLogTerm: 2 as never,
      commit: 2 as never,
      entries: [{ term: 2 as never, index: 4 as never, type: 'normal' as const, data: new Uint8Array(0) }],
    };
    expect(() => net.node('b').step(bad)).toThrow(/malformed/);
    expect(net.node('b').status().lastIndex).toBe(2);
  });

  it('drops messages of a term the node left before the Ready was taken (a grant never made durable)', () => {
    const net = TestNet.bootstrap(['a', 'b', 'c'], { nodeOptions: { preVote: false, checkQuorum: false } });
    const b = net.node('b');
    b.step({ type: 'requestVote', from: toNodeId('a'), to: toNodeId('b'), term: 2 as never, lastLogIndex: 1 as never, lastLogTerm: 1 as never, transfer: false });
    b.step({ type: 'requestVote', from: toNodeId('c'), to: toNodeId('b'), term: 3 as never, lastLogIndex: 1 as never, lastLogTerm: 1 as never, transfer: false });
    const rd = b.ready();
    expect(rd.hardState).toEqual({ term: 3, vote: 'c', commit: 1 });
    expect(rd.messagesAfterPersist.map((m) => `${m.type}:${m.to}:${m.term}`)).toEqual(['requestVoteResponse:c:3']);
  });
});
