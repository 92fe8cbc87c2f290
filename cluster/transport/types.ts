/**
 * Public types of the peer transport: peer states, statistics, the handler signatures, and
 * the optional dependencies (logger, metrics sink, PRNG) that `PeerTransport` takes.
 *
 * The transport carries opaque values: a message is any plain object that msgpackr can
 * encode. It never imports `raft/`; the node runtime validates what it receives.
 */

/**
 * Connection state of one configured peer.
 * - `connected`: an authenticated connection is open; queued messages are being written.
 * - `connecting`: a dial or handshake is in progress, or (for a peer that dials us) we are
 *   waiting for it to connect.
 * - `backoff`: the last dial failed or the connection dropped; a reconnect is scheduled.
 */
export type PeerState = 'connected' | 'connecting' | 'backoff';

/**
 * A message as the receiving side sees it: a plain object decoded from a msgpack map,
 * not yet validated by anyone. `Uint8Array` fields arrive as `Buffer`s that may share
 * memory with the received frame (never mutated by the transport).
 */
export type ReceivedMessage = Readonly<Record<string, unknown>>;

/** Called for every message received from an authenticated peer, in the order it sent them. */
export type MessageHandler = (from: string, groupId: number, message: ReceivedMessage) => void;

/** Called on every change of a peer's state, after the change. */
export type PeerStateHandler = (peerId: string, state: PeerState, previous: PeerState) => void;

/** Per-peer counters and gauges, as `stats()` reports them. Counters only grow. */
export interface PeerStats {
  readonly address: string;
  readonly state: PeerState;
  /** True when this node dials the peer (its id sorts before the peer's). */
  readonly dials: boolean;
  /** Encoded message bytes waiting to be handed to the socket (frame headers excluded). */
  readonly queueBytes: number;
  readonly queueMessages: number;
  /** Bytes the socket holds that the kernel has not yet accepted (`socket.writableLength`). */
  readonly socketBufferedBytes: number;
  readonly framesSent: number;
  readonly bytesSent: number;
  readonly messagesSent: number;
  readonly framesReceived: number;
  readonly bytesReceived: number;
  readonly messagesReceived: number;
  /** Messages refused at `send` because this peer's queue was at its byte or message bound. */
  readonly messagesDropped: number;
  /** Frames from this (authenticated) peer that were oversized or malformed; each closed the connection. */
  readonly framesRejected: number;
  /** Authenticated connections established (both directions). */
  readonly connects: number;
  /** Dials started after the first one (only on the dialing side). */
  readonly reconnects: number;
}

/** A snapshot of the transport's counters. */
export interface TransportStats {
  readonly nodeId: string;
  readonly peers: Readonly<Record<string, PeerStats>>;
  /** Handshakes that failed (bad MAC, unknown or misdirected id, timeout, bad handshake frame). */
  readonly authFailures: number;
  /** Inbound connections refused because too many handshakes were already pending. */
  readonly inboundRejected: number;
  /** Messages passed to `send` for a peer that is not configured (e.g. just removed). */
  readonly messagesDroppedUnknownPeer: number;
  /** Exceptions thrown by the message handler (logged, then the next message is delivered). */
  readonly handlerErrors: number;
}

/** A pino-compatible logger subset: data in the object, a constant message. */
export interface TransportLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

/** Counter names the transport reports; the `peer` label is a configured node id or `''`. */
export type TransportCounterName =
  | 'rl_transport_frames_sent_total'
  | 'rl_transport_sent_bytes_total'
  | 'rl_transport_messages_sent_total'
  | 'rl_transport_frames_received_total'
  | 'rl_transport_received_bytes_total'
  | 'rl_transport_messages_received_total'
  | 'rl_transport_messages_dropped_total'
  | 'rl_transport_frames_rejected_total'
  | 'rl_transport_auth_failures_total'
  | 'rl_transport_reconnects_total';

/**
 * A metrics sink for counters. Gauges (queue sizes, peer state) are read from `stats()`
 * in the metrics library's collect hook, so the send path does no gauge updates.
 */
export interface TransportMetrics {
  /** Adds `value` to `name` for `peerId` (`''` when no peer is known, e.g. a failed handshake). */
  increment(name: TransportCounterName, peerId: string, value: number): void;
}

/** The core's `Prng` shape (raft/types.ts), so a seeded generator can be shared. */
export interface TransportPrng {
  /** An integer uniformly in [0, maxExclusive); `maxExclusive` is at most 2^32. */
  nextInt(maxExclusive: number): number;
}

/** Dependencies of `PeerTransport`; every one is optional. */
export interface TransportDeps {
  readonly logger?: TransportLogger | null;
  readonly metrics?: TransportMetrics | null;
  /** Jitter source for reconnect backoff; a seeded one makes delays reproducible. Nonces never use it. */
  readonly prng?: TransportPrng | null;
}
