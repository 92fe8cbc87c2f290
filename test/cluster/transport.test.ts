// Proves the peer transport's normal path on real loopback sockets: coalescing (one frame per peer per turn), per-peer order, reconnect with backoff after restarts, connection replacement, runtime peer changes, and a close() that leaves no handles.
import { afterEach, describe, expect, it } from 'vitest';
import { PeerTransport, reconnectDelayMs } from '../../cluster/transport/index.js';
import type { PeerState } from '../../cluster/transport/index.js';
import { createSeededPrng } from '../../raft/prng.js';
import { SECRET, closeAll, rawAuthenticate, rawConnect, startCluster, startNode, waitFor } from './transport-support.js';
import type { TestNode } from './transport-support.js';

let open: { t: PeerTransport }[] = [];
afterEach(async () => {
  await closeAll(open);
  open = [];
});

describe('PeerTransport between three nodes', () => {
  it('delivers every group’s messages in order, one frame per peer per turn', async () => {
    const nodes = await startCluster(['n1', 'n2', 'n3']);
    open = nodes;
    const [n1, n2, n3] = nodes as [TestNode, TestNode, TestNode];
    const before = n2.t.stats().peers['n1']?.framesReceived ?? -1;

    // One synchronous burst: 10 groups × 5 messages to each of two peers, and replies the other way.
    const sent: Record<string, { g: number; i: number }[]> = { n2: [], n3: [] };
    for (let i = 0; i < 5; i++) {
      for (let g = 0; g < 10; g++) {
        for (const to of ['n2', 'n3'] as const) {
          expect(n1.t.send(to, g, { type: 'heartbeat', term: 3, g, i, data: new Uint8Array([g, i]) })).toBe(true);
          sent[to]?.push({ g, i });
        }
      }
    }
    n3.t.send('n1', 0, { type: 'heartbeatResponse', from: 'n3' });
    n3.t.send('n2', 1, { type: 'heartbeatResponse', from: 'n3' });

    await waitFor(() => n2.received.length === 51 && n3.received.length === 50 && n1.received.length === 1, 3000, 'all delivered');
    for (const [node, to] of [[n2, 'n2'], [n3, 'n3']] as const) {
      const fromN1 = node.received.filter((r) => r.from === 'n1');
      expect(fromN1.map((r) => ({ g: r.groupId, i: r.message['i'] }))).toEqual(sent[to]);
      expect(fromN1.every((r) => r.message['g'] === r.groupId)).toBe(true);
      expect(Buffer.from(fromN1[7]?.message['data'] as Uint8Array)).toEqual(Buffer.from([7, 0]));
    }
    // 50 messages in one turn to n2 arrived in exactly one frame.
    expect((n2.t.stats().peers['n1']?.framesReceived ?? 0) - before).toBe(1);
    expect(n1.t.stats().peers['n2']).toMatchObject({ framesSent: 1, messagesSent: 50, queueBytes: 0, queueMessages: 0, messagesDropped: 0 });
    expect(n1.received[0]).toMatchObject({ from: 'n3', groupId: 0 });
    expect(n2.received.find((r) => r.from === 'n3')).toMatchObject({ groupId: 1 });

    // The next turn's messages go out as a second frame.
    n1.t.send('n2', 5, { type: 'x' });
    await waitFor(() => n2.received.length === 52, 3000, 'second turn delivered');
    expect(n2.t.stats().peers['n1']?.framesReceived).toBe(before + 2);
  });

  it('exactly one connection per pair: the smaller id dials', async () => {
    const nodes = await startCluster(['n1', 'n2', 'n3']);
    open = nodes;
    const [n1, n2, n3] = nodes as [TestNode, TestNode, TestNode];
    expect(n1.t.stats().peers['n2']?.dials).toBe(true);
    expect(n2.t.stats().peers['n1']?.dials).toBe(false);
    expect(n3.t.stats().peers['n2']?.dials).toBe(false);
    for (const n of open) for (const p of Object.values(n.t.stats().peers)) expect(p.connects).toBe(1);
  });

  it('holds messages sent before the connection is up and delivers them after', async () => {
    const b = await startNode('b', { peers: { a: '127.0.0.1:1' } });
    const a = new PeerTransport({ nodeId: 'a', listenHost: '127.0.0.1', listenPort: 0, peers: { b: `127.0.0.1:${b.port}` }, clusterSecret: SECRET });
    open.push(b, { t: a });
    for (let i = 0; i < 20; i++) a.send('b', i % 3, { i });
    await a.start();
    await waitFor(() => b.received.length === 20, 3000, 'early messages delivered');
    expect(b.received.map((r) => r.message['i'])).toEqual([...Array(20).keys()]);
  });
});

describe('PeerTransport restarts', () => {
  it('redials a restarted acceptor with jittered exponential backoff, then messages flow again', async () => {
    const min = 20;
    const max = 160;
    const seed = 7;
    const b = await startNode('b', { peers: { a: '127.0.0.1:1' } });
    const aNode = await startNode(
      'a',
      { peers: { b: `127.0.0.1:${b.port}` }, reconnectDelayMsMin: min, reconnectDelayMsMax: max },
      { prng: createSeededPrng(seed) },
    );
    open.push(aNode);
    const a = aNode.t;
    const transitions: { state: PeerState; atMs: number }[] = [];
    a.onPeerState((peer, state) => {
      if (peer === 'b') transitions.push({ state, atMs: performance.now() });
    });
    await waitFor(() => a.peerState('b') === 'connected', 3000, 'a connected to b');

    await b.t.close();
    // Let a fail several dials against the closed port.
    await waitFor(() => (a.stats().peers['b']?.reconnects ?? 0) >= 4, 5000, 'a retried 4 times');
    const b2 = await startNode('b', { listenPort: b.port, peers: { a: `127.0.0.1:${aNode.port}` } });
    open.push(b2);
    await waitFor(() => a.peerState('b') === 'connected' && b2.t.peerState('a') === 'connected', 5000, 'reconnected');
    a.send('b', 9, { after: 'restart' });
    await waitFor(() => b2.received.length === 1, 3000, 'message after restart');
    expect(b2.received[0]).toMatchObject({ from: 'a', groupId: 9, message: { after: 'restart' } });

    // Each backoff lasted at least the delay the seeded PRNG dictates (the only draws on this
    // PRNG are backoff delays for b), and never far more.
    const reference = createSeededPrng(seed);
    const gaps: { expected: number; observed: number }[] = [];
    let attempt = 0;
    for (let i = 0; i + 1 < transitions.length; i++) {
      const t = transitions[i];
      const next = transitions[i + 1];
      if (t?.state !== 'backoff' || next === undefined) continue;
      const expected = reconnectDelayMs(attempt++, min, max, reference);
      gaps.push({ expected, observed: next.atMs - t.atMs });
    }
    const reconnects = a.stats().peers['b']?.reconnects ?? 0;
    expect(gaps.length).toBe(reconnects);
    expect(reconnects).toBeGreaterThanOrEqual(4);
    for (const { expected, observed } of gaps) {
      expect(observed).toBeGreaterThanOrEqual(expected - 2); // timers round to the ms
      expect(observed).toBeLessThan(expected + 1000); // a loaded machine may fire late, not never
    }
    // The bands double: the delays are at least min, 2·min, 4·min, ... up to max/2.
    gaps.forEach(({ expected }, k) => expect(expected).toBeGreaterThanOrEqual(Math.min(max / 2, min * 2 ** k)));
  });

  it('accepts a restarted dialer, and a new authenticated connection replaces the old one', async () => {
    const b = await startNode('b', { peers: { a: '127.0.0.1:1' } });
    open.push(b);
    // An old connection from "a" (e.g. half-open after a crash), authenticated by hand.
    const stale = await rawAuthenticate(b.port, 'a', 'b');
    await waitFor(() => b.t.peerState('a') === 'connected', 3000, 'stale a connected');

    const a = await startNode('a', { peers: { b: `127.0.0.1:${b.port}` } });
    open.push(a);
    await stale.closed; // b dropped the old connection for the new one
    await waitFor(() => a.t.peerState('b') === 'connected', 3000, 'a connected');
    expect(b.t.stats().peers['a']?.connects).toBe(2);
    expect(b.logger.lines.some((l) => l.msg === 'peer connection replaced')).toBe(true);
    b.t.send('a', 1, { hello: 'new' });
    await waitFor(() => a.received.length === 1, 3000, 'delivered on the new connection');
  });
});

describe('PeerTransport keepalive', () => {
  it('keeps idle connections up with empty frames and drops a peer that goes silent', async () => {
    const timing = { keepaliveIntervalMs: 20, idleTimeoutMs: 100 };
    const nodes = await startCluster(['n1', 'n2'], timing);
    open = nodes;
    const [n1, n2] = nodes as [TestNode, TestNode];
    n2.t.addPeer('a0', '127.0.0.1:1');
    const silent = await rawAuthenticate(n2.port, 'a0', 'n2'); // authenticates, then never sends
    const keepalives: unknown[] = [];
    // Bounded: the connection closes after idleTimeoutMs; each frame is one keepalive.
    for (let i = 0; i < 100; i++) {
      const value = await silent.nextValue(2000).catch(() => null);
      if (value === null) break;
      keepalives.push(value);
    }
    await silent.closed;
    expect(keepalives.length).toBeGreaterThanOrEqual(2);
    expect(keepalives.every((v) => Array.isArray(v) && v.length === 0)).toBe(true);
    const line = n2.logger.lines.find((l) => l.msg === 'peer disconnected' && l.obj['peerId'] === 'a0');
    expect(line?.obj['reason']).toContain('nothing received for 100 ms');
    // Meanwhile the idle n1–n2 connection lived on: no reconnect, and keepalives are not counted as traffic.
    expect(n1.t.stats().peers['n2']).toMatchObject({ state: 'connected', connects: 1, framesSent: 0, framesReceived: 0 });
    expect(n2.t.stats().peers['n1']).toMatchObject({ state: 'connected', connects: 1 });
  });
});

describe('PeerTransport peer set changes', () => {
  it('addPeer, updatePeerAddress and removePeer take effect at runtime', async () => {
    const a = await startNode('a');
    const b = await startNode('b');
    const c = await startNode('c');
    open.push(a, b, c);
    b.t.addPeer('a', `127.0.0.1:${a.port}`);
    a.t.addPeer('b', '127.0.0.1:1'); // wrong port first: a keeps retrying
    await waitFor(() => (a.t.stats().peers['b']?.reconnects ?? 0) >= 1, 3000, 'a retrying');
    a.t.updatePeerAddress('b', `127.0.0.1:${b.port}`);
    await waitFor(() => a.t.peerState('b') === 'connected', 3000, 'a connected after address update');

    a.t.removePeer('b');
    expect(a.t.peerState('b')).toBeUndefined();
    expect(a.t.send('b', 0, { x: 1 })).toBe(false);
    expect(a.t.stats().messagesDroppedUnknownPeer).toBe(1);
    await waitFor(() => b.t.peerState('a') === 'connecting', 3000, 'b sees a gone');

    a.t.addPeer('c', `127.0.0.1:${c.port}`);
    c.t.addPeer('a', `127.0.0.1:${a.port}`);
    await waitFor(() => a.t.peerState('c') === 'connected', 3000, 'a connected to c');
    expect(() => a.t.addPeer('c', '127.0.0.1:2')).toThrow(RangeError);
    expect(() => a.t.removePeer('zz')).toThrow(RangeError);
    expect(() => a.t.addPeer('a', '127.0.0.1:2')).toThrow(/own id/);
    expect(() => a.t.updatePeerAddress('c', 'nope')).toThrow(TypeError);
  });
});

describe('PeerTransport.close', () => {
  it('releases every socket and timer, even with peers in backoff and handshakes pending', async () => {
    const types = (): string[] => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP') || r === 'Timeout');
    const baseline = types().length;
    const nodes = await startCluster(['n1', 'n2', 'n3'], { reconnectDelayMsMin: 1000, reconnectDelayMsMax: 2000 });
    nodes[0]?.t.addPeer('n9', '127.0.0.1:1'); // stays in backoff
    open = nodes;
    const pending = await rawConnect(nodes[1]?.port ?? 0); // handshake never done
    await waitFor(() => nodes[0]?.t.peerState('n9') === 'backoff', 3000, 'n9 in backoff');
    for (let i = 0; i < 100; i++) nodes[0]?.t.send('n2', i, { i }); // a flush is scheduled
    await closeAll(nodes);
    await pending.closed;
    await waitFor(() => types().length <= baseline, 3000, 'handles released');
    expect(types().length).toBeLessThanOrEqual(baseline);
    expect(nodes[0]?.t.send('n2', 0, {})).toBe(false);
    await nodes[0]?.t.close(); // idempotent
  });
});
