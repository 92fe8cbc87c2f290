/**
 * One WebSocket to one node (`/v1/ws`): checks queued in one event-loop turn leave in one
 * frame; replies (possibly split over several frames) are matched by id. Bounded: at most
 * `inflightMax` checks sent and unanswered, at most `queueMax` waiting to be sent; beyond
 * that `send` refuses at once so the caller can fail fast or degrade. A lost socket fails
 * every open check (retryable) and reconnects lazily with jittered exponential backoff.
 */
import WebSocket from 'ws';
import type { WireError, WireReply } from '../src/protocol/ws.js';
import { decodeReplyFrame, encodeRequestFrame } from '../src/protocol/ws.js';
import { BATCH_CHECKS_MAX } from '../src/protocol/limits.js';
import type { ClientDeps, TimerHandle } from './deps.js';

/** What a pending check hears back: the node's reply, or a transport failure (retryable). */
export type ConnReply = WireReply | { readonly id: number; readonly ok: false; readonly error: WireError; readonly transport: true };

export interface ConnectionOptions {
  /** `host:port` of the node. */
  readonly address: string;
  readonly token: string | undefined;
  /** Checks sent and not yet answered, at most. */
  readonly inflightMax: number;
  /** Checks waiting to be sent (socket connecting, or in-flight bound reached), at most. */
  readonly queueMax: number;
  /** First reconnect delay; doubles per failure up to `backoffMsMax`, with full jitter. */
  readonly backoffMsMin: number;
  readonly backoffMsMax: number;
  readonly connectTimeoutMs: number;
}

interface Pending {
  readonly check: unknown;
  readonly onReply: (r: ConnReply) => void;
  sent: boolean;
}

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'backoff' | 'closed';

/**
 * @example
 * ```ts
 * const conn = new NodeConnection({ address: '127.0.0.1:7001', token: undefined, inflightMax: 1000, queueMax: 10_000, backoffMsMin: 50, backoffMsMax: 2000, connectTimeoutMs: 1000 }, realDeps());
 * const id = conn.send({ key: 'user:1', resource: 'search', cost: 1, idempotencyId: 'c1:0' }, (reply) => console.log(reply));
 * if (id < 0) console.log('queue full');
 * ```
 */
export class NodeConnection {
  private ws: WebSocket | null = null;
  private stateNow: ConnectionState = 'idle';
  /** Bounded by inflightMax + queueMax (send refuses beyond it). */
  private readonly pending = new Map<number, Pending>();
  /** Ids waiting to be sent, in order; bounded by queueMax. */
  private queue: number[] = [];
  private inflight = 0;
  private nextId = 1;
  private flushScheduled = false;
  private failures = 0;
  private backoffUntilMs = 0;
  private connectTimer: TimerHandle | null = null;

  constructor(
    readonly options: ConnectionOptions,
    private readonly deps: ClientDeps,
  ) {}

  get state(): ConnectionState {
    return this.stateNow;
  }

  /** True while a recent failure says this node is probably down (callers route elsewhere). */
  get failing(): boolean {
    return this.stateNow === 'backoff' && this.deps.clock.nowMs() < this.backoffUntilMs;
  }

  /**
   * Queues `check`; returns its id, or -1 when the queue is at its bound (nothing queued).
   * `onReply` is called exactly once unless `cancel(id)` is called first.
   */
  send(check: unknown, onReply: (r: ConnReply) => void): number {
    if (this.stateNow === 'closed' || this.queue.length >= this.options.queueMax) return -1;
    const id = this.nextId++;
    this.pending.set(id, { check, onReply, sent: false });
    this.queue.push(id);
    if (this.stateNow === 'open') this.scheduleFlush();
    else this.connect();
    return id;
  }

  /** True when the socket is open; otherwise starts connecting (unless closed or backing off) and returns false. */
  ensureOpen(): boolean {
    if (this.stateNow === 'open' && this.ws !== null) return true;
    if (this.stateNow !== 'closed') this.connect();
    return false;
  }

  /** Sends a frame that expects no reply (caller reports) if the socket is open; false when it is not (nothing sent). */
  sendFrame(bytes: Uint8Array): boolean {
    if (this.stateNow !== 'open' || this.ws === null) return false;
    this.ws.send(bytes, { binary: true });
    return true;
  }

  /** Forgets `id` (its deadline passed); a late reply for it is dropped. */
  cancel(id: number): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    if (p.sent) this.inflight--;
    // Unsent ids stay in `queue` and are skipped at flush: removing them here would be O(n).
  }

  close(): void {
    this.stateNow = 'closed';
    if (this.connectTimer !== null) this.deps.timers.clearTimeout(this.connectTimer);
    this.connectTimer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws !== null) {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
    }
    this.failAll('client closed');
  }

  private connect(): void {
    if (this.stateNow === 'connecting' || this.stateNow === 'open' || this.stateNow === 'closed') return;
    const waitMs = this.backoffUntilMs - this.deps.clock.nowMs();
    if (this.stateNow === 'backoff' && waitMs > 0) {
      // Still backing off: what is queued waits for the next attempt (the caller routes
      // around a failing node when it has another; each check's deadline bounds the wait).
      if (this.connectTimer === null) {
        this.connectTimer = this.deps.timers.setTimeout(() => {
          this.connectTimer = null;
          if (this.queue.length > 0) this.connect();
        }, Math.ceil(waitMs));
      }
      return;
    }
    this.stateNow = 'connecting';
    const headers: Record<string, string> = {};
    if (this.options.token !== undefined) headers['authorization'] = `Bearer ${this.options.token}`;
    const ws = new WebSocket(`ws://${this.options.address}/v1/ws`, { headers, handshakeTimeout: this.options.connectTimeoutMs, perMessageDeflate: false });
    ws.binaryType = 'nodebuffer';
    this.ws = ws;
    ws.on('open', () => {
      if (this.ws !== ws) return;
      this.stateNow = 'open';
      this.failures = 0;
      this.scheduleFlush();
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (this.ws !== ws || !isBinary) return;
      this.onFrame(data);
    });
    ws.on('error', () => {
      // 'close' follows every 'error'; handled there.
    });
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.onLost();
    });
  }

  private onLost(): void {
    if (this.stateNow === 'closed') return;
    this.failures++;
    const ceilingMs = Math.min(this.options.backoffMsMax, this.options.backoffMsMin * 2 ** Math.min(this.failures - 1, 16));
    // Full jitter: many clients losing one node do not come back in lockstep.
    this.backoffUntilMs = this.deps.clock.nowMs() + this.options.backoffMsMin / 2 + this.deps.random() * ceilingMs;
    this.stateNow = 'backoff';
    this.failAll(`connection to ${this.options.address} lost`);
  }

  private failAll(message: string): void {
    const all = [...this.pending.entries()];
    this.pending.clear();
    this.queue = [];
    this.inflight = 0;
    for (const [id, p] of all) p.onReply({ id, ok: false, error: { code: 'RL_ERR_UNAVAILABLE', message }, transport: true });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // setImmediate: everything issued in this turn (including promise continuations) shares a frame.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const ws = this.ws;
    if (ws === null || this.stateNow !== 'open') return;
    while (this.queue.length > 0 && this.inflight < this.options.inflightMax) {
      const batch: [number, unknown][] = [];
      let taken = 0;
      while (taken < this.queue.length && batch.length < BATCH_CHECKS_MAX && this.inflight < this.options.inflightMax) {
        const id = this.queue[taken++] as number;
        const p = this.pending.get(id);
        if (p === undefined) continue; // cancelled before it was sent
        p.sent = true;
        this.inflight++;
        batch.push([id, p.check]);
      }
      this.queue = this.queue.slice(taken);
      if (batch.length > 0) ws.send(encodeRequestFrame(batch), { binary: true });
    }
  }

  private onFrame(data: Buffer): void {
    let replies: WireReply[];
    try {
      replies = decodeReplyFrame(data);
    } catch {
      return; // an unreadable frame: the checks it answered run into their deadlines and retry
    }
    for (const r of replies) {
      const p = this.pending.get(r.id);
      if (p === undefined) continue;
      this.pending.delete(r.id);
      if (p.sent) this.inflight--;
      p.onReply(r);
    }
    if (this.queue.length > 0) this.scheduleFlush();
  }
}
