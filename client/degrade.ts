/**
 * Degradation policies: what a check answers when its group cannot answer within the
 * deadline. `failClosed` denies, `failOpen` allows, `local` runs an in-process GCRA
 * limiter (src/engine `Limiter` with a one-rule resolver) at `share` of the limit, so N
 * clients sharing a limit with `share = 1/N` together stay near it while the cluster is away.
 */
import type { CheckOutput } from '../src/protocol/check.js';
import { Limiter } from '../src/engine/limiter.js';
import type { CompiledRule, RuleResolver } from '../src/engine/types.js';

export type DegradePolicy =
  | 'error'
  | 'failClosed'
  | 'failOpen'
  | { readonly local: { readonly limit: number; readonly periodMs: number; readonly share?: number } };

export type DegradedSource = 'failClosed' | 'failOpen' | 'local';

/** Retry hint of a fail-closed denial: long enough not to hammer, short enough to notice recovery. */
const FAIL_CLOSED_RETRY_MS = 1000;

/** Local state bound: keys held by one client's fallback limiter (oldest evicted by the engine store). */
const LOCAL_SLOTS_MAX = 10_000;

/**
 * Checks one policy value; throws naming `where` and the value.
 *
 * @example
 * ```ts
 * validatePolicy({ local: { limit: 100, periodMs: 60_000, share: 0.5 } }, 'onUnavailable'); // ok
 * validatePolicy('sometimes', 'onUnavailable'); // TypeError
 * ```
 */
export function validatePolicy(p: unknown, where: string): DegradePolicy {
  if (p === 'error' || p === 'failClosed' || p === 'failOpen') return p;
  if (typeof p === 'object' && p !== null && 'local' in p) {
    const l = (p as { local: unknown }).local as Record<string, unknown> | null;
    if (typeof l !== 'object' || l === null) throw new TypeError(`'${where}.local' must be an object (got ${String(l)})`);
    for (const k of Object.keys(l)) if (!['limit', 'periodMs', 'share'].includes(k)) throw new TypeError(`Unknown option '${where}.local.${k}'`);
    const { limit, periodMs, share } = l;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) throw new RangeError(`'${where}.local.limit' must be a positive integer (got ${String(limit)})`);
    if (typeof periodMs !== 'number' || !Number.isInteger(periodMs) || periodMs < 1) throw new RangeError(`'${where}.local.periodMs' must be a positive integer (got ${String(periodMs)})`);
    if (share !== undefined && (typeof share !== 'number' || !(share > 0 && share <= 1))) throw new RangeError(`'${where}.local.share' must be in (0, 1] (got ${String(share)})`);
    return share === undefined ? { local: { limit, periodMs } } : { local: { limit, periodMs, share } };
  }
  throw new TypeError(`'${where}' must be 'error', 'failClosed', 'failOpen' or { local: { limit, periodMs, share? } } (got ${JSON.stringify(p)})`);
}

function oneRule(id: string, limit: number, periodMs: number): RuleResolver {
  const rule: CompiledRule = {
    id,
    algorithm: 'gcra',
    limit,
    periodMs,
    burst: limit,
    leaseMs: 0,
    shadow: false,
    consistency: 'strict',
    blocked: false,
    unlimited: false,
    stateShape: 'gcra',
  };
  return { version: 0, resolve: () => rule };
}

/**
 * @example
 * ```ts
 * const d = new Degrader({ default: 'failClosed', resources: { search: { local: { limit: 100, periodMs: 60_000, share: 0.25 } } } });
 * const answer = d.answer('search', 'user:1', 1, undefined, Date.now()); // { output, source: 'local' } or null for 'error'
 * ```
 */
export class Degrader {
  /** One limiter per local-policy resource; bounded by the configured resources. */
  private readonly limiters = new Map<string, Limiter>();

  constructor(private readonly policies: { readonly default: DegradePolicy; readonly resources: Readonly<Record<string, DegradePolicy>> }) {}

  policyFor(resource: string): DegradePolicy {
    return this.policies.resources[resource] ?? this.policies.default;
  }

  /**
   * The degraded answer for a check of `resources`, or null when the policy is `error`.
   * Several resources: the strictest policy decides (any failClosed denies; local before failOpen).
   */
  answer(resources: readonly string[], key: string, cost: number, tier: string | undefined, nowMs: number): { output: CheckOutput; source: DegradedSource } | null {
    const policies = resources.map((r) => [r, this.policyFor(r)] as const);
    if (policies.some(([, p]) => p === 'error')) return null;
    if (policies.some(([, p]) => p === 'failClosed')) {
      return { source: 'failClosed', output: { allowed: false, limit: 0, remaining: 0, resetMs: FAIL_CLOSED_RETRY_MS, retryAfterMs: FAIL_CLOSED_RETRY_MS, rule: 'sdk.failClosed' } };
    }
    let out: CheckOutput | null = null;
    for (const [resource, p] of policies) {
      if (typeof p !== 'object') continue;
      const limiter = this.limiterFor(resource, p);
      let r;
      try {
        r = limiter.check(key, resource, cost, tier, Math.floor(nowMs));
      } catch {
        // RL_ERR_STATE_FULL: free idle state once, else deny (the safe side while degraded).
        limiter.sweep(Math.floor(nowMs), LOCAL_SLOTS_MAX);
        try {
          r = limiter.check(key, resource, cost, tier, Math.floor(nowMs));
        } catch {
          return { source: 'local', output: { allowed: false, limit: p.local.limit, remaining: 0, resetMs: FAIL_CLOSED_RETRY_MS, retryAfterMs: FAIL_CLOSED_RETRY_MS, rule: `sdk.local.${resource}` } };
        }
      }
      // First denial, else the last allowance (the local limiter has no multi-resource atomicity to offer across limiters).
      if (out === null || out.allowed) out = { allowed: r.allowed, limit: r.limit, remaining: r.remaining, resetMs: r.resetMs, retryAfterMs: r.retryAfterMs, rule: `sdk.local.${resource}` };
    }
    if (out !== null) return { source: 'local', output: out };
    return { source: 'failOpen', output: { allowed: true, limit: -1, remaining: -1, resetMs: 0, retryAfterMs: 0, rule: 'sdk.failOpen' } };
  }

  private limiterFor(resource: string, p: { readonly local: { readonly limit: number; readonly periodMs: number; readonly share?: number } }): Limiter {
    let l = this.limiters.get(resource);
    if (l === undefined) {
      const limit = Math.max(1, Math.floor(p.local.limit * (p.local.share ?? 1)));
      l = new Limiter({ resolver: oneRule(`sdk.local.${resource}`, limit, p.local.periodMs), slotsMax: LOCAL_SLOTS_MAX });
      this.limiters.set(resource, l);
    }
    return l;
  }
}
