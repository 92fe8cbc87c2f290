// Proves the transport's defences on real loopback sockets: a wrong secret, a wrong or unknown id, a stalled handshake, oversized or malformed frames (before and after authentication) and oversized sends each fail alone — that connection is dropped, counted and logged, nothing from it is delivered, and the other peers keep working.
import { afterEach, describe, expect, it } from 'vitest';
import { PeerTransport, TransportMessageTooLargeError } from '../../cluster/transport/index.js';
import { PENDING_HANDSHAKES_MAX } from '../../cluster/transport/peer-transport.js';
import {
  SECRET,
  closeAll,
  encodeMsgpack,
  frameOf,
  rawAuthenticate,
  rawConnect,
  startCluster,
  startNode,
  waitFor,
} from './transport-support.js';
import type { RawClient, TestNode } from './transport-support.js';

let open: { t: PeerTransport }[] = [];
const raws: RawClient[] = [];
afterEach(async () => {
  for (const r of raws.splice(0)) r.socket.destroy();
  await closeAll(open);
  open = [];
});

/** n1 (dials) and n2 (accepts) connected, plus whatever else the test adds. */
async function pair(extra: { frameBytesMax?: number; handshakeTimeoutMs?: number } = {}): Promise<[TestNode, TestNode]> {
  const nodes = await startCluster(['n1', 'n2'], extra);
  open.push(...nodes);
  return nodes as [TestNode, TestNode];
}

/** n1 → n2 still works: a fresh message arrives. */
async function stillWorks(n1: TestNode, n2: TestNode): Promise<void> {
  const before = n2.received.length;
  n1.t.send('n2', 3, { still: 'working' });
  await waitFor(() => n2.received.length === before + 1, 3000, 'n1 → n2 still delivers');
}

describe('PeerTransport authentication', () => {
  it('refuses a node with the wrong secret in both directions; correct peers keep working', async () => {
    const [n1, n2] = await pair();
    const wrong = await startNode('n15', { clusterSecret: 'a-different-secret-of-32-chars!!' });
    open.push(wrong);
    // n1 dials n15 (n15 rejects n1's proof); n15 dials n2 (n2 rejects n15's proof).
    n1.t.addPeer('n15', `127.0.0.1:${wrong.port}`);
    wrong.t.addPeer('n1', `127.0.0.1:${n1.port}`);
    wrong.t.addPeer('n2', `127.0.0.1:${n2.port}`);
    n2.t.addPeer('n15', `127.0.0.1:${wrong.port}`);
    for (let i = 0; i < 5; i++) {
      n1.t.send('n15', 1, { secret: 'never delivered' });
      wrong.t.send('n1', 1, { from: 'impostor' });
      wrong.t.send('n2', 1, { from: 'impostor' });
    }
    await waitFor(() => wrong.t.stats().authFailures >= 1 && n2.t.stats().authFailures >= 1, 3000, 'auth failures on both sides');
    expect(n1.t.peerState('n15')).not.toBe('connected');
    expect(n2.t.peerState('n15')).not.toBe('connected');
    expect(wrong.received).toEqual([]);
    expect(n1.received.filter((r) => r.from === 'n15')).toEqual([]);
    expect(n2.received.filter((r) => r.from === 'n15')).toEqual([]);
    expect(n2.logger.lines.find((l) => l.msg === 'peer handshake failed; connection closed')?.obj).toMatchObject({
      peerId: 'n15',
      reason: expect.stringContaining('bad handshake MAC'),
    });
    // The secret never appears in logs.
    expect(JSON.stringify(n2.logger.lines)).not.toContain(SECRET);
    await stillWorks(n1, n2);
  });

  it('refuses unknown ids, misdirected hellos and dials from the side that should accept', async () => {
    const [n1, n2] = await pair();
    const attempts: [string, string][] = [
      ['zz', 'n2'], // not a configured peer
      ['n1', 'n9'], // hello addressed to another node
      ['n0', 'n2'], // unknown id that would sort first
    ];
    for (const [from, to] of attempts) {
      const raw = await rawConnect(n2.port);
      raws.push(raw);
      raw.socket.write(frameOf(encodeMsgpack({ t: 'hello', v: 1, from, to, nonce: Buffer.alloc(32, 1) })));
      await raw.closed;
    }
    // n1 should be dialed by... nobody: n2 may not dial n1 (n1 sorts first); a hello from n3 at n1 is refused.
    n1.t.addPeer('n3', '127.0.0.1:1');
    const raw = await rawConnect(n1.port);
    raws.push(raw);
    raw.socket.write(frameOf(encodeMsgpack({ t: 'hello', v: 1, from: 'n3', to: 'n1', nonce: Buffer.alloc(32, 1) })));
    await raw.closed;
    expect(n2.t.stats().authFailures).toBe(3);
    expect(n1.t.stats().authFailures).toBe(1);
    expect(n1.logger.lines.at(-1)?.obj['reason']).toContain('this node dials it');
    await stillWorks(n1, n2);
  });

  it('drops a connection whose handshake stalls, after handshakeTimeoutMs', async () => {
    const [n1, n2] = await pair({ handshakeTimeoutMs: 100 });
    const raw = await rawConnect(n2.port);
    raws.push(raw);
    const t0 = performance.now();
    await raw.closed;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(90);
    expect(n2.t.stats().authFailures).toBe(1);
    await stillWorks(n1, n2);
  });

  it('rejects an oversized or malformed handshake frame before authentication, without buffering it', async () => {
    const [n1, n2] = await pair();
    const huge = await rawConnect(n2.port);
    raws.push(huge);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(0xffff_fff0, 0); // announces ~4 GiB
    huge.socket.write(prefix);
    await huge.closed;
    const garbage = await rawConnect(n2.port);
    raws.push(garbage);
    garbage.socket.write(frameOf(Buffer.from([0xc1, 0xff, 0x00])));
    await garbage.closed;
    const early = await rawConnect(n2.port); // a data frame before any handshake
    raws.push(early);
    early.socket.write(frameOf(encodeMsgpack([[1, { sneaky: true }]])));
    await early.closed;
    expect(n2.t.stats().authFailures).toBe(3);
    expect(n2.logger.lines.filter((l) => l.level === 'warn').map((l) => l.obj['reason'])).toEqual([
      expect.stringContaining('above the limit of 2048'),
      expect.stringContaining('malformed handshake frame'),
      'expected a hello',
    ]);
    expect(n2.received).toEqual([]);
    await stillWorks(n1, n2);
  });
});

describe('PeerTransport inbound handshake bound', () => {
  it('refuses connections beyond the pending-handshake bound; established peers are unaffected', async () => {
    const [n1, n2] = await pair();
    const idle = await Promise.all([...Array(PENDING_HANDSHAKES_MAX).keys()].map(() => rawConnect(n2.port)));
    raws.push(...idle);
    const extra = await rawConnect(n2.port);
    raws.push(extra);
    await extra.closed;
    expect(n2.t.stats().inboundRejected).toBe(1);
    expect(idle.some((r) => r.isClosed())).toBe(false);
    await stillWorks(n1, n2);
  });
});

describe('PeerTransport frame checks after authentication', () => {
  const bad: [string, Buffer][] = [
    ['bad msgpack', Buffer.from([0x92, 0xd9])],
    ['trailing bytes', Buffer.concat([encodeMsgpack([]), Buffer.from([0x01])])],
    ['body not an array', encodeMsgpack({ a: 1 })],
    ['pair not a pair', encodeMsgpack([[1, { ok: true }], [2]])],
    ['negative group id', encodeMsgpack([[-1, { a: 1 }]])],
    ['group id above u32', encodeMsgpack([[2 ** 32, { a: 1 }]])],
    ['message not a map', encodeMsgpack([[1, [1, 2]]])],
  ];

  it('disconnects a peer for each malformed frame, delivers nothing from it, keeps serving others', async () => {
    const [n1, n2] = await pair();
    n2.t.addPeer('a0', '127.0.0.1:1'); // a0 sorts before n2, so it dials n2
    for (const [, body] of bad) {
      const raw = await rawAuthenticate(n2.port, 'a0', 'n2');
      raws.push(raw);
      // A good frame first, then the bad one: the good one is delivered, the bad one closes.
      raw.socket.write(Buffer.concat([frameOf(encodeMsgpack([[4, { good: true }]])), frameOf(body)]));
      await raw.closed;
    }
    const fromA0 = n2.received.filter((r) => r.from === 'a0');
    expect(fromA0.length).toBe(bad.length);
    expect(fromA0.every((r) => r.message['good'] === true && r.groupId === 4)).toBe(true);
    expect(n2.t.stats().peers['a0']?.framesRejected).toBe(bad.length);
    expect(n2.t.stats().authFailures).toBe(0);
    const reasons = n2.logger.lines.filter((l) => l.msg === 'peer sent a bad frame; connection closed').map((l) => String(l.obj['reason']));
    expect(reasons.length).toBe(bad.length);
    expect(reasons.every((r) => r.startsWith('malformed frame'))).toBe(true);
    await stillWorks(n1, n2);
  });

  it('disconnects an authenticated peer that announces a frame above frameBytesMax, without allocating it', async () => {
    const [n1, n2] = await pair({ frameBytesMax: 64 * 1024 });
    n2.t.addPeer('a0', '127.0.0.1:1');
    const raw = await rawAuthenticate(n2.port, 'a0', 'n2');
    raws.push(raw);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(64 * 1024 + 1, 0);
    const arrayBuffersBefore = process.memoryUsage().arrayBuffers;
    raw.socket.write(prefix);
    await raw.closed;
    expect(process.memoryUsage().arrayBuffers - arrayBuffersBefore).toBeLessThan(64 * 1024);
    expect(n2.t.stats().peers['a0']?.framesRejected).toBe(1);
    expect(n2.logger.lines.at(-2)?.obj['reason']).toContain('65537 bytes, above the limit of 65536');
    await stillWorks(n1, n2);
  });

  it('keeps delivering when the message handler throws, counting the errors', async () => {
    const [n1, n2] = await pair();
    const got: number[] = [];
    n2.t.onMessage((_from, groupId) => {
      if (groupId === 13) throw new Error('handler bug');
      got.push(groupId);
    });
    for (const g of [12, 13, 14]) n1.t.send('n2', g, {});
    await waitFor(() => got.length === 2, 3000, 'messages around the throwing one');
    expect(got).toEqual([12, 14]);
    expect(n2.t.stats().handlerErrors).toBe(1);
    expect(n2.t.peerState('n1')).toBe('connected');
  });
});

describe('PeerTransport.send limits', () => {
  it('rejects a message that cannot fit a frame with a typed error and sends nothing', async () => {
    const [n1, n2] = await pair({ frameBytesMax: 64 * 1024 });
    let error: unknown;
    try {
      n1.t.send('n2', 5, { data: new Uint8Array(64 * 1024) });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TransportMessageTooLargeError);
    expect(error).toMatchObject({ code: 'RL_ERR_BAD_REQUEST', retryable: false, peerId: 'n2', groupId: 5, messageBytesMax: 64 * 1024 - 5 });
    expect(n1.t.stats().peers['n2']?.queueMessages).toBe(0);
    // The largest message that fits goes through.
    const overhead = 1 + 5 + 1 + 5 + 5; // [g, {data: bin32}] framing: array, group id, map, key, bin header
    expect(n1.t.send('n2', 5, { data: new Uint8Array(64 * 1024 - 5 - overhead) })).toBe(true);
    await waitFor(() => n2.received.length === 1, 3000, 'largest message delivered');
  });

  it('validates its arguments', async () => {
    const [n1] = await pair();
    expect(() => n1.t.send('n1', 0, {})).toThrow(RangeError);
    expect(() => n1.t.send('n2', -1, {})).toThrow(/'groupId'/);
    expect(() => n1.t.send('n2', 1.5, {})).toThrow(RangeError);
    expect(() => n1.t.send('n2', 0, [1, 2])).toThrow(/plain object \(got an array\)/);
    expect(() => n1.t.send('n2', 0, new Date())).toThrow(/instance of Date/);
    expect(() => n1.t.send('n2', 0, { big: 2n ** 70n })).toThrow(/cannot be encoded/);
  });
});
