// Proves a peer that stops reading cannot grow the sender's memory: on real sockets, with a raw peer that authenticates and then pauses, the queue stays within its byte and message bounds, the socket buffer within one frame, excess messages are dropped and counted, other peers keep flowing, and the queue drains when the peer reads again.
import { afterEach, describe, expect, it } from 'vitest';
import type { PeerTransport } from '../../cluster/transport/index.js';
import { closeAll, nextTurn, rawAuthenticate, startCluster, waitFor } from './transport-support.js';
import type { RawClient, TestNode } from './transport-support.js';

let open: { t: PeerTransport }[] = [];
const raws: RawClient[] = [];
afterEach(async () => {
  for (const r of raws.splice(0)) r.socket.destroy();
  await closeAll(open);
  open = [];
});

const KiB = 1024;
const frameBytesMax = 64 * KiB;
const sendQueueBytesMax = 256 * KiB;
const sendQueueMessagesMax = 1000;
/** Node's default writable high-water mark: the socket takes frames until it buffers this much. */
const SOCKET_HIGH_WATER_BYTES = 16 * KiB;
/** Turns to keep sending after the first drop (the bound must hold under sustained pressure). */
const TURNS_AFTER_FIRST_DROP = 50;
/** Hard cap on turns: loopback kernel buffers absorb a few MiB at most, far less than this sends. */
const TURNS_MAX = 2000;

describe('PeerTransport backpressure', () => {
  it('bounds memory for a peer that stops reading, drops and counts the excess, and recovers', async () => {
    const nodes = await startCluster(['n1', 'n2'], { frameBytesMax, sendQueueBytesMax, sendQueueMessagesMax });
    open = nodes;
    const [n1, n2] = nodes as [TestNode, TestNode];
    n1.t.addPeer('a0', '127.0.0.1:1'); // a0 sorts before n1, so it dials n1
    const slow = await rawAuthenticate(n1.port, 'a0', 'n1');
    raws.push(slow);
    await waitFor(() => n1.t.peerState('a0') === 'connected', 3000, 'a0 connected');
    slow.socket.pause(); // stops reading: kernel buffers fill, then the socket, then the queue

    const payload = new Uint8Array(KiB);
    let turns = 0;
    let turnsSinceDrop = -1;
    let accepted = 0;
    let peakQueueBytes = 0;
    let peakQueueMessages = 0;
    let peakSocketBytes = 0;
    // Bounded by TURNS_MAX.
    while (turns < TURNS_MAX && turnsSinceDrop < TURNS_AFTER_FIRST_DROP) {
      for (let i = 0; i < 200; i++) if (n1.t.send('a0', i % 16, { type: 'appendEntries', data: payload })) accepted += 1;
      n1.t.send('n2', 1, { turn: turns }); // a healthy peer on the same transport
      const s = n1.t.stats().peers['a0'];
      if (s === undefined) throw new Error('a0 vanished');
      peakQueueBytes = Math.max(peakQueueBytes, s.queueBytes);
      peakQueueMessages = Math.max(peakQueueMessages, s.queueMessages);
      peakSocketBytes = Math.max(peakSocketBytes, s.socketBufferedBytes);
      if (s.messagesDropped > 0 && turnsSinceDrop < 0) turnsSinceDrop = 0;
      if (turnsSinceDrop >= 0) turnsSinceDrop += 1;
      turns += 1;
      await nextTurn(); // the flush runs, the socket takes what it can
    }
    const stalled = n1.t.stats().peers['a0'];
    expect(turnsSinceDrop).toBe(TURNS_AFTER_FIRST_DROP);
    expect(peakQueueBytes).toBeLessThanOrEqual(sendQueueBytesMax);
    expect(peakQueueMessages).toBeLessThanOrEqual(sendQueueMessagesMax);
    // What the socket holds beyond the kernel: under the high-water mark plus one frame.
    expect(peakSocketBytes).toBeLessThan(SOCKET_HIGH_WATER_BYTES + frameBytesMax + 4);
    expect(stalled?.messagesDropped).toBeGreaterThan(0);
    expect(stalled?.messagesDropped).toBe(turns * 200 - accepted);
    expect(stalled?.state).toBe('connected'); // slow is not dead: no disconnect
    // The healthy peer got every per-turn message despite its neighbour's stall.
    await waitFor(() => n2.received.length === turns, 3000, 'n2 kept receiving');

    // The peer reads again: everything queued drains and arrives.
    slow.discardIncoming();
    slow.socket.resume();
    await waitFor(() => (n1.t.stats().peers['a0']?.queueBytes ?? -1) === 0, 5000, 'queue drained');
    const drained = n1.t.stats().peers['a0'];
    expect(drained?.messagesSent).toBe(accepted);
    await waitFor(() => slow.bytesDiscarded() === drained?.bytesSent, 5000, 'every sent byte arrived');
  });
});
