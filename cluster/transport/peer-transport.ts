/**
 * `PeerTransport`: carries the Raft messages of every group between cluster nodes, one
 * authenticated TCP connection per node pair, all groups' messages to one peer coalesced
 * into one frame per event-loop turn. Design notes and bounds: docs/transport.md.
 */
import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';
import { reconnectDelayMs, systemPrng } from './backoff.js';
import { PeerConnection } from './connection.js';
import type { CloseInfo, ConnectionContext, ConnectionEvents } from './connection.js';
import { TransportMessageTooLargeError } from './errors.js';
import { FRAME_PREFIX_BYTES } from './frame-reader.js';
import { LogLimiter } from './log-limiter.js';
import { PEERS_MAX, resolveTransportOptions } from './options.js';
import type { ResolvedTransportOptions, TransportOptions } from './options.js';
import { checkNodeId, parsePeerAddress } from './peer-address.js';
import type { PeerAddress } from './peer-address.js';
import { SendQueue } from './send-queue.js';
import type {
  MessageHandler,
  PeerState,
  PeerStateHandler,
  PeerStats,
  TransportCounterName,
  TransportDeps,
  TransportLogger,
  TransportMetrics,
  TransportPrng,
  TransportStats,
} from './types.js';
import { ARRAY_HEADER_BYTES_MAX, encodePair, isGroupId, isPlainObject, parseDataFrame } from './wire.js';

/**
 * Inbound connections still in their handshake, at most: legitimate ones are one per peer
 * that dials us (plus a brief overlap when it restarts), so 256 lets a few hundred peers
 * reconnect at once after a partition heals, and caps what unauthenticated clients can
 * hold (a socket, a timer and ≤ 2 KiB each). Refused ones retry with their backoff.
 */
export const PENDING_HANDSHAKES_MAX = 256;

/**
 * TCP keepalive after 10 s idle: a kernel-level backstop only. The transport's own
 * keepalive frames (`keepaliveIntervalMs`, `idleTimeoutMs`) are what detect a dead peer
 * in seconds; Node 20's libuv leaves the probe interval at the kernel's 75 s.
 */
const KEEPALIVE_INITIAL_DELAY_MS = 10_000;

/**
 * Frames are cut at 1 MiB (or `frameBytesMax` if smaller), although one message may be up
 * to `frameBytesMax`: the receiver decodes a frame in one go, and 1 MiB of small messages
 * already takes tens of ms here (16 MiB of heartbeats: about a second). A turn's traffic
 * to one peer is normally far below 1 MiB (10k groups × 60 B heartbeats ≈ 600 KB), so it
 * still leaves as one frame.
 */
const FRAME_BYTES_TARGET = 1024 * 1024;

/**
 * Handshake-failure and refused-connection warnings: at most 10 per 10 s. A misconfigured
 * peer retries every ≤ 5 s, so every real problem shows up; a flood of strangers costs
 * at most one line a second, with the skipped count in the next line.
 */
const STRANGER_LOG_LINES_MAX = 10;
const STRANGER_LOG_WINDOW_MS = 10_000;

interface PeerCounters {
  framesSent: number;
  bytesSent: number;
  messagesSent: number;
  framesReceived: number;
  bytesReceived: number;
  messagesReceived: number;
  messagesDropped: number;
  framesRejected: number;
  connects: number;
  reconnects: number;
}

interface Peer {
  readonly id: string;
  address: PeerAddress;
  /** This node dials the peer: its id sorts before the peer's. */
  readonly dials: boolean;
  state: PeerState;
  /** The authenticated connection, or null. */
  conn: PeerConnection | null;
  /** Dialing side: the connection being dialed or authenticated, or null. */
  dialing: PeerConnection | null;
  backoffTimer: NodeJS.Timeout | null;
  /** Failed dials since the last successful connection: the backoff exponent. */
  attempt: number;
  dialsStarted: number;
  readonly queue: SendQueue;
  readonly counters: PeerCounters;
}

type Phase = 'new' | 'starting' | 'running' | 'closing' | 'closed';

const NO_LOGGER: TransportLogger = { info: () => {}, warn: () => {}, error: () => {} };

/**
 * The peer-to-peer transport of one node.
 *
 * Contract: `send` never blocks and never throws for operating conditions other than an
 * oversized message: a message to a slow, dead or unknown peer is dropped and counted
 * (Raft retransmits). Messages to one peer arrive in the order sent, unless lost with a
 * broken connection. `onMessage` receives only messages from authenticated peers, each
 * frame checked as a whole before any of it is delivered.
 *
 * @example
 * ```ts
 * const t = new PeerTransport(
 *   { nodeId: 'n1', listenHost: '127.0.0.1', listenPort: 0, peers: { n2: '127.0.0.1:7002' }, clusterSecret: secret },
 *   { logger, metrics: null },
 * );
 * t.onMessage((from, groupId, message) => runtime.step(groupId, message));
 * const { port } = await t.start();
 * t.send('n2', 7, { type: 'heartbeat', term: 3 });
 * await t.close();
 * ```
 */
export class PeerTransport {
  private readonly options: ResolvedTransportOptions;
  private readonly logger: TransportLogger;
  private readonly metrics: TransportMetrics | null;
  private readonly prng: TransportPrng;
  private readonly peers = new Map<string, Peer>();
  private readonly pendingInbound = new Set<PeerConnection>();
  /** Every connection whose socket has not yet closed, so `close()` can wait for them. */
  private readonly sockets = new Set<PeerConnection>();
  /** Peers with messages pushed this turn; flushed together by one `setImmediate`. */
  private readonly dirty = new Set<Peer>();
  private flushImmediate: NodeJS.Immediate | null = null;
  private keepaliveTimer: NodeJS.Timeout | null = null;
  private server: Server | null = null;
  private phase: Phase = 'new';
  private closePromise: Promise<void> | null = null;
  private startPromise: Promise<{ port: number }> | null = null;
  private messageHandler: MessageHandler = () => {};
  private stateHandler: PeerStateHandler | null = null;
  private authFailures = 0;
  private inboundRejected = 0;
  private messagesDroppedUnknownPeer = 0;
  private handlerErrors = 0;
  private readonly strangerLog = new LogLimiter(STRANGER_LOG_LINES_MAX, STRANGER_LOG_WINDOW_MS);
  /** Same cap for replacements: two nodes misconfigured with one id would replace each other in a loop. */
  private readonly replacedLog = new LogLimiter(STRANGER_LOG_LINES_MAX, STRANGER_LOG_WINDOW_MS);
  private readonly connectionContext: ConnectionContext;
  private readonly connectionEvents: ConnectionEvents;

  /** @throws TypeError / RangeError for a bad or unknown option (see options.ts). */
  constructor(options: TransportOptions, deps: TransportDeps = {}) {
    this.options = resolveTransportOptions(options);
    this.logger = deps.logger ?? NO_LOGGER;
    this.metrics = deps.metrics ?? null;
    this.prng = deps.prng ?? systemPrng();
    for (const [id, address] of this.options.peers) this.peers.set(id, this.newPeer(id, address));
    this.connectionContext = {
      nodeId: this.options.nodeId,
      clusterSecret: this.options.clusterSecret,
      frameBytesMax: this.options.frameBytesMax,
      handshakeTimeoutMs: this.options.handshakeTimeoutMs,
      checkDialer: (claimedId) => this.checkDialer(claimedId),
    };
    this.connectionEvents = {
      onOpen: (conn) => this.onOpen(conn),
      onFrame: (conn, body) => this.onFrame(conn, body),
      onDrain: (conn) => this.onDrain(conn),
      onClose: (conn, info) => this.onClose(conn, info),
    };
  }

  /** This node's id. */
  get nodeId(): string {
    return this.options.nodeId;
  }

  /** Sets the handler for received messages (replacing any previous one). Set it before `start()`. */
  onMessage(handler: MessageHandler): void {
    if (typeof handler !== 'function') throw new TypeError(`PeerTransport.onMessage: 'handler' must be a function (got ${typeof handler})`);
    this.messageHandler = handler;
  }

  /** Sets the handler for peer state changes (replacing any previous one). */
  onPeerState(handler: PeerStateHandler): void {
    if (typeof handler !== 'function') throw new TypeError(`PeerTransport.onPeerState: 'handler' must be a function (got ${typeof handler})`);
    this.stateHandler = handler;
  }

  /**
   * Listens, then dials every peer whose id sorts after this node's. Resolves with the
   * bound port (useful with `listenPort: 0`).
   * @throws Error when called twice, or with the listen error (e.g. EADDRINUSE) as `cause`.
   */
  start(): Promise<{ port: number }> {
    if (this.phase !== 'new') throw new Error(`PeerTransport.start: already ${this.phase}`);
    this.phase = 'starting';
    this.startPromise = this.listen();
    return this.startPromise;
  }

  /**
   * Queues `message` for `to`, to leave in this turn's frame for that peer.
   * @returns true when queued; false when dropped and counted: the peer is not configured,
   *   its queue is at its bound, or the transport is closing.
   * @throws TransportMessageTooLargeError when the encoded message cannot fit one frame.
   * @throws TypeError / RangeError for a bad argument (own id, group id, non-object message).
   */
  send(to: string, groupId: number, message: object): boolean {
    if (typeof to !== 'string') throw new TypeError(`PeerTransport.send: 'to' must be a node id string (got ${typeof to})`);
    if (to === this.options.nodeId) throw new RangeError(`PeerTransport.send: 'to' is this node's own id (got ${JSON.stringify(to)})`);
    if (!isGroupId(groupId)) throw new RangeError(`PeerTransport.send: 'groupId' must be an integer in [0, 2^32 - 1] (got ${String(groupId)})`);
    if (!isPlainObject(message)) throw new TypeError(`PeerTransport.send: 'message' must be a plain object (got ${describe(message)})`);
    if (this.phase === 'closing' || this.phase === 'closed') return false;
    const peer = this.peers.get(to);
    if (peer === undefined) {
      this.messagesDroppedUnknownPeer += 1;
      this.count('rl_transport_messages_dropped_total', '', 1);
      return false;
    }
    let pair: Buffer;
    try {
      pair = encodePair(groupId, message);
    } catch (err) {
      throw new TypeError(`PeerTransport.send: 'message' for group ${groupId} cannot be encoded as msgpack`, { cause: err });
    }
    const pairBytesMax = this.options.frameBytesMax - ARRAY_HEADER_BYTES_MAX;
    if (pair.length > pairBytesMax) throw new TransportMessageTooLargeError(to, groupId, pair.length, pairBytesMax);
    if (!peer.queue.tryPush(pair)) {
      peer.counters.messagesDropped += 1;
      this.count('rl_transport_messages_dropped_total', peer.id, 1);
      return false;
    }
    this.dirty.add(peer);
    // setImmediate, not queueMicrotask: microtasks run after every single I/O or timer
    // callback, so a turn that handles frames from three peers and ticks many groups
    // would flush once per callback. The check phase runs once per loop iteration, after
    // all of them, so each peer gets one frame per turn, at the cost of at most one
    // iteration of latency.
    if (this.flushImmediate === null) this.flushImmediate = setImmediate(this.flushAll);
    return true;
  }

  /**
   * Adds a peer at runtime; dials it now if this node is the dialing side.
   * @throws TypeError for a bad id or address; RangeError when the id is taken, is this
   *   node's, or the peer set is full.
   */
  addPeer(id: string, address: string): void {
    checkNodeId(id, `PeerTransport.addPeer: 'id'`);
    if (id === this.options.nodeId) throw new RangeError(`PeerTransport.addPeer: 'id' is this node's own id (got ${JSON.stringify(id)})`);
    if (this.peers.has(id)) throw new RangeError(`PeerTransport.addPeer: peer ${JSON.stringify(id)} is already configured`);
    if (this.peers.size >= PEERS_MAX) throw new RangeError(`PeerTransport.addPeer: at most ${PEERS_MAX} peers (got ${this.peers.size} already)`);
    const peer = this.newPeer(id, parsePeerAddress(address, `PeerTransport.addPeer: 'address'`));
    this.peers.set(id, peer);
    if (this.phase === 'running' && peer.dials) this.dial(peer);
  }

  /**
   * Removes a peer: closes its connection, cancels reconnects, discards its queue; later
   * sends to it are dropped and counted as unknown-peer drops.
   * @throws RangeError when the peer is not configured.
   */
  removePeer(id: string): void {
    const peer = this.peers.get(id);
    if (peer === undefined) throw new RangeError(`PeerTransport.removePeer: peer ${JSON.stringify(id)} is not configured`);
    this.peers.delete(id); // first, so the closes below schedule no reconnect
    this.dirty.delete(peer);
    this.clearBackoff(peer);
    peer.dialing?.close('local', 'peer removed');
    peer.conn?.close('local', 'peer removed');
    peer.queue.clear();
    this.logger.info({ component: 'transport', nodeId: this.nodeId, peerId: id }, 'peer removed');
  }

  /**
   * Changes a peer's address. On the dialing side, the current connection (if any) is
   * closed and the new address dialed at once; on the accepting side the address is only
   * recorded (the peer dials us).
   * @throws TypeError for a bad address; RangeError when the peer is not configured.
   */
  updatePeerAddress(id: string, address: string): void {
    const peer = this.peers.get(id);
    if (peer === undefined) throw new RangeError(`PeerTransport.updatePeerAddress: peer ${JSON.stringify(id)} is not configured`);
    const parsed = parsePeerAddress(address, `PeerTransport.updatePeerAddress: 'address'`);
    if (parsed.host === peer.address.host && parsed.port === peer.address.port) return;
    peer.address = parsed;
    this.logger.info({ component: 'transport', nodeId: this.nodeId, peerId: id, address }, 'peer address changed');
    if (!peer.dials || this.phase !== 'running') return;
    peer.dialing?.close('local', 'peer address changed');
    peer.conn?.close('local', 'peer address changed');
    this.clearBackoff(peer); // the closes above scheduled a reconnect to the old timing
    peer.attempt = 0;
    this.dial(peer);
  }

  /** The state of a configured peer, or undefined. */
  peerState(id: string): PeerState | undefined {
    return this.peers.get(id)?.state;
  }

  /** A snapshot of every counter and gauge. */
  stats(): TransportStats {
    const peers: Record<string, PeerStats> = {};
    for (const peer of this.peers.values()) {
      peers[peer.id] = {
        address: formatAddress(peer.address),
        state: peer.state,
        dials: peer.dials,
        queueBytes: peer.queue.bytes,
        queueMessages: peer.queue.messages,
        socketBufferedBytes: peer.conn?.socketBufferedBytes ?? 0,
        ...peer.counters,
      };
    }
    return {
      nodeId: this.nodeId,
      peers,
      authFailures: this.authFailures,
      inboundRejected: this.inboundRejected,
      messagesDroppedUnknownPeer: this.messagesDroppedUnknownPeer,
      handlerErrors: this.handlerErrors,
    };
  }

  /**
   * Stops listening, closes every connection (queued messages are discarded), cancels
   * every timer, and resolves once every socket handle is released. Idempotent.
   */
  close(): Promise<void> {
    this.closePromise ??= this.closeNow();
    return this.closePromise;
  }

  // ---------------------------------------------------------------------------------------
  // Lifecycle
  // ---------------------------------------------------------------------------------------

  private async listen(): Promise<{ port: number }> {
    const { listenHost, listenPort } = this.options;
    const server = createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: KEEPALIVE_INITIAL_DELAY_MS });
    this.server = server;
    server.on('connection', (socket: Socket) => this.onInbound(socket));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(listenPort, listenHost, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      this.server = null;
      this.phase = 'closed';
      throw new Error(`PeerTransport.start: cannot listen on ${listenHost}:${listenPort}`, { cause: err });
    }
    // After listening, a server error (e.g. EMFILE on accept) is logged; the node keeps serving.
    server.on('error', (err: Error) => this.logger.error({ component: 'transport', nodeId: this.nodeId, err }, 'listener error'));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : listenPort;
    // Still 'starting' here: a concurrent close() waits for this promise before it acts.
    this.phase = 'running';
    // One timer for all connections (not one per connection); unref'd like every timer here.
    this.keepaliveTimer = setInterval(this.keepaliveTick, this.options.keepaliveIntervalMs);
    this.keepaliveTimer.unref();
    this.logger.info({ component: 'transport', nodeId: this.nodeId, listenHost, port }, 'transport listening');
    for (const peer of this.peers.values()) if (peer.dials) this.dial(peer);
    return { port };
  }

  private async closeNow(): Promise<void> {
    if (this.phase === 'starting' && this.startPromise !== null) await this.startPromise.catch(() => undefined);
    this.phase = 'closing';
    if (this.keepaliveTimer !== null) clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = null;
    if (this.flushImmediate !== null) clearImmediate(this.flushImmediate);
    this.flushImmediate = null;
    this.dirty.clear();
    for (const peer of this.peers.values()) {
      this.clearBackoff(peer);
      peer.dialing?.close('local', 'transport closing');
      peer.conn?.close('local', 'transport closing');
      peer.queue.clear();
    }
    // Covers handshakes in progress too; close() is idempotent for those already closed.
    for (const conn of [...this.sockets]) conn.close('local', 'transport closing');
    const server = this.server;
    this.server = null;
    const serverClosed =
      server === null ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all([serverClosed, ...[...this.sockets].map((conn) => conn.whenSocketClosed)]);
    this.phase = 'closed';
  }

  // ---------------------------------------------------------------------------------------
  // Sending
  // ---------------------------------------------------------------------------------------

  /** Seals this turn's messages into frames and writes what each socket accepts. */
  private readonly flushAll = (): void => {
    this.flushImmediate = null;
    const peers = [...this.dirty];
    this.dirty.clear();
    // Bounded: at most one entry per configured peer.
    for (const peer of peers) {
      peer.queue.seal();
      this.writeQueued(peer);
    }
  };

  /** Keepalive and idle check of every open connection (see `PeerConnection.keepaliveCheck`). */
  private readonly keepaliveTick = (): void => {
    const { idleTimeoutMs, keepaliveIntervalMs } = this.options;
    const silentChecksMax = Math.ceil(idleTimeoutMs / keepaliveIntervalMs);
    // Bounded: at most PEERS_MAX peers.
    for (const peer of [...this.peers.values()]) peer.conn?.keepaliveCheck(silentChecksMax, idleTimeoutMs);
  };

  /** Hands sealed frames to the socket until it asks us to wait for 'drain'. */
  private writeQueued(peer: Peer): void {
    const conn = peer.conn;
    if (conn === null || conn.blocked) return;
    // Bounded: each iteration removes one frame; the queue holds at most sendQueueMessagesMax.
    while (peer.queue.hasFrames) {
      const queued = peer.queue.shiftFrame();
      const more = conn.write(queued.frame);
      peer.counters.framesSent += 1;
      peer.counters.bytesSent += queued.frame.length;
      peer.counters.messagesSent += queued.messages;
      this.count('rl_transport_frames_sent_total', peer.id, 1);
      this.count('rl_transport_sent_bytes_total', peer.id, queued.frame.length);
      this.count('rl_transport_messages_sent_total', peer.id, queued.messages);
      if (!more) return;
    }
  }

  private onDrain(conn: PeerConnection): void {
    const peer = this.peerOf(conn);
    if (peer !== undefined && peer.conn === conn) this.writeQueued(peer);
  }

  // ---------------------------------------------------------------------------------------
  // Connections
  // ---------------------------------------------------------------------------------------

  private newPeer(id: string, address: PeerAddress): Peer {
    const o = this.options;
    return {
      id,
      address,
      // Exactly one side of every pair dials: the one whose id sorts first (both sides
      // compare the same two strings the same way), so a pair never holds two connections.
      dials: this.options.nodeId < id,
      state: 'connecting',
      conn: null,
      dialing: null,
      backoffTimer: null,
      attempt: 0,
      dialsStarted: 0,
      queue: new SendQueue(o.sendQueueBytesMax, o.sendQueueMessagesMax, Math.min(FRAME_BYTES_TARGET, o.frameBytesMax)),
      counters: {
        framesSent: 0,
        bytesSent: 0,
        messagesSent: 0,
        framesReceived: 0,
        bytesReceived: 0,
        messagesReceived: 0,
        messagesDropped: 0,
        framesRejected: 0,
        connects: 0,
        reconnects: 0,
      },
    };
  }

  private dial(peer: Peer): void {
    // Invariant: one dial at a time per peer, only on the dialing side, only while running.
    if (!peer.dials || peer.dialing !== null || peer.conn !== null || this.phase !== 'running') {
      throw new Error(`PeerTransport.dial: cannot dial ${peer.id} now (broken invariant)`);
    }
    peer.backoffTimer = null;
    if (peer.dialsStarted > 0) {
      peer.counters.reconnects += 1;
      this.count('rl_transport_reconnects_total', peer.id, 1);
    }
    peer.dialsStarted += 1;
    this.setState(peer, 'connecting');
    const socket = connect({
      host: peer.address.host,
      port: peer.address.port,
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: KEEPALIVE_INITIAL_DELAY_MS,
    });
    const conn = new PeerConnection(socket, 'dialer', peer.id, this.connectionContext, this.connectionEvents);
    peer.dialing = conn;
    this.track(conn);
  }

  private onInbound(socket: Socket): void {
    if (this.phase !== 'running' || this.pendingInbound.size >= PENDING_HANDSHAKES_MAX) {
      if (this.phase === 'running') {
        this.inboundRejected += 1;
        const gate = this.strangerLog.take(performance.now());
        if (gate !== null) {
          const log = { component: 'transport', nodeId: this.nodeId, pending: this.pendingInbound.size, suppressed: gate.suppressed };
          this.logger.warn(log, 'too many pending handshakes; inbound connection refused');
        }
      }
      socket.destroy();
      return;
    }
    const conn = new PeerConnection(socket, 'acceptor', null, this.connectionContext, this.connectionEvents);
    this.pendingInbound.add(conn);
    this.track(conn);
  }

  /** Acceptor side, at hello: null when `claimedId` may dial us, else why not. */
  private checkDialer(claimedId: string): string | null {
    const peer = this.peers.get(claimedId);
    if (peer === undefined) return `node ${JSON.stringify(claimedId)} is not a configured peer`;
    if (peer.dials) return `node ${JSON.stringify(claimedId)} dialed us, but this node dials it (its id sorts after ours)`;
    return null;
  }

  private track(conn: PeerConnection): void {
    this.sockets.add(conn);
    void conn.whenSocketClosed.then(() => this.sockets.delete(conn));
  }

  private onOpen(conn: PeerConnection): void {
    this.pendingInbound.delete(conn);
    const peer = this.peerOf(conn);
    if (conn.role === 'dialer') {
      if (peer === undefined || peer.dialing !== conn) return conn.close('local', 'dial no longer wanted');
      peer.dialing = null;
    } else {
      // Re-checked: the peer may have been removed while the handshake ran.
      if (peer === undefined || peer.dials) return conn.close('local', 'peer no longer configured to dial us');
      const old = peer.conn;
      if (old !== null) {
        // The peer reconnected (it restarted, or the old connection is half-open): the new,
        // authenticated connection wins. Null first so the old close changes no state.
        peer.conn = null;
        old.close('local', 'replaced by a new connection from the same peer');
        const gate = this.replacedLog.take(performance.now());
        if (gate !== null) {
          const log = { component: 'transport', nodeId: this.nodeId, peerId: peer.id, remote: conn.remoteAddress, suppressed: gate.suppressed };
          this.logger.info(log, 'peer connection replaced');
        }
      }
    }
    peer.conn = conn;
    peer.attempt = 0;
    peer.counters.connects += 1;
    this.setState(peer, 'connected');
    this.logger.info({ component: 'transport', nodeId: this.nodeId, peerId: peer.id, remote: conn.remoteAddress, role: conn.role }, 'peer connected');
    this.writeQueued(peer);
  }

  private onFrame(conn: PeerConnection, body: Buffer): void {
    const peer = this.peerOf(conn);
    if (peer === undefined || peer.conn !== conn) return conn.close('local', 'frame on a connection no longer in use');
    const frame = parseDataFrame(body);
    if (typeof frame === 'string') return conn.close('protocol', `malformed frame: ${frame}`);
    if (frame.messages.length === 0) return; // a keepalive: not counted as traffic
    const frameBytes = FRAME_PREFIX_BYTES + body.length;
    peer.counters.framesReceived += 1;
    peer.counters.bytesReceived += frameBytes;
    peer.counters.messagesReceived += frame.messages.length;
    this.count('rl_transport_frames_received_total', peer.id, 1);
    this.count('rl_transport_received_bytes_total', peer.id, frameBytes);
    this.count('rl_transport_messages_received_total', peer.id, frame.messages.length);
    // Bounded by the frame: at most frameBytesMax / 3 pairs (the smallest encoded pair).
    for (let i = 0; i < frame.messages.length && conn.isOpen; i++) {
      const groupId = frame.groupIds[i];
      const message = frame.messages[i];
      if (groupId === undefined || message === undefined) break;
      try {
        this.messageHandler(peer.id, groupId, message);
      } catch (err) {
        // The message came from the network: a throwing handler most likely met input it
        // did not expect. Crashing would let one peer take the node down; log and go on.
        this.handlerErrors += 1;
        this.logger.error({ component: 'transport', nodeId: this.nodeId, peerId: peer.id, groupId, err }, 'message handler threw');
      }
    }
  }

  private onClose(conn: PeerConnection, info: CloseInfo): void {
    this.pendingInbound.delete(conn);
    const peerId = conn.peerId;
    const peer = this.peerOf(conn);
    const log = { component: 'transport', nodeId: this.nodeId, peerId, remote: conn.remoteAddress, role: conn.role, reason: info.detail };
    if (info.kind === 'auth') {
      this.authFailures += 1;
      this.count('rl_transport_auth_failures_total', peer === undefined ? '' : peer.id, 1);
      const gate = this.strangerLog.take(performance.now());
      if (gate !== null) this.logger.warn({ ...log, suppressed: gate.suppressed }, 'peer handshake failed; connection closed');
    } else if (info.kind === 'protocol') {
      if (peer !== undefined) peer.counters.framesRejected += 1;
      this.count('rl_transport_frames_rejected_total', peer === undefined ? '' : peer.id, 1);
      this.logger.warn(log, 'peer sent a bad frame; connection closed');
    }
    if (peer === undefined) return;
    if (peer.dialing === conn) {
      peer.dialing = null;
      // A failed dial is logged once per outage (the first), then only counted.
      if (info.kind === 'socket' && peer.attempt === 0) this.logger.warn(log, 'peer unreachable; retrying with backoff');
      this.scheduleReconnect(peer);
    } else if (peer.conn === conn) {
      peer.conn = null;
      if (info.kind !== 'local') this.logger.info(log, 'peer disconnected');
      if (peer.dials) this.scheduleReconnect(peer);
      else this.setState(peer, 'connecting');
    }
  }

  private scheduleReconnect(peer: Peer): void {
    if (this.phase !== 'running' || this.peers.get(peer.id) !== peer || peer.backoffTimer !== null) return;
    const { reconnectDelayMsMin, reconnectDelayMsMax } = this.options;
    const delayMs = reconnectDelayMs(peer.attempt, reconnectDelayMsMin, reconnectDelayMsMax, this.prng);
    peer.attempt += 1;
    this.setState(peer, 'backoff');
    peer.backoffTimer = setTimeout(() => this.dial(peer), delayMs);
    peer.backoffTimer.unref(); // the listener keeps a running node alive; timers never should
  }

  private clearBackoff(peer: Peer): void {
    if (peer.backoffTimer !== null) clearTimeout(peer.backoffTimer);
    peer.backoffTimer = null;
  }

  private peerOf(conn: PeerConnection): Peer | undefined {
    const id = conn.peerId;
    return id === null ? undefined : this.peers.get(id);
  }

  private setState(peer: Peer, state: PeerState): void {
    const previous = peer.state;
    if (previous === state) return;
    peer.state = state;
    if (this.stateHandler === null) return;
    try {
      this.stateHandler(peer.id, state, previous);
    } catch (err) {
      this.handlerErrors += 1;
      this.logger.error({ component: 'transport', nodeId: this.nodeId, peerId: peer.id, err }, 'peer state handler threw');
    }
  }

  private count(name: TransportCounterName, peerId: string, value: number): void {
    this.metrics?.increment(name, peerId, value);
  }
}

function formatAddress(address: PeerAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'unknown'}`;
  return typeof value;
}
