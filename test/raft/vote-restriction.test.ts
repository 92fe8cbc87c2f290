// Proves the election restriction (Raft 5.4.1) compares last log term first, then last
// log index, with regressions for both known vote-check bugs: granting on log length
// alone, and comparing only the last term.
import { describe, expect, it } from 'vitest';
import { createRaftNode, createSeededPrng, toLogIndex, toNodeId, toTerm } from '../../raft/index.js';
import type { Message, RaftNode } from '../../raft/index.js';
import { storageWithLog } from './support/net.js';

const V = toNodeId('v');
const C = toNodeId('c');

/** A voter whose log holds entries with `terms` (index 1 is term 1), at `term`. */
function voter(terms: readonly number[], term: number): RaftNode {
  const storage = storageWithLog(['v', 'c', 'x'], terms, term);
  // Check-quorum off: the restart guard would otherwise ignore the request (tested elsewhere).
  return createRaftNode({ id: V, checkQuorum: false }, { storage, prng: createSeededPrng(1) });
}

function askVote(node: RaftNode, term: number, lastLogIndex: number, lastLogTerm: number, preVote = false): boolean {
  const base = { from: C, to: V, term: toTerm(term), lastLogIndex: toLogIndex(lastLogIndex), lastLogTerm: toTerm(lastLogTerm) };
  const msg: Message = preVote ? { ...base, type: 'requestPreVote' } : { ...base, type: 'requestVote', transfer: false };
  node.step(msg);
  const rd = node.ready();
  node.advance(rd);
  const resp = rd.messagesAfterPersist.find((m) => m.type === (preVote ? 'requestPreVoteResponse' : 'requestVoteResponse'));
  if (resp === undefined || (resp.type !== 'requestVoteResponse' && resp.type !== 'requestPreVoteResponse')) throw new Error('no vote response');
  return resp.granted;
}

describe('vote restriction', () => {
  // Voter log: 1/1 2/1 3/2 (last term 2, last index 3).
  const log = [1, 1, 2];

  it('rejects a longer log whose last term is older (regression: granting on length alone)', () => {
    expect(askVote(voter(log, 2), 3, 10, 1)).toBe(false);
  });

  it('rejects a shorter log with the same last term (regression: comparing only terms)', () => {
    expect(askVote(voter(log, 2), 3, 2, 2)).toBe(false);
  });

  it('grants a shorter log whose last term is newer', () => {
    expect(askVote(voter(log, 2), 4, 2, 3)).toBe(true);
  });

  it('grants an equal log', () => {
    expect(askVote(voter(log, 2), 3, 3, 2)).toBe(true);
  });

  it('grants a longer log with the same last term', () => {
    expect(askVote(voter(log, 2), 3, 5, 2)).toBe(true);
  });

  it('applies the same restriction to pre-votes, without changing term or vote', () => {
    const node = voter(log, 2);
    expect(askVote(node, 3, 10, 1, true)).toBe(false);
    expect(askVote(node, 3, 2, 2, true)).toBe(false);
    expect(askVote(node, 3, 3, 2, true)).toBe(true);
    expect(node.status().term).toBe(2);
    expect(node.status().vote).toBeNull();
  });

  it('grants at most one vote per term', () => {
    const node = voter(log, 2);
    expect(askVote(node, 3, 3, 2)).toBe(true);
    const other = toNodeId('x');
    node.step({ type: 'requestVote', from: other, to: V, term: toTerm(3), lastLogIndex: toLogIndex(9), lastLogTerm: toTerm(9), transfer: false });
    const rd = node.ready();
    const resp = rd.messagesAfterPersist[0];
    expect(resp?.type === 'requestVoteResponse' && resp.granted).toBe(false);
    expect(node.status().vote).toBe('c');
  });

  it('persists the vote before the grant may leave (grant is in messagesAfterPersist, vote in hardState)', () => {
    const node = voter(log, 2);
    node.step({ type: 'requestVote', from: C, to: V, term: toTerm(3), lastLogIndex: toLogIndex(3), lastLogTerm: toTerm(2), transfer: false });
    const rd = node.ready();
    expect(rd.messages).toEqual([]);
    expect(rd.hardState).toEqual({ term: 3, vote: 'c', commit: 1 });
    expect(rd.mustSync).toBe(true);
  });
});
