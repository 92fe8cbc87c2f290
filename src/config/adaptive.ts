/**
 * The optional `adaptive` block of a resource (`resources.<name>.adaptive`): the bounds
 * and target of the controller that scales the resource's limits with the load of the
 * service it protects (docs/adaptive.md), checked field by field; and the scaling of one
 * rule by a factor, the same pure function on every node.
 */
import type { CompiledRule } from '../engine/types.js';
import { childPath, isPlainMap, showValue, type ConfigIssue } from './issue.js';
import {
  ADAPTIVE_FACTOR_MAX,
  ADAPTIVE_FACTOR_MIN,
  ADAPTIVE_INTERVAL_MS_MAX,
  ADAPTIVE_INTERVAL_MS_MIN,
  ADAPTIVE_LATENCY_TARGET_MS_MAX,
  CONCURRENCY_LIMIT_MAX,
  EXACT_INTEGER_MAX,
  RATE_MAX,
} from './limits.js';
import { didYouMean } from './suggest.js';

/** What the controller steers toward: the service's p99 latency, or its error rate. */
export type AdaptiveTarget = { readonly kind: 'latencyP99Ms'; readonly value: number } | { readonly kind: 'errorRate'; readonly value: number };

/** A resource's adaptive settings, validated. `minFactor <= 1 <= maxFactor` always holds. */
export interface AdaptiveSpec {
  readonly resource: string;
  readonly minFactor: number;
  readonly maxFactor: number;
  readonly target: AdaptiveTarget;
  readonly intervalMs: number;
}

export const ADAPTIVE_FIELDS: readonly string[] = ['minFactor', 'maxFactor', 'target', 'intervalMs'];
const TARGET_FIELDS: readonly string[] = ['latencyP99Ms', 'errorRate'];
/** Defaults of the fields a block may omit (the issue's example values). */
export const ADAPTIVE_DEFAULTS = Object.freeze({ minFactor: 0.1, maxFactor: 1.5, intervalMs: 1000 });

function readNumber(raw: unknown, path: string, issues: ConfigIssue[], check: (n: number) => string | null): number | null {
  if (typeof raw !== 'number' || !Number.isFinite(raw)) {
    issues.push({ path, message: `${showValue(raw)} is not a number`, value: raw });
    return null;
  }
  const problem = check(raw);
  if (problem === null) return raw;
  issues.push({ path, message: `${showValue(raw)} ${problem}`, value: raw });
  return null;
}

function readTarget(raw: unknown, path: string, issues: ConfigIssue[]): AdaptiveTarget | null {
  if (!isPlainMap(raw)) {
    const why = raw === undefined ? 'missing: ' : `${showValue(raw)} is not a map; `;
    issues.push({ path, message: `${why}use { latencyP99Ms: 200 } or { errorRate: 0.01 }`, value: raw });
    return null;
  }
  const keys = Object.keys(raw);
  for (const k of keys) {
    if (!TARGET_FIELDS.includes(k)) issues.push({ path: childPath(path, k), message: `unknown field ${JSON.stringify(k)}${didYouMean(k, TARGET_FIELDS)} (use latencyP99Ms or errorRate)`, value: raw[k] });
  }
  const given = keys.filter((k) => TARGET_FIELDS.includes(k));
  if (given.length !== 1) {
    issues.push({ path, message: `a target has exactly one of latencyP99Ms or errorRate (got ${given.length === 0 ? 'neither' : 'both'})`, value: raw });
    return null;
  }
  if (given[0] === 'latencyP99Ms') {
    const v = readNumber(raw['latencyP99Ms'], childPath(path, 'latencyP99Ms'), issues, (n) =>
      n > 0 && n <= ADAPTIVE_LATENCY_TARGET_MS_MAX ? null : `is not a latency in ms above 0 and at most ${ADAPTIVE_LATENCY_TARGET_MS_MAX}`,
    );
    return v === null ? null : { kind: 'latencyP99Ms', value: v };
  }
  const v = readNumber(raw['errorRate'], childPath(path, 'errorRate'), issues, (n) => (n > 0 && n < 1 ? null : 'is not an error rate above 0 and below 1 (0.01 is 1%)'));
  return v === null ? null : { kind: 'errorRate', value: v };
}

/**
 * Checks the `adaptive` block at `path` of resource `resource`, whose rule is `rule` (null
 * when the rule itself has errors). Returns the spec, or null after adding every problem.
 *
 * @example
 * ```ts
 * const issues: ConfigIssue[] = [];
 * readAdaptive({ target: { latencyP99Ms: 200 } }, 'resources.search.adaptive', 'search', rule, issues);
 * // { resource: 'search', minFactor: 0.1, maxFactor: 1.5, target: { kind: 'latencyP99Ms', value: 200 }, intervalMs: 1000 }
 * ```
 */
export function readAdaptive(raw: unknown, path: string, resource: string, rule: CompiledRule | null, issues: ConfigIssue[]): AdaptiveSpec | null {
  const before = issues.length;
  if (!isPlainMap(raw)) {
    issues.push({ path, message: `expected a map with target (and optionally minFactor, maxFactor, intervalMs), got ${showValue(raw)}`, value: raw });
    return null;
  }
  for (const k of Object.keys(raw)) {
    if (!ADAPTIVE_FIELDS.includes(k)) issues.push({ path: childPath(path, k), message: `unknown field ${JSON.stringify(k)}${didYouMean(k, ADAPTIVE_FIELDS)}`, value: raw[k] });
  }
  const factor = (field: 'minFactor' | 'maxFactor', ok: (n: number) => boolean, range: string): number =>
    raw[field] === undefined ? ADAPTIVE_DEFAULTS[field] : (readNumber(raw[field], childPath(path, field), issues, (n) => (ok(n) ? null : `is not a factor ${range}`)) ?? Number.NaN);
  // The factor drifts back to 1.0 when signals go stale, so 1.0 must lie inside the bounds.
  const minFactor = factor('minFactor', (n) => n >= ADAPTIVE_FACTOR_MIN && n <= 1, `from ${ADAPTIVE_FACTOR_MIN} to 1 (1.0 is where stale signals return to)`);
  const maxFactor = factor('maxFactor', (n) => n >= 1 && n <= ADAPTIVE_FACTOR_MAX, `from 1 to ${ADAPTIVE_FACTOR_MAX} (1.0 is where stale signals return to)`);
  const intervalRaw = raw['intervalMs'];
  const intervalMs =
    intervalRaw === undefined
      ? ADAPTIVE_DEFAULTS.intervalMs
      : readNumber(intervalRaw, childPath(path, 'intervalMs'), issues, (n) =>
          Number.isInteger(n) && n >= ADAPTIVE_INTERVAL_MS_MIN && n <= ADAPTIVE_INTERVAL_MS_MAX ? null : `is not a whole number of ms from ${ADAPTIVE_INTERVAL_MS_MIN} to ${ADAPTIVE_INTERVAL_MS_MAX}`,
        );
  const target = readTarget(raw['target'], childPath(path, 'target'), issues);
  if (rule !== null && (rule.blocked || rule.unlimited)) {
    issues.push({ path, message: `adaptive does not apply to a ${rule.blocked ? 'blocked' : 'unlimited'} rule (it never counts)`, value: raw });
  }
  if (issues.length > before || target === null || intervalMs === null) return null;
  return Object.freeze({ resource, minFactor, maxFactor, target: Object.freeze(target), intervalMs });
}

/** A factor kept inside the spec's bounds; anything not a finite number reads as 1.0. */
export function clampFactor(spec: Pick<AdaptiveSpec, 'minFactor' | 'maxFactor'>, factor: number): number {
  if (!Number.isFinite(factor)) return 1;
  return Math.min(spec.maxFactor, Math.max(spec.minFactor, factor));
}

/** `round(value × factor)`, at least 1 (a limit of 0 is `blocked`, never a controller's output), at most `max`. */
function scaled(value: number, factor: number, max: number): number {
  return Math.min(max, Math.max(1, Math.round(value * factor)));
}

/**
 * Rule `rule` with its limit (and gcra burst) multiplied by `factor`: `round(limit × factor)`,
 * at least 1 and within the bounds the validator enforces on written rules (RATE_MAX,
 * CONCURRENCY_LIMIT_MAX, and `rate × periodMs <= 2^53 - 1`). `stateShape` does not change,
 * so counters carry over exactly as on a limit-only configuration change. Blocked and
 * unlimited rules, and factor 1, return the rule itself.
 *
 * @example
 * ```ts
 * scaleRule({ ...rule, limit: 100, burst: 150 }, 0.5); // limit 50, burst 75, same id and stateShape
 * ```
 */
export function scaleRule(rule: CompiledRule, factor: number): CompiledRule {
  if (factor === 1 || rule.blocked || rule.unlimited) return rule;
  const productMax = rule.periodMs > 0 && (rule.algorithm === 'gcra' || rule.algorithm === 'sliding_window') ? Math.floor(EXACT_INTEGER_MAX / rule.periodMs) : RATE_MAX;
  const max = rule.algorithm === 'concurrency' ? CONCURRENCY_LIMIT_MAX : Math.min(RATE_MAX, productMax);
  const limit = scaled(rule.limit, factor, max);
  const burst = rule.algorithm === 'gcra' ? scaled(rule.burst, factor, max) : limit;
  return Object.freeze({ ...rule, limit, burst });
}

/** The target in a few words: `p99 <= 200ms`, `error rate <= 1%`. */
export function describeTarget(target: AdaptiveTarget): string {
  return target.kind === 'latencyP99Ms' ? `p99 ${target.value}ms` : `error rate ${+(target.value * 100).toPrecision(6)}%`;
}
