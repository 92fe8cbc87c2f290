/**
 * The check path shared by every limiter: resolve the rule, answer `blocked` and
 * `unlimited` rules without state, run the algorithm against the state the caller's
 * `StateAccess` shows, store the next state, and shape the answer (shadow rules allow
 * but report). Time is the caller's: `nowMs` must already be monotonic.
 */
import { RateLimiterError } from '../protocol/errors.js';
import { decide, stateExpiresAtMs, type AnyAlgorithmResult } from './algorithm.js';
import type { StateAccess } from './store.js';
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

/** The rule for (key, resource, tier), or RL_ERR_UNKNOWN_RESOURCE. */
export function ruleFor(resolver: RuleResolver, key: string, resource: string, tier: string | undefined): CompiledRule {
  const rule = resolver.resolve(key, resource, tier);
  if (rule === null) {
    throw new RateLimiterError(
      'RL_ERR_UNKNOWN_RESOURCE',
      `no rule matches resource "${resource}" (config version ${resolver.version} has no rule for it and no default on its chain)`,
      { details: { resource, configVersion: resolver.version } },
    );
  }
  return rule;
}

/**
 * Checks `cost` units of `resource` for `key` at `nowMs` and stores the next state.
 *
 * @example
 * ```ts
 * const r = evaluate(store, config, 'user:42', 'search', 1, undefined, nowMs);
 * ```
 */
export function evaluate(
  access: StateAccess,
  resolver: RuleResolver,
  key: string,
  resource: string,
  cost: number,
  tier: string | undefined,
  nowMs: TimestampMs,
): CheckResult {
  const rule = ruleFor(resolver, key, resource, tier);
  if (rule.blocked || rule.unlimited) return fixedResult(rule);
  const d = decide(rule, access.get(key, resource, rule.stateShape, rule.algorithm), cost, nowMs);
  if (d.next !== null) access.set(key, resource, rule.stateShape, rule.algorithm, d.next, stateExpiresAtMs(rule, d.next));
  return toResult(rule, d);
}

/**
 * Checks `cost` units of every resource in `resources` for `key`, atomically: allowed
 * only if every rule allows, and then counted against all; otherwise nothing is counted.
 * A denial's `retryAfterMs` is the largest of the denying rules' (after it, each allows).
 */
export function evaluateMulti(
  access: StateAccess,
  resolver: RuleResolver,
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
  const rules = resources.map((r) => ruleFor(resolver, key, r, tier));
  const decisions: (AnyAlgorithmResult | null)[] = rules.map((rule, i) =>
    rule.blocked || rule.unlimited ? null : decide(rule, access.get(key, resources[i] as string, rule.stateShape, rule.algorithm), cost, nowMs),
  );
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
      access.set(key, resources[i] as string, rule.stateShape, rule.algorithm, d.next, stateExpiresAtMs(rule, d.next));
    });
  }
  return { ...combine(results, allAllowed), results };
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
