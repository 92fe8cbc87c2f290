/**
 * One TCP connection to a peer: runs the handshake (handshake.ts), then splits data
 * frames and hands their bodies up. Knows nothing about queues or the peer set; the
 * transport decides what an opened, framed or closed connection means.
 */
import type { Socket } from 'node:net';
import { FRAME_PREFIX_BYTES, FrameReader, FrameTooLargeError } from './frame-reader.js';
import {
  HANDSHAKE_FRAME_BYTES_MAX,
  HANDSHAKE_VERSION,
  handshakeMac,
  macMatches,
  newNonce,
  parseChallenge,
  parseHello,
  parseProof,
} from './handshake.js';
import type { HandshakeRole } from './handshake.js';
import { decodeValue, encodeValue } from './wire.js';

/** Why a connection ended: decides what the transport counts and logs. */
export type CloseKind =
  /** The handshake failed: bad MAC, unexpected id, timeout, or a bad handshake frame. */
  | 'auth'
  /** An authenticated peer sent an oversized or malformed frame. */
  | 'protocol'
  /** The socket ended or failed (peer closed, reset, refused, unreachable). */
  | 'socket'
  /** We closed it (replaced, peer removed, address changed, transport closing). */
  | 'local';

export interface CloseInfo {
  readonly kind: CloseKind;
  readonly detail: string;
  /** True when the handshake had completed before the close. */
  readonly wasOpen: boolean;
}

export interface ConnectionContext {
  readonly nodeId: string;
  readonly clusterSecret: Buffer;
  readonly frameBytesMax: number;
  readonly handshakeTimeoutMs: number;
  /** Acceptor only: null when `claimedId` may dial us, else why not. */
  readonly checkDialer: (claimedId: string) => string | null;
}

export interface ConnectionEvents {
  /** The handshake succeeded; `conn.peerId` is authenticated. */
  onOpen(conn: PeerConnection): void;
  /** A data-frame body (only after `onOpen`), in arrival order. */
  onFrame(conn: PeerConnection, body: Buffer): void;
  /** The socket accepts writes again after `write` returned false. */
  onDrain(conn: PeerConnection): void;
  /** Called exactly once, synchronously when we close, or when the socket closes. */
  onClose(conn: PeerConnection, info: CloseInfo): void;
}

/** A data frame with no pairs (body: an empty msgpack array), sent on otherwise idle connections. */
const KEEPALIVE_FRAME = Buffer.from([0, 0, 0, 1, 0x90]);

type Step = 'await-connect' | 'await-hello' | 'await-challenge' | 'await-proof' | 'open' | 'closed';

export class PeerConnection {
  readonly role: HandshakeRole;
  /** Resolves when the socket has fully closed (its handle is released). */
  readonly whenSocketClosed: Promise<void>;
  private readonly socket: Socket;
  private readonly ctx: ConnectionContext;
  private readonly events: ConnectionEvents;
  private readonly reader = new FrameReader(HANDSHAKE_FRAME_BYTES_MAX);
  private readonly ownNonce = newNonce();
  private peerNonce: Uint8Array | null = null;
  private peerIdValue: string | null;
  private step: Step;
  private handshakeTimer: NodeJS.Timeout | null;
  private blockedValue = false;
  /** Keepalive bookkeeping, reset by each `keepaliveCheck`. */
  private wroteSinceCheck = false;
  private readSinceCheck = false;
  private silentChecks = 0;
  /** Captured while the socket is up: Node clears the address once it is destroyed. */
  private remoteText: string;

  /**
   * @param expectedPeerId the peer a dialer dials; null for an acceptor (learned from the hello).
   */
  constructor(socket: Socket, role: HandshakeRole, expectedPeerId: string | null, ctx: ConnectionContext, events: ConnectionEvents) {
    this.socket = socket;
    this.role = role;
    this.peerIdValue = expectedPeerId;
    this.ctx = ctx;
    this.events = events;
    this.step = role === 'dialer' ? 'await-connect' : 'await-hello';
    this.remoteText = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.whenSocketClosed = new Promise((resolve) => socket.once('close', () => resolve()));
    // One timer covers connect and handshake, so a blackholed address cannot hold a dial
    // for the OS connect timeout. Unref'd: it must never keep a process alive on its own.
    this.handshakeTimer = setTimeout(() => this.close('auth', `handshake not done within ${ctx.handshakeTimeoutMs} ms`), ctx.handshakeTimeoutMs);
    this.handshakeTimer.unref();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.blockedValue = false;
      if (this.step === 'open') this.events.onDrain(this);
    });
    socket.on('error', (err: Error) => this.close('socket', err.message));
    socket.on('close', () => this.close('socket', this.closedByPeerDetail()));
    if (role === 'dialer') {
      socket.once('connect', () => {
        this.remoteText = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
        this.sendHello();
      });
    }
  }

  private closedByPeerDetail(): string {
    if (this.step === 'open') return 'connection closed by peer';
    // An acceptor closes silently on a failed check, so a dialer can only guess why.
    const hint = this.role === 'dialer' && this.step !== 'await-connect' ? ': wrong cluster secret, or not in its peer set?' : '';
    return `connection closed by peer during handshake (${this.step})${hint}`;
  }

  /** The peer's id: expected (dialer) or claimed, then authenticated once open (acceptor). */
  get peerId(): string | null {
    return this.peerIdValue;
  }

  /** The remote end as "address:port", for logs (`?:?` before a dial has connected). */
  get remoteAddress(): string {
    return this.remoteText;
  }

  get isOpen(): boolean {
    return this.step === 'open';
  }

  get isClosed(): boolean {
    return this.step === 'closed';
  }

  /** True after `write` returned false, until the socket drains. */
  get blocked(): boolean {
    return this.blockedValue;
  }

  /** Bytes the socket buffers in user space, not yet taken by the kernel. */
  get socketBufferedBytes(): number {
    return this.socket.writableLength;
  }

  /**
   * Writes one complete frame. Returns false when the socket asks us to stop until
   * 'drain' (the frame itself is taken either way).
   */
  write(frame: Buffer): boolean {
    if (this.step !== 'open') throw new Error(`PeerConnection.write: connection is ${this.step} (broken invariant)`);
    const more = this.socket.write(frame);
    this.wroteSinceCheck = true;
    if (!more) this.blockedValue = true;
    return more;
  }

  /**
   * Called every keepalive interval on an open connection: closes it after `silentChecksMax`
   * intervals in a row with no bytes received, and otherwise sends an empty frame if
   * nothing was written during the interval (and the socket is not backed up).
   */
  keepaliveCheck(silentChecksMax: number, idleTimeoutMs: number): void {
    if (this.step !== 'open') return;
    this.silentChecks = this.readSinceCheck ? 0 : this.silentChecks + 1;
    this.readSinceCheck = false;
    if (this.silentChecks >= silentChecksMax) {
      this.close('socket', `nothing received for ${idleTimeoutMs} ms (peer gone or connection half-open)`);
      return;
    }
    if (!this.wroteSinceCheck && !this.blockedValue) this.write(KEEPALIVE_FRAME);
    this.wroteSinceCheck = false;
  }

  /** Ends the connection now (idempotent); reports `kind`/`detail` to `onClose`. */
  close(kind: CloseKind, detail: string): void {
    if (this.step === 'closed') return;
    const wasOpen = this.step === 'open';
    this.step = 'closed';
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    // Queued data is dropped: Raft tolerates loss, and a clean FIN could wait forever on a
    // peer that does not read.
    this.socket.destroy();
    this.events.onClose(this, { kind, detail, wasOpen });
  }

  private onData(chunk: Buffer): void {
    if (this.step === 'closed') return;
    this.readSinceCheck = true;
    this.reader.push(chunk);
    // Bounded: each iteration consumes bytes of this chunk or returns.
    for (;;) {
      let body: Buffer | null;
      try {
        body = this.reader.next();
      } catch (err) {
        if (!(err instanceof FrameTooLargeError)) throw err;
        this.close(this.step === 'open' ? 'protocol' : 'auth', err.message);
        return;
      }
      if (body === null) return;
      if (this.step === 'open') this.events.onFrame(this, body);
      else this.onHandshakeFrame(body);
      if (this.isClosed) return; // a handler above may have closed us
    }
  }

  private writeHandshake(value: unknown): void {
    const body = encodeValue(value);
    const frame = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + body.length);
    frame.writeUInt32BE(body.length, 0);
    body.copy(frame, FRAME_PREFIX_BYTES);
    this.socket.write(frame);
  }

  private sendHello(): void {
    if (this.step !== 'await-connect' || this.peerIdValue === null) return;
    this.step = 'await-challenge';
    this.writeHandshake({ t: 'hello', v: HANDSHAKE_VERSION, from: this.ctx.nodeId, to: this.peerIdValue, nonce: this.ownNonce });
  }

  private onHandshakeFrame(body: Buffer): void {
    let value: unknown;
    try {
      value = decodeValue(body);
    } catch (err) {
      this.close('auth', `malformed handshake frame: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    switch (this.step) {
      case 'await-hello':
        return this.onHello(value);
      case 'await-challenge':
        return this.onChallenge(value);
      case 'await-proof':
        return this.onProof(value);
      default:
        return this.close('auth', `unexpected handshake frame while ${this.step}`);
    }
  }

  /** Acceptor: the dialer says who it is; check it may dial us, then challenge it. */
  private onHello(value: unknown): void {
    const hello = parseHello(value);
    if (typeof hello === 'string') return this.close('auth', hello);
    this.peerIdValue = hello.from;
    if (hello.to !== this.ctx.nodeId) return this.close('auth', `hello is addressed to ${JSON.stringify(hello.to)}, not this node`);
    const refused = this.ctx.checkDialer(hello.from);
    if (refused !== null) return this.close('auth', refused);
    this.peerNonce = hello.nonce;
    this.step = 'await-proof';
    this.writeHandshake({ t: 'challenge', v: HANDSHAKE_VERSION, from: this.ctx.nodeId, nonce: this.ownNonce });
  }

  /** Dialer: the acceptor answers with its nonce; prove we know the secret over it. */
  private onChallenge(value: unknown): void {
    const challenge = parseChallenge(value);
    if (typeof challenge === 'string') return this.close('auth', challenge);
    const peerId = this.peerIdValue;
    if (peerId === null || challenge.from !== peerId) {
      return this.close('auth', `expected node ${JSON.stringify(peerId)} at this address, found ${JSON.stringify(challenge.from)}`);
    }
    this.peerNonce = challenge.nonce;
    this.step = 'await-proof';
    const mac = handshakeMac(this.ctx.clusterSecret, 'dialer', this.ctx.nodeId, peerId, this.ownNonce, challenge.nonce);
    this.writeHandshake({ t: 'proof', mac });
  }

  /** Both: check the peer's proof; the acceptor then proves itself. */
  private onProof(value: unknown): void {
    const proof = parseProof(value);
    if (typeof proof === 'string') return this.close('auth', proof);
    const peerId = this.peerIdValue;
    const peerNonce = this.peerNonce;
    if (peerId === null || peerNonce === null) return this.close('auth', 'proof before hello (broken handshake state)');
    const peerRole: HandshakeRole = this.role === 'dialer' ? 'acceptor' : 'dialer';
    const expected = handshakeMac(this.ctx.clusterSecret, peerRole, peerId, this.ctx.nodeId, peerNonce, this.ownNonce);
    if (!macMatches(proof.mac, expected)) return this.close('auth', 'bad handshake MAC (different cluster secret?)');
    if (this.role === 'acceptor') {
      const mac = handshakeMac(this.ctx.clusterSecret, 'acceptor', this.ctx.nodeId, peerId, this.ownNonce, peerNonce);
      this.writeHandshake({ t: 'proof', mac });
    }
    this.step = 'open';
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    this.reader.setFrameBytesMax(this.ctx.frameBytesMax);
    this.events.onOpen(this);
  }
}
