/**
 * A complete in-process limiter: rule resolution, per-key state and the algorithms,
 * with a clock that never runs backwards. The shard state machine of a cluster node uses
 * the same pieces; this class is also what the benchmark measures and what the SDK's
 * `local` degradation policy can run.
 */
import { RateLimiterError } from '../protocol/errors.js';
import { decide, stateExpiresAtMs, type AnyAlgorithmResult } from './algorithm.js';
import { concurrencyExpiresAtMs, concurrencyRelease, type ConcurrencyState } from './concurrency.js';
import { DEFAULT_SLOTS_MAX, NO_SLOT, StateStore, type StoredState } from './store.js';
import { RETRY_NEVER_MS, UNLIMITED, type CompiledRule, type Decision, type RuleResolver, type TimestampMs } from './types.js';

export interface CheckResult extends Decision {
  /** Id of the rule that decided, e.g. `tiers.pro.resources.search`. */
  readonly rule: string;
  /** True when a `shadow` rule would have denied; `allowed` is then true all the same. */
  readonly shadowDenied: boolean;
  /** Concurrency acquires only: the id to release the lease with. */
  readonly leaseId: string | null;
}

export interface MultiCheckResult extends CheckResult {
  /** One result per resource, in request order. */
  readonly results: readonly CheckResult[];
}

export interface LimiterOptions {
  readonly resolver: RuleResolver;
  /** Bound on (key, resource) states held; see StateStore. */
  readonly slotsMax?: number;
}

const LIMITER_OPTION_NAMES: ReadonlySet<string> = new Set(['resolver', 'slotsMax']);

/**
 * @example
 * ```ts
 * const limiter = new Limiter({ resolver: loadConfigOrThrow('defaults: { limit: 10, period: 1s }') });
 * const r = limiter.check('user:42', 'search', 1, undefined, Date.now());
 * if (!r.allowed) respond429(r.retryAfterMs);
 * ```
 */
export class Limiter {
  private resolver: RuleResolver;
  private readonly store: StateStore;
  private clock = 0;

  constructor(options: LimiterOptions) {
    for (const name of Object.keys(options)) {
      if (!LIMITER_OPTION_NAMES.has(name)) throw new TypeError(`Unknown Limiter option '${name}'`);
    }
    this.resolver = options.resolver;
    this.store = new StateStore({ slotsMax: options.slotsMax ?? DEFAULT_SLOTS_MAX });
  }

  /** The latest time seen; checks stamped earlier are decided as if at this time. */
  get clockMs(): TimestampMs {
    return this.clock;
  }

  get configVersion(): number {
    return this.resolver.version;
  }

  /** (key, resource) pairs with state. */
  get stateCount(): number {
    return this.store.size;
  }

  /** Every held state, decoded (snapshots, tests). */
  states(): IterableIterator<StoredState> {
    return this.store.entries();
  }

  /** Switches to a new configuration. State carries over wherever the rule's state shape is unchanged. */
  setResolver(resolver: RuleResolver): void {
    this.resolver = resolver;
  }

  /**
   * Checks `cost` units of `resource` for `key`. Throws RL_ERR_UNKNOWN_RESOURCE when no
   * rule matches; a denial is a normal result.
   */
  check(key: string, resource: string, cost: number, tier: string | undefined, nowMs: TimestampMs): CheckResult {
    const now = this.tick(nowMs);
    const rule = this.ruleFor(key, resource, tier);
    if (rule.blocked || rule.unlimited) return fixedResult(rule);
    const slot = this.store.find(key, resource);
    const state = slot !== NO_SLOT && this.store.shapeOf(slot) === rule.stateShape ? this.store.read(slot, rule.algorithm) : undefined;
    const d = decide(rule, state, cost, now);
    if (d.next !== null) {
      const expiresAtMs = stateExpiresAtMs(rule, d.next);
      if (slot !== NO_SLOT) this.store.write(slot, rule.stateShape, rule.algorithm, d.next, expiresAtMs);
      else this.store.put(key, resource, rule.stateShape, rule.algorithm, d.next, expiresAtMs);
    }
    return toResult(rule, d);
  }

  /**
   * Checks `cost` units of every resource in `resources` for `key`, atomically: allowed
   * only if every rule allows, and then counted against all; otherwise nothing is counted.
   * A denial's `retryAfterMs` is the largest of the denying rules' (after it, each allows).
   */
  checkMulti(
    key: string,
    resources: readonly string[],
    cost: number,
    tier: string | undefined,
    nowMs: TimestampMs,
  ): MultiCheckResult {
    if (resources.length === 0) throw new RangeError(`'resources' must name at least one resource`);
    if (new Set(resources).size !== resources.length) {
      throw new RangeError(`'resources' must not repeat a resource (got ${JSON.stringify(resources)})`);
    }
    const now = this.tick(nowMs);
    const rules = resources.map((r) => this.ruleFor(key, r, tier));
    const decisions: (AnyAlgorithmResult | null)[] = rules.map((rule, i) => {
      if (rule.blocked || rule.unlimited) return null;
      const slot = this.store.find(key, resources[i] as string);
      const state = slot !== NO_SLOT && this.store.shapeOf(slot) === rule.stateShape ? this.store.read(slot, rule.algorithm) : undefined;
      return decide(rule, state, cost, now);
    });
    const allAllowed = rules.every((rule, i) => {
      const d = decisions[i];
      return d === null || d === undefined ? !rule.blocked : d.allowed || rule.shadow;
    });
    // When nothing is counted, no lease was taken either: results keep only the decisions.
    const results = rules.map((rule, i) => {
      const d = decisions[i];
      const r = d === null || d === undefined ? fixedResult(rule) : toResult(rule, d);
      return allAllowed || r.leaseId === null ? r : { ...r, leaseId: null };
    });
    if (allAllowed) {
      rules.forEach((rule, i) => {
        const d = decisions[i];
        if (d === null || d === undefined || d.next === null || !d.allowed) return;
        this.store.put(key, resources[i] as string, rule.stateShape, rule.algorithm, d.next, stateExpiresAtMs(rule, d.next));
      });
    }
    return { ...combine(results, allAllowed), results };
  }

  /** Releases a concurrency lease early. True if the lease was held. */
  release(key: string, resource: string, leaseId: string, nowMs: TimestampMs): boolean {
    const now = this.tick(nowMs);
    const slot = this.store.find(key, resource);
    if (slot === NO_SLOT || this.store.shapeOf(slot) !== 'concurrency') return false;
    const state = this.store.read(slot, 'concurrency') as ConcurrencyState;
    const next = concurrencyRelease(state, leaseId, now);
    if (next === null) return false;
    this.store.write(slot, 'concurrency', 'concurrency', next, concurrencyExpiresAtMs(next));
    return true;
  }

  /** Drops expired state, visiting at most `slotsBudget` slots; see StateStore.sweep. */
  sweep(nowMs: TimestampMs, slotsBudget: number): number {
    return this.store.sweep(this.tick(nowMs), slotsBudget);
  }

  private tick(nowMs: TimestampMs): TimestampMs {
    if (nowMs > this.clock) this.clock = nowMs;
    return this.clock;
  }

  private ruleFor(key: string, resource: string, tier: string | undefined): CompiledRule {
    const rule = this.resolver.resolve(key, resource, tier);
    if (rule === null) {
      throw new RateLimiterError(
        'RL_ERR_UNKNOWN_RESOURCE',
        `no rule matches resource "${resource}" (config version ${this.resolver.version} has no rule for it and no default on its chain)`,
        { details: { resource, configVersion: this.resolver.version } },
      );
    }
    return rule;
  }
}

function toResult(rule: CompiledRule, d: AnyAlgorithmResult): CheckResult {
  if (!d.allowed && rule.shadow) {
    return {
      allowed: true,
      limit: d.limit,
      remaining: d.remaining,
      resetMs: d.resetMs,
      retryAfterMs: 0,
      rule: rule.id,
      shadowDenied: true,
      leaseId: null,
    };
  }
  return {
    allowed: d.allowed,
    limit: d.limit,
    remaining: d.remaining,
    resetMs: d.resetMs,
    retryAfterMs: d.retryAfterMs,
    rule: rule.id,
    shadowDenied: false,
    leaseId: d.leaseId ?? null,
  };
}

/** The answer of a `blocked` or `unlimited` rule: fixed, and never touching state. */
function fixedResult(rule: CompiledRule): CheckResult {
  return rule.blocked
    ? { allowed: false, limit: 0, remaining: 0, resetMs: 0, retryAfterMs: RETRY_NEVER_MS, rule: rule.id, shadowDenied: false, leaseId: null }
    : { allowed: true, limit: UNLIMITED, remaining: UNLIMITED, resetMs: 0, retryAfterMs: 0, rule: rule.id, shadowDenied: false, leaseId: null };
}

/** The combined answer: the latest-allowing denial, or else the tightest allowed rule. */
function combine(results: readonly CheckResult[], allAllowed: boolean): CheckResult {
  let pick = results[0] as CheckResult;
  for (const r of results) {
    if (allAllowed) {
      if (pick.remaining === UNLIMITED || (r.remaining !== UNLIMITED && r.remaining < pick.remaining)) pick = r;
    } else if (!r.allowed) {
      if (pick.allowed || r.retryAfterMs === RETRY_NEVER_MS || (pick.retryAfterMs !== RETRY_NEVER_MS && r.retryAfterMs > pick.retryAfterMs)) {
        pick = r;
      }
    }
  }
  return {
    ...pick,
    shadowDenied: results.some((r) => r.shadowDenied),
    leaseId: allAllowed ? pick.leaseId : null,
  };
}
