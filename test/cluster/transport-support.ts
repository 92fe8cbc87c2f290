/**
 * Helpers for the transport tests: condition waits, transport clusters on ephemeral
 * loopback ports, a recording logger, and a raw client that speaks the wire protocol by
 * hand (its own msgpack and HMAC code, written from docs/transport.md, so the tests check
 * the documented format rather than the implementation against itself).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { Packr, Unpackr } from 'msgpackr';
import { PeerTransport } from '../../cluster/transport/index.js';
import type { ReceivedMessage, TransportDeps, TransportLogger, TransportOptions } from '../../cluster/transport/index.js';

export const SECRET = 'test-cluster-secret-0123456789';

/**
 * Resolves once `cond()` is true; polls every 5 ms (a wait on a condition, not a sleep).
 * @throws Error naming `what` after `timeoutMs`.
 */
export async function waitFor(cond: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // Bounded by the deadline.
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`waitFor: ${what} not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Yields to the event loop once (lets a setImmediate flush run). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly obj: Record<string, unknown>;
}

export function recordingLogger(): TransportLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', msg, obj }),
    warn: (obj, msg) => lines.push({ level: 'warn', msg, obj }),
    error: (obj, msg) => lines.push({ level: 'error', msg, obj }),
  };
}

export interface Received {
  readonly from: string;
  readonly groupId: number;
  readonly message: ReceivedMessage;
}

/** A started transport plus everything it received. */
export interface TestNode {
  readonly t: PeerTransport;
  readonly port: number;
  readonly received: Received[];
  readonly logger: ReturnType<typeof recordingLogger>;
}

type Extra = Partial<Omit<TransportOptions, 'nodeId' | 'listenHost' | 'peers'>> & { peers?: Record<string, string> };

export async function startNode(nodeId: string, extra: Extra = {}, deps: TransportDeps = {}): Promise<TestNode> {
  const logger = recordingLogger();
  const t = new PeerTransport(
    { nodeId, listenHost: '127.0.0.1', listenPort: 0, peers: {}, clusterSecret: SECRET, ...extra },
    { logger, ...deps },
  );
  const received: Received[] = [];
  t.onMessage((from, groupId, message) => received.push({ from, groupId, message }));
  const { port } = await t.start();
  return { t, port, received, logger };
}

/** Starts transports with the given ids and connects every pair through `addPeer`. */
export async function startCluster(ids: readonly string[], extra: Extra = {}): Promise<TestNode[]> {
  const nodes = await Promise.all(ids.map((id) => startNode(id, extra)));
  for (const a of nodes) for (const b of nodes) if (a !== b) a.t.addPeer(b.t.nodeId, `127.0.0.1:${b.port}`);
  await waitFor(() => nodes.every((n) => Object.values(n.t.stats().peers).every((p) => p.state === 'connected')), 5000, 'cluster connected');
  return nodes;
}

export async function closeAll(nodes: readonly { t: PeerTransport }[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.t.close()));
}

// ---------------------------------------------------------------------------------------
// Raw wire client
// ---------------------------------------------------------------------------------------

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false });

/** A frame: 4-byte big-endian length, then the body. */
export function frameOf(body: Uint8Array): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(body.length, 0);
  return Buffer.concat([prefix, body]);
}

export function encodeMsgpack(value: unknown): Buffer {
  return packr.pack(value);
}

function macField(value: string | Uint8Array): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length, 0);
  return Buffer.concat([length, bytes]);
}

/** HMAC-SHA256 over label, role, self, peer, own nonce, peer nonce, each u16-length-prefixed. */
export function specMac(secret: string, role: 'dialer' | 'acceptor', self: string, peer: string, ownNonce: Uint8Array, peerNonce: Uint8Array): Buffer {
  const h = createHmac('sha256', Buffer.from(secret, 'utf8'));
  for (const part of ['rl-transport-handshake-v1', role, self, peer, ownNonce, peerNonce]) h.update(macField(part));
  return h.digest();
}

/** A raw TCP client with a frame-reading helper. */
export interface RawClient {
  readonly socket: Socket;
  /** Resolves with the next frame body's decoded value. */
  nextValue(timeoutMs?: number): Promise<unknown>;
  /** Resolves once the server has closed the connection. */
  readonly closed: Promise<void>;
  isClosed(): boolean;
  /** From now on, count incoming bytes and drop them instead of buffering frames. */
  discardIncoming(): void;
  /** Bytes received since `discardIncoming()`. */
  bytesDiscarded(): number;
}

export async function rawConnect(port: number): Promise<RawClient> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {}); // resets are expected in these tests
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  let buffered = Buffer.alloc(0);
  const waiters: (() => void)[] = [];
  let closed = false;
  let discarding = false;
  let discarded = 0;
  socket.on('data', (chunk: Buffer) => {
    if (discarding) {
      discarded += chunk.length;
      return;
    }
    buffered = Buffer.concat([buffered, chunk]);
    waiters.splice(0).forEach((w) => w());
  });
  const closedPromise = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true;
      waiters.splice(0).forEach((w) => w());
      resolve();
    }),
  );
  const nextValue = async (timeoutMs = 3000): Promise<unknown> => {
    const deadline = Date.now() + timeoutMs;
    // Bounded by the deadline.
    for (;;) {
      if (buffered.length >= 4) {
        const n = buffered.readUInt32BE(0);
        if (buffered.length >= 4 + n) {
          const body = buffered.subarray(4, 4 + n);
          buffered = buffered.subarray(4 + n);
          return unpackr.unpack(body);
        }
      }
      if (closed) throw new Error('rawConnect: closed before a full frame arrived');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('rawConnect: no frame within timeout');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };
  return {
    socket,
    nextValue,
    closed: closedPromise,
    isClosed: () => closed,
    discardIncoming: () => {
      discarding = true;
      discarded += buffered.length;
      buffered = Buffer.alloc(0);
    },
    bytesDiscarded: () => discarded,
  };
}

/**
 * Connects to a transport as node `from` (which must sort before the transport's id so it
 * accepts) and completes the handshake as the dialer. Verifies the acceptor's proof.
 */
export async function rawAuthenticate(port: number, from: string, to: string, secret = SECRET): Promise<RawClient> {
  const client = await rawConnect(port);
  const nonce = randomBytes(32);
  client.socket.write(frameOf(encodeMsgpack({ t: 'hello', v: 1, from, to, nonce })));
  const challenge = (await client.nextValue()) as { t: string; from: string; nonce: Uint8Array };
  if (challenge.t !== 'challenge' || challenge.from !== to) throw new Error(`rawAuthenticate: unexpected ${JSON.stringify(challenge)}`);
  client.socket.write(frameOf(encodeMsgpack({ t: 'proof', mac: specMac(secret, 'dialer', from, to, nonce, challenge.nonce) })));
  const proof = (await client.nextValue()) as { t: string; mac: Uint8Array };
  const expected = specMac(secret, 'acceptor', to, from, challenge.nonce, nonce);
  if (proof.t !== 'proof' || !Buffer.from(proof.mac).equals(expected)) throw new Error('rawAuthenticate: bad acceptor proof');
  return client;
}

/** Decodes a data-frame value into [groupId, message] pairs (test side). */
export function pairsOf(value: unknown): [number, Record<string, unknown>][] {
  if (!Array.isArray(value)) throw new Error('data frame is not an array');
  return value as [number, Record<string, unknown>][];
}
