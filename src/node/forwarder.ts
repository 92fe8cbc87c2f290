/**
 * Forwards checks from a node that does not lead the key's group to the node that does,
 * over the peer transport on a reserved channel, so HTTP callers never need to know
 * where a key lives. Requests are bounded in number and time; an answer that never comes
 * becomes RL_ERR_TIMEOUT (the check may or may not have been counted).
 */
import type { HostTransport } from '../../cluster/host/types.js';
import type { CheckInput, CheckOutput } from '../protocol/check.js';
import { ERROR_CODES, RateLimiterError, type ErrorCode } from '../protocol/errors.js';

/** The transport channel of forwarded checks: above every group id in use. */
export const FORWARD_CHANNEL = 0xffff_ffff;

type Frame =
  | { readonly t: 'req'; readonly id: number; readonly check: CheckInput; readonly hops?: number }
  | { readonly t: 'res'; readonly id: number; readonly output: CheckOutput }
  | { readonly t: 'err'; readonly id: number; readonly code: ErrorCode; readonly message: string };

interface Pending {
  resolve(o: CheckOutput): void;
  reject(e: RateLimiterError): void;
  timer: NodeJS.Timeout;
}

export interface ForwarderOptions {
  /** How long to wait for the leader's answer. [1000] */
  readonly timeoutMs?: number;
  /** Forwarded checks in flight at most; beyond it new ones fail fast with RL_ERR_UNAVAILABLE. [10000] */
  readonly inflightMax?: number;
}

export class Forwarder {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly timeoutMs: number;
  private readonly inflightMax: number;

  constructor(
    private readonly transport: HostTransport,
    /** Serves a forwarded check; `hops` is how many nodes it has passed through (1 = first forward). */
    private readonly serve: (check: CheckInput, hops: number) => Promise<CheckOutput>,
    options: ForwarderOptions = {},
    /** False when the transport has no live connection to the node: fail fast instead of waiting out the timeout. */
    private readonly canReach: (to: string) => boolean = () => true,
  ) {
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.inflightMax = options.inflightMax ?? 10_000;
  }

  /** Handles a frame of the forward channel (call from the transport's message handler). */
  receive(from: string, raw: unknown): void {
    const f = raw as Frame;
    if (typeof f !== 'object' || f === null || typeof f.id !== 'number') return;
    if (f.t === 'req') {
      // Bounded: a forwarded check is forwarded at most once more (see MAX_HOPS at the caller).
      const hops = typeof f.hops === 'number' && Number.isInteger(f.hops) && f.hops >= 1 ? f.hops : 1;
      this.serve(f.check, hops).then(
        (output) => this.transport.send(from, FORWARD_CHANNEL, { t: 'res', id: f.id, output }),
        (err: unknown) => {
          const e = err instanceof RateLimiterError ? err : new RateLimiterError('RL_ERR_UNAVAILABLE', 'internal error at the leader');
          this.transport.send(from, FORWARD_CHANNEL, { t: 'err', id: f.id, code: e.code, message: e.message });
        },
      );
      return;
    }
    const p = this.pending.get(f.id);
    if (p === undefined) return; // timed out already
    this.pending.delete(f.id);
    clearTimeout(p.timer);
    if (f.t === 'res') p.resolve(f.output);
    else if (f.t === 'err') p.reject(new RateLimiterError(ERROR_CODES.includes(f.code) ? f.code : 'RL_ERR_UNAVAILABLE', `from leader: ${f.message}`));
  }

  /** Sends `check` to node `to` (as its `hops`-th hop, from 1) and waits for its answer. */
  forward(to: string, check: CheckInput, hops = 1): Promise<CheckOutput> {
    if (this.pending.size >= this.inflightMax) {
      return Promise.reject(new RateLimiterError('RL_ERR_UNAVAILABLE', `too many forwarded checks in flight (${this.inflightMax})`));
    }
    if (!this.canReach(to)) {
      return Promise.reject(new RateLimiterError('RL_ERR_UNAVAILABLE', `leader ${to} is unreachable from this node right now`, { details: { leader: to } }));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RateLimiterError('RL_ERR_TIMEOUT', `no answer from leader ${to} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.transport.send(to, FORWARD_CHANNEL, { t: 'req', id, check, hops });
    });
  }

  /** Fails every forwarded check still waiting. */
  close(): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new RateLimiterError('RL_ERR_UNAVAILABLE', 'node is shutting down'));
      this.pending.delete(id);
    }
  }
}
