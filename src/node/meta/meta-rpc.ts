/**
 * Request/answer over the peer transport for admin operations that must run on a
 * particular node (configuration writes on the meta leader, a leadership transfer on the
 * group's leader). Bounded in flight and in time: an answer that never comes becomes
 * RL_ERR_TIMEOUT (the write may or may not have applied; `If-Match` makes a retry safe).
 */
import type { HostTransport } from '../../../cluster/host/types.js';
import { ERROR_CODES, RateLimiterError, type ErrorCode } from '../../protocol/errors.js';

/** The transport channel of admin requests: above every group id, below the forward and clock channels. */
export const META_CHANNEL = 0xffff_fffd;

type Frame =
  | { readonly t: 'req'; readonly id: number; readonly body: unknown }
  | { readonly t: 'res'; readonly id: number; readonly body: unknown }
  | { readonly t: 'err'; readonly id: number; readonly code: ErrorCode; readonly message: string; readonly details?: Record<string, unknown> };

interface Pending {
  resolve(body: unknown): void;
  reject(err: RateLimiterError): void;
  timer: NodeJS.Timeout;
}

export interface MetaRpcOptions {
  /** How long to wait for an answer. A config write waits for a quorum commit: 5 s is far above that. [5000] */
  readonly timeoutMs?: number;
  /** Requests in flight at most; admin traffic is tiny, 1000 bounds a misbehaving script. [1000] */
  readonly inflightMax?: number;
}

export class MetaRpc {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly timeoutMs: number;
  private readonly inflightMax: number;

  constructor(
    private readonly transport: Pick<HostTransport, 'send'>,
    /** Serves a request from `from`; throw/reject with a RateLimiterError to answer an error. */
    private readonly serve: (from: string, body: unknown) => Promise<unknown>,
    options: MetaRpcOptions = {},
    private readonly canReach: (to: string) => boolean = () => true,
  ) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.inflightMax = options.inflightMax ?? 1000;
  }

  receive(from: string, raw: unknown): void {
    const f = raw as Frame;
    if (typeof f !== 'object' || f === null || typeof f.id !== 'number') return;
    if (f.t === 'req') {
      this.serve(from, f.body).then(
        (body) => this.transport.send(from, META_CHANNEL, { t: 'res', id: f.id, body }),
        (err: unknown) => {
          const e = err instanceof RateLimiterError ? err : new RateLimiterError('RL_ERR_UNAVAILABLE', 'internal error on the serving node');
          const details = e.details === undefined ? {} : { details: { ...e.details } };
          this.transport.send(from, META_CHANNEL, { t: 'err', id: f.id, code: e.code, message: e.message, ...details });
        },
      );
      return;
    }
    const p = this.pending.get(f.id);
    if (p === undefined) return; // timed out already
    this.pending.delete(f.id);
    clearTimeout(p.timer);
    if (f.t === 'res') p.resolve(f.body);
    else if (f.t === 'err') {
      const code = ERROR_CODES.includes(f.code) ? f.code : 'RL_ERR_UNAVAILABLE';
      const details = typeof f.details === 'object' && f.details !== null ? { details: f.details } : {};
      p.reject(new RateLimiterError(code, f.message, details));
    }
  }

  request(to: string, body: unknown): Promise<unknown> {
    if (this.pending.size >= this.inflightMax) {
      return Promise.reject(new RateLimiterError('RL_ERR_UNAVAILABLE', `too many admin requests in flight (${this.inflightMax})`));
    }
    if (!this.canReach(to)) {
      return Promise.reject(new RateLimiterError('RL_ERR_UNAVAILABLE', `node ${to} is unreachable from this node right now`, { details: { leader: to } }));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RateLimiterError('RL_ERR_TIMEOUT', `no answer from node ${to} within ${this.timeoutMs} ms (the write may or may not have applied)`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.transport.send(to, META_CHANNEL, { t: 'req', id, body });
    });
  }

  close(): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new RateLimiterError('RL_ERR_UNAVAILABLE', 'node is shutting down'));
      this.pending.delete(id);
    }
  }
}
