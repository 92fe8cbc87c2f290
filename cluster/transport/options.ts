/**
 * Options of `PeerTransport`: defaults with the reason for each number, and
 * `resolveTransportOptions`, which rejects unknown options and bad values with a message
 * naming the option and its value, then freezes the result.
 */
import { checkNodeId, parsePeerAddress } from './peer-address.js';
import type { PeerAddress } from './peer-address.js';

/** What callers pass to `new PeerTransport(options, deps)`. */
export interface TransportOptions {
  /** This node's id; also decides who dials (the smaller id of a pair dials). */
  readonly nodeId: string;
  /** Interface to listen on, e.g. `'0.0.0.0'` in a container, `'127.0.0.1'` in tests. */
  readonly listenHost: string;
  /** TCP port to listen on; 0 picks an ephemeral port, reported by `start()`. */
  readonly listenPort: number;
  /** Configured peers: node id → `"host:port"`. Changed later with `addPeer`/`removePeer`/`updatePeerAddress`. */
  readonly peers: Readonly<Record<string, string>>;
  /** Shared cluster secret for the HMAC handshake: at least 16 bytes (a string is taken as UTF-8). */
  readonly clusterSecret: string | Uint8Array;
  readonly frameBytesMax?: number;
  /** Defaults to twice `frameBytesMax`. */
  readonly sendQueueBytesMax?: number;
  readonly sendQueueMessagesMax?: number;
  readonly reconnectDelayMsMin?: number;
  readonly reconnectDelayMsMax?: number;
  readonly handshakeTimeoutMs?: number;
  readonly keepaliveIntervalMs?: number;
  readonly idleTimeoutMs?: number;
}

/** Options with every default filled in; frozen. */
export interface ResolvedTransportOptions {
  readonly nodeId: string;
  readonly listenHost: string;
  readonly listenPort: number;
  readonly peers: ReadonlyMap<string, PeerAddress>;
  readonly clusterSecret: Buffer;
  readonly frameBytesMax: number;
  readonly sendQueueBytesMax: number;
  readonly sendQueueMessagesMax: number;
  readonly reconnectDelayMsMin: number;
  readonly reconnectDelayMsMax: number;
  readonly handshakeTimeoutMs: number;
  readonly keepaliveIntervalMs: number;
  readonly idleTimeoutMs: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

export const TRANSPORT_OPTION_DEFAULTS = Object.freeze({
  // 16 MiB: the largest single message (and frame) accepted; 16 times Raft's default
  // 1 MiB appendEntries / snapshot chunk, so a raised Raft limit still fits. Frames are
  // normally cut at 1 MiB (peer-transport.ts), so this bounds only a rare big message.
  frameBytesMax: 16 * MiB,
  // 65,536 messages: a node hosting ~10k groups emits a few messages per group per tick to
  // one peer; this holds several ticks of that while a connection is slow, and at ~100 B of
  // bookkeeping per message the count bound itself stays under ~7 MiB.
  sendQueueMessagesMax: 65_536,
  // 50 ms: a restarting peer is usually back within hundreds of ms; 50 ms avoids a tight
  // loop against a refusing port while reconnecting within a fraction of an election timeout.
  reconnectDelayMsMin: 50,
  // 5 s: a peer that was down long reconnects within 5 s of coming back (a few election
  // timeouts), and a dead peer costs one dial per 2.5-5 s.
  reconnectDelayMsMax: 5_000,
  // 5 s to connect and authenticate: a few round trips plus a GC pause or a busy event loop
  // on either side; short enough that a blackholed address does not hold a dial for the
  // OS's ~2 min TCP connect timeout.
  handshakeTimeoutMs: 5_000,
  // 1 s: a connection with nothing to send carries an empty frame each second (5 bytes),
  // so the far end can tell "idle" from "gone", and a dialer whose peer host rebooted
  // hits the new host's RST within a second even when its groups are quiescent.
  keepaliveIntervalMs: 1_000,
  // 10 s without any frame: ten missed keepalives, far above GC pauses and event-loop
  // stalls, yet it finds a half-open connection long before TCP would (Node 20's libuv
  // leaves keepalive probes at the kernel's 75 s interval).
  idleTimeoutMs: 10_000,
});

/** How many peers one transport holds: bounds per-peer state and the metrics label set. */
export const PEERS_MAX = 1024;

/** Shortest cluster secret: 16 bytes = 128 bits, the least HMAC-SHA256 keys should carry. */
export const CLUSTER_SECRET_BYTES_MIN = 16;

/**
 * Smallest frame limit: the handshake needs < 1 KiB and a frame must hold at least one
 * small message; below 4 KiB the limit would only be a misconfiguration.
 */
const FRAME_BYTES_MAX_MIN = 4 * KiB;
/** Largest frame limit: one frame is one Buffer decoded in one event-loop turn; 256 MiB would stall it for seconds. */
const FRAME_BYTES_MAX_MAX = 256 * MiB;

const KNOWN: ReadonlySet<string> = new Set([
  'nodeId',
  'listenHost',
  'listenPort',
  'peers',
  'clusterSecret',
  'frameBytesMax',
  'sendQueueBytesMax',
  'sendQueueMessagesMax',
  'reconnectDelayMsMin',
  'reconnectDelayMsMax',
  'handshakeTimeoutMs',
  'keepaliveIntervalMs',
  'idleTimeoutMs',
]);

/** Hints for names people are likely to guess. */
const RENAMED: Readonly<Record<string, string>> = {
  id: 'nodeId',
  host: 'listenHost',
  port: 'listenPort',
  secret: 'clusterSecret',
  maxFrameBytes: 'frameBytesMax',
  maxFrameSize: 'frameBytesMax',
  frameSizeMax: 'frameBytesMax',
  queueBytesMax: 'sendQueueBytesMax',
  maxQueueBytes: 'sendQueueBytesMax',
  queueMessagesMax: 'sendQueueMessagesMax',
  minReconnectDelayMs: 'reconnectDelayMsMin',
  maxReconnectDelayMs: 'reconnectDelayMsMax',
  handshakeTimeout: 'handshakeTimeoutMs',
  pingIntervalMs: 'keepaliveIntervalMs',
  heartbeatIntervalMs: 'keepaliveIntervalMs',
  idleTimeout: 'idleTimeoutMs',
};

const WHAT = 'Cannot create transport:';

function intOption(raw: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const value = raw[name] === undefined ? fallback : raw[name];
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new TypeError(`${WHAT} '${name}' must be an integer (got ${String(value)})`);
  }
  if (value < min || value > max) {
    throw new RangeError(`${WHAT} '${name}' must be in [${min}, ${max}] (got ${value})`);
  }
  return value;
}

function secretOption(value: unknown): Buffer {
  let bytes: Buffer;
  if (typeof value === 'string') bytes = Buffer.from(value, 'utf8');
  else if (value instanceof Uint8Array) bytes = Buffer.from(value); // a copy: the caller may reuse its buffer
  else throw new TypeError(`${WHAT} 'clusterSecret' must be a string or a Uint8Array (got ${typeof value})`);
  // The value is a secret: the message gives its length only.
  if (bytes.length < CLUSTER_SECRET_BYTES_MIN) {
    throw new RangeError(`${WHAT} 'clusterSecret' must be at least ${CLUSTER_SECRET_BYTES_MIN} bytes (got ${bytes.length} bytes)`);
  }
  return bytes;
}

function peersOption(value: unknown, nodeId: string): Map<string, PeerAddress> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${WHAT} 'peers' must be an object of node id to "host:port" (got ${JSON.stringify(value) ?? String(value)})`);
  }
  const entries = Object.entries(value);
  if (entries.length > PEERS_MAX) {
    throw new RangeError(`${WHAT} 'peers' must hold at most ${PEERS_MAX} peers (got ${entries.length})`);
  }
  const peers = new Map<string, PeerAddress>();
  for (const [id, address] of entries) {
    checkNodeId(id, `${WHAT} a key of 'peers'`);
    if (id === nodeId) throw new RangeError(`${WHAT} 'peers' must not contain this node's own id (got ${JSON.stringify(id)})`);
    peers.set(id, parsePeerAddress(address, `${WHAT} 'peers.${id}'`));
  }
  return peers;
}

/**
 * Validates `input`, fills defaults, and freezes the result.
 * @throws TypeError / RangeError naming the option and its value (never the secret).
 * @example
 * ```ts
 * const o = resolveTransportOptions({
 *   nodeId: 'n1', listenHost: '127.0.0.1', listenPort: 0,
 *   peers: { n2: '127.0.0.1:7002' }, clusterSecret: 'a-long-enough-secret',
 * });
 * o.frameBytesMax; // 16 MiB
 * ```
 */
export function resolveTransportOptions(input: TransportOptions): ResolvedTransportOptions {
  if (typeof input !== 'object' || input === null) {
    throw new TypeError(`${WHAT} options must be an object (got ${String(input)})`);
  }
  const raw = input as unknown as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!KNOWN.has(key)) {
      const hint = RENAMED[key];
      throw new TypeError(
        `${WHAT} unknown option '${key}'${hint === undefined ? `; known options are ${[...KNOWN].join(', ')}` : `; did you mean '${hint}'?`}`,
      );
    }
  }
  const nodeId = checkNodeId(raw['nodeId'], `${WHAT} 'nodeId'`);
  const listenHost = raw['listenHost'];
  if (typeof listenHost !== 'string' || listenHost.length === 0) {
    throw new TypeError(`${WHAT} 'listenHost' must be a non-empty string (got ${JSON.stringify(listenHost) ?? String(listenHost)})`);
  }
  if (raw['listenPort'] === undefined) throw new TypeError(`${WHAT} 'listenPort' is required (0 picks an ephemeral port)`);
  const listenPort = intOption(raw, 'listenPort', 0, 0, 65535);
  const peers = peersOption(raw['peers'], nodeId);
  const clusterSecret = secretOption(raw['clusterSecret']);
  const d = TRANSPORT_OPTION_DEFAULTS;
  const frameBytesMax = intOption(raw, 'frameBytesMax', d.frameBytesMax, FRAME_BYTES_MAX_MIN, FRAME_BYTES_MAX_MAX);
  // Twice the frame limit by default: one maximum-size message can wait while another is
  // being written. It must hold at least one maximum-size message, or such a message
  // could be accepted by `send` yet never fit a queue.
  const sendQueueBytesMax = intOption(raw, 'sendQueueBytesMax', 2 * frameBytesMax, frameBytesMax, 16 * 1024 * MiB);
  const sendQueueMessagesMax = intOption(raw, 'sendQueueMessagesMax', d.sendQueueMessagesMax, 1, 16_777_216);
  const reconnectDelayMsMin = intOption(raw, 'reconnectDelayMsMin', d.reconnectDelayMsMin, 1, 3_600_000);
  const reconnectDelayMsMax = intOption(raw, 'reconnectDelayMsMax', d.reconnectDelayMsMax, 1, 3_600_000);
  if (reconnectDelayMsMax < reconnectDelayMsMin) {
    throw new RangeError(
      `${WHAT} 'reconnectDelayMsMax' must be at least 'reconnectDelayMsMin' (got ${reconnectDelayMsMax} and ${reconnectDelayMsMin})`,
    );
  }
  const handshakeTimeoutMs = intOption(raw, 'handshakeTimeoutMs', d.handshakeTimeoutMs, 10, 600_000);
  const keepaliveIntervalMs = intOption(raw, 'keepaliveIntervalMs', d.keepaliveIntervalMs, 10, 600_000);
  const idleTimeoutMs = intOption(raw, 'idleTimeoutMs', d.idleTimeoutMs, 20, 3_600_000);
  // At least two keepalive intervals: one late keepalive must not close a healthy connection.
  if (idleTimeoutMs < 2 * keepaliveIntervalMs) {
    throw new RangeError(
      `${WHAT} 'idleTimeoutMs' must be at least twice 'keepaliveIntervalMs' (got ${idleTimeoutMs} and ${keepaliveIntervalMs})`,
    );
  }
  return Object.freeze({
    nodeId,
    listenHost,
    listenPort,
    peers,
    clusterSecret,
    frameBytesMax,
    sendQueueBytesMax,
    sendQueueMessagesMax,
    reconnectDelayMsMin,
    reconnectDelayMsMax,
    handshakeTimeoutMs,
    keepaliveIntervalMs,
    idleTimeoutMs,
  });
}
