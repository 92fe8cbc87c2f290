// Proves log replication and its flow control: probe sends one append at a time,
// replicate pipelines up to inflightMessagesMax / inflightBytesMax, appends are batched
// up to appendBytesMax, uncommitted bytes are capped with a typed drop, committed entries
// per Ready are capped, rejections rewind to probe, and lost messages are recovered.
import { describe, expect, it } from 'vitest';
import { ENTRY_HEADER_BYTES, toNodeId } from '../../raft/index.js';
import type { AppendEntriesMessage, Message } from '../../raft/index.js';
import { Inflights } from '../../raft/progress.js';
import { bytes, electedNet } from './support/net.js';

function appendsTo(msgs: readonly Message[], to: string): AppendEntriesMessage[] {
  return msgs.filter((m): m is AppendEntriesMessage => m.type === 'appendEntries' && m.to === to);
}

describe('Inflights', () => {
  it('is full at the message limit and frees acknowledged messages in order', () => {
    const w = new Inflights(3, 1_000);
    w.add(5, 10);
    w.add(7, 10);
    w.add(9, 10);
    expect(w.full()).toBe(true);
    w.freeLE(7);
    expect(w.count).toBe(1);
    expect(w.bytes).toBe(10);
    expect(w.full()).toBe(false);
    w.add(12, 10);
    w.add(13, 10);
    expect(w.full()).toBe(true);
    w.freeLE(100);
    expect(w.count).toBe(0);
  });

  it('is full at the byte limit', () => {
    const w = new Inflights(100, 50);
    w.add(1, 30);
    expect(w.full()).toBe(false);
    w.add(2, 30);
    expect(w.full()).toBe(true);
  });

  it('rejects an index that does not increase (broken invariant)', () => {
    const w = new Inflights(4, 100);
    w.add(5, 1);
    expect(() => w.add(5, 1)).toThrow(/not after/);
  });
});

describe('replication', () => {
  it('commits a proposal on a quorum and applies it everywhere', () => {
    const net = electedNet(['a', 'b', 'c']);
    expect(net.proposeText('a', 'x')).toEqual({ type: 'accepted', index: 3, term: 2 });
    net.stabilize();
    for (const id of ['a', 'b', 'c']) expect(net.get(id).applied).toEqual(['x']);
  });

  it('batches every proposal made since the last Ready into one append per follower', () => {
    const net = electedNet(['a', 'b', 'c']);
    for (let i = 0; i < 10; i++) net.proposeText('a', `p${i}`);
    const rd = net.node('a').ready();
    const toB = appendsTo(rd.messages, 'b');
    expect(toB).toHaveLength(1);
    expect(toB[0]?.entries).toHaveLength(10);
  });

  it('sends a leader append in `messages`, before its own entries are durable', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.proposeText('a', 'x');
    const rd = net.node('a').ready();
    expect(rd.entries).toHaveLength(1);
    expect(appendsTo(rd.messages, 'b')).toHaveLength(1);
    expect(rd.messagesAfterPersist).toEqual([]);
  });

  it('does not count the leader towards commit before advance reports its entries durable', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.proposeText('a', 'x');
    const a = net.get('a');
    const rd = a.node.ready();
    net.inflight.push(...rd.messages);
    net.deliver();
    // Only b acknowledges; without a's own durable copy there is no quorum yet.
    net.processReady('b');
    net.deliver((m) => m.to === 'a' && m.from === 'b');
    expect(a.node.status().commit).toBe(2);
    a.storage.persist(rd);
    a.node.advance(rd);
    expect(a.node.status().commit).toBe(3);
  });

  it('splits appends at appendBytesMax', () => {
    const net = electedNet(['a', 'b', 'c'], { nodeOptions: { appendBytesMax: 3 * (ENTRY_HEADER_BYTES + 4) } });
    for (let i = 0; i < 7; i++) net.proposeText('a', `p00${i}`);
    const rd = net.node('a').ready();
    expect(appendsTo(rd.messages, 'b').map((m) => m.entries.length)).toEqual([3, 3, 1]);
  });

  it('stops at inflightMessagesMax unacknowledged appends in replicate state', () => {
    const net = electedNet(['a', 'b', 'c'], { nodeOptions: { inflightMessagesMax: 2, appendBytesMax: 1 } });
    for (let i = 0; i < 5; i++) net.proposeText('a', `p${i}`);
    const rd = net.node('a').ready();
    expect(appendsTo(rd.messages, 'b').map((m) => m.entries.length)).toEqual([1, 1]);
    expect(net.node('a').status().progress.get(toNodeId('b'))?.inflightMessages).toBe(2);
  });

  it('stops at inflightBytesMax unacknowledged bytes in replicate state', () => {
    const entryBytes = ENTRY_HEADER_BYTES + 2;
    const net = electedNet(['a', 'b', 'c'], { nodeOptions: { inflightBytesMax: 3 * entryBytes, appendBytesMax: 1 } });
    for (let i = 0; i < 6; i++) net.proposeText('a', `p${i}`);
    const rd = net.node('a').ready();
    expect(appendsTo(rd.messages, 'b')).toHaveLength(3);
  });

  it('resumes a full window once acknowledgements arrive, and replicates everything', () => {
    const net = electedNet(['a', 'b', 'c'], { nodeOptions: { inflightMessagesMax: 2, appendBytesMax: 1 } });
    for (let i = 0; i < 20; i++) net.proposeText('a', `p${i}`);
    net.stabilize();
    expect(net.get('b').applied).toHaveLength(20);
  });

  it('recovers appends lost in a partition once a heartbeat reveals the gap', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.isolate('c');
    for (let i = 0; i < 3; i++) {
      net.proposeText('a', `p${i}`);
      net.stabilize();
    }
    net.heal();
    net.tick('a');
    net.stabilize();
    expect(net.get('c').applied).toEqual(['p0', 'p1', 'p2']);
    expect(net.node('a').status().progress.get(toNodeId('c'))?.state).toBe('replicate');
  });

  it('sends one append at a time to a follower in probe state', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.add('d');
    net.node('a').proposeConfChange({ type: 'addLearner', nodeId: toNodeId('d') });
    net.processReady('a');
    net.inflight = [];
    expect(net.node('a').status().progress.get(toNodeId('d'))?.state).toBe('probe');
    net.proposeText('a', 'x');
    expect(appendsTo(net.node('a').ready().messages, 'd')).toHaveLength(0);
  });

  it('moves a follower that rejects from replicate to probe and repairs it', () => {
    const net = electedNet(['a', 'b', 'c']);
    net.proposeText('a', 'x');
    net.processReady('a');
    // The append to c is lost; the next one has a gap and is rejected.
    net.inflight = net.inflight.filter((m) => m.to !== 'c');
    net.deliver();
    net.proposeText('a', 'y');
    net.processAll();
    net.deliver();
    net.processAll();
    expect(net.inflight.some((m) => m.type === 'appendEntriesResponse' && m.reject && m.from === 'c')).toBe(true);
    net.stabilize();
    expect(net.get('c').applied).toEqual(['x', 'y']);
  });

  it('drops proposals beyond uncommittedBytesMax with a typed result, and accepts again once committed', () => {
    const net = electedNet(['a', 'b', 'c'], { nodeOptions: { uncommittedBytesMax: 3 * (ENTRY_HEADER_BYTES + 1) } });
    net.isolate('a');
    const results = [0, 1, 2, 3].map(() => net.node('a').propose(bytes('z')).type);
    expect(results).toEqual(['accepted', 'accepted', 'accepted', 'dropped']);
    const dropped = net.node('a').propose(bytes('z'));
    expect(dropped).toMatchObject({ type: 'dropped', reason: 'uncommittedBytesMax' });
    net.heal();
    net.stabilize();
    expect(net.node('a').propose(bytes('z')).type).toBe('accepted');
  });

  it('accepts one entry larger than uncommittedBytesMax when nothing is uncommitted', () => {
    const net = electedNet(['a', 'b', 'c'], { nodeOptions: { uncommittedBytesMax: 10 } });
    expect(net.node('a').propose(new Uint8Array(100)).type).toBe('accepted');
    expect(net.node('a').propose(new Uint8Array(1)).type).toBe('dropped');
  });

  it('caps committedEntries per Ready at committedBytesMax and hands out the rest later', () => {
    const entryBytes = ENTRY_HEADER_BYTES + 2;
    const net = electedNet(['a', 'b', 'c'], { nodeOptions: { committedBytesMax: 2 * entryBytes } });
    for (let i = 0; i < 5; i++) net.proposeText('a', `p${i}`);
    const sizes: number[] = [];
    const b = net.get('b');
    for (let round = 0; round < 50; round++) {
      for (const id of ['a', 'c']) net.processReady(id);
      if (b.node.hasReady()) {
        const rd = b.node.ready();
        b.storage.persist(rd);
        net.inflight.push(...rd.messages, ...rd.messagesAfterPersist);
        if (rd.committedEntries.length > 0) sizes.push(rd.committedEntries.length);
        b.node.advance(rd);
      }
      net.deliver();
    }
    expect(sizes.every((n) => n <= 2)).toBe(true);
    expect(sizes.reduce((x, y) => x + y, 0)).toBe(5);
  });

});
