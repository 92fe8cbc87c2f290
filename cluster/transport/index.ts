/**
 * The peer transport: one authenticated TCP connection per node pair, carrying every Raft
 * group's messages as opaque msgpack values. Entry point: `PeerTransport`.
 */
export { PeerTransport } from './peer-transport.js';
export { TransportMessageTooLargeError } from './errors.js';
export { resolveTransportOptions, TRANSPORT_OPTION_DEFAULTS, PEERS_MAX, CLUSTER_SECRET_BYTES_MIN } from './options.js';
export type { TransportOptions, ResolvedTransportOptions } from './options.js';
export { reconnectDelayMs } from './backoff.js';
export type {
  MessageHandler,
  PeerState,
  PeerStateHandler,
  PeerStats,
  ReceivedMessage,
  TransportCounterName,
  TransportDeps,
  TransportLogger,
  TransportMetrics,
  TransportPrng,
  TransportStats,
} from './types.js';
