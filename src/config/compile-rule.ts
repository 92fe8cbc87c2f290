/**
 * One rule of the configuration, checked field by field and compiled to a frozen
 * `CompiledRule`. Missing fields take built-in defaults, never values from another level:
 * a rule reads the same wherever it stands.
 */
import type { AlgorithmName, CompiledRule, Consistency, DurationMs } from '../engine/types.js';
import { readDuration } from './duration.js';
import { childPath, isPlainMap, showValue, type ConfigIssue } from './issue.js';
import { CONCURRENCY_LIMIT_MAX, EXACT_INTEGER_MAX, LEASE_DEFAULT_MS, RATE_MAX } from './limits.js';
import { didYouMean } from './suggest.js';

/** Every field a rule may hold; anything else is an error. */
export const RULE_FIELDS: readonly string[] = [
  'algorithm',
  'limit',
  'period',
  'burst',
  'lease',
  'shadow',
  'consistency',
  'blocked',
  'unlimited',
  'description',
];

const ALGORITHMS: readonly AlgorithmName[] = ['gcra', 'sliding_window', 'fixed_window', 'concurrency'];
const CONSISTENCIES: readonly Consistency[] = ['strict', 'fast'];

/** The fields of a compiled rule; `stateShape` is derived from them. */
export type RuleFields = Omit<CompiledRule, 'stateShape'>;

/**
 * Freezes a rule and derives its `stateShape`: state written under one shape reads as
 * absent under another, so a configuration change that alters the shape starts the
 * rule's counters afresh. The period is part of it for every algorithm that has one
 * (windows of different lengths never share state, and a GCRA state kept across a
 * period change could block a key for up to the old period); the limit is not, so a
 * limit change keeps counters.
 */
export function makeRule(fields: RuleFields): CompiledRule {
  const stateShape = fields.algorithm === 'concurrency' ? fields.algorithm : `${fields.algorithm}:${fields.periodMs}`;
  return Object.freeze({ ...fields, stateShape });
}

/** Collects the issues of one rule and remembers whether any was added. */
class RuleIssues {
  private readonly countAtStart: number;
  constructor(
    private readonly issues: ConfigIssue[],
    readonly path: string,
  ) {
    this.countAtStart = issues.length;
  }
  add(field: string | null, message: string, value: unknown): void {
    this.issues.push({ path: field === null ? this.path : childPath(this.path, field), message, value });
  }
  get clean(): boolean {
    return this.issues.length === this.countAtStart;
  }
}

function readRate(raw: unknown, field: string, out: RuleIssues): number | null {
  if (raw === undefined) return null;
  if (typeof raw !== 'number') {
    out.add(field, `${showValue(raw)} is not a positive integer`, raw);
  } else if (!Number.isInteger(raw)) {
    out.add(field, `${showValue(raw)} is not a whole number (rates count units: use a positive integer)`, raw);
  } else if (raw <= 0) {
    out.add(field, `${showValue(raw)} is not positive (use at least 1, or blocked: true to admit nothing)`, raw);
  } else if (raw > RATE_MAX) {
    out.add(field, `${showValue(raw)} is over the maximum ${RATE_MAX}`, raw);
  } else {
    return raw;
  }
  return null;
}

function readDurationField(raw: unknown, field: string, out: RuleIssues): DurationMs | null {
  if (raw === undefined) return null;
  const reading = readDuration(raw);
  if (reading.ok) return reading.ms;
  out.add(field, reading.reason, raw);
  return null;
}

function readFlag(raw: unknown, field: string, out: RuleIssues): boolean | null {
  if (raw === undefined || typeof raw === 'boolean') return raw ?? null;
  out.add(field, `${showValue(raw)} is not a boolean (use true or false)`, raw);
  return null;
}

function readChoice<T extends string>(raw: unknown, field: string, choices: readonly T[], out: RuleIssues): T | null {
  if (raw === undefined) return null;
  const found = choices.find((choice) => choice === raw);
  if (found !== undefined) return found;
  const hint = typeof raw === 'string' ? didYouMean(raw, choices) : '';
  out.add(field, `${showValue(raw)} is not a valid ${field} (use ${choices.join(', ')})${hint}`, raw);
  return null;
}

/**
 * Rejects a product of two rule values that the engine could not compute exactly, and
 * says how short the period must be for this rate.
 */
function checkProduct(rateName: string, rate: number, periodMs: number, periodRaw: unknown, out: RuleIssues): void {
  if (BigInt(rate) * BigInt(periodMs) <= BigInt(EXACT_INTEGER_MAX)) return;
  const periodMsMax = Math.floor(EXACT_INTEGER_MAX / rate);
  out.add(
    'period',
    `${rateName} × period = ${rate} × ${periodMs}ms is over 2^53 - 1, the largest integer the engine ` +
      `computes exactly; use a shorter period (at most ${periodMsMax}ms for ${rateName} ${rate}) with a proportional ${rateName}`,
    periodRaw,
  );
}

/** Unknown fields of any map, with a hint when an allowed name is close. */
export function reportUnknownFields(
  map: Readonly<Record<string, unknown>>,
  allowed: readonly string[],
  path: string,
  issues: ConfigIssue[],
  extraHint: (field: string) => string = () => '',
): void {
  for (const field of Object.keys(map)) {
    if (allowed.includes(field)) continue;
    const hint = didYouMean(field, allowed) || extraHint(field);
    issues.push({ path: childPath(path, field), message: `unknown field ${JSON.stringify(field)}${hint}`, value: map[field] });
  }
}

/**
 * Checks the rule at `path` and compiles it, or returns null after adding every problem
 * found to `issues`. The rule's `id` is its path.
 *
 * @example
 * ```ts
 * const issues: ConfigIssue[] = [];
 * compileRule({ limit: 10, period: '1s' }, 'resources.search', issues);
 * // { id: 'resources.search', algorithm: 'gcra', limit: 10, periodMs: 1000, burst: 10, ... }
 * ```
 */
export function compileRule(raw: unknown, path: string, issues: ConfigIssue[]): CompiledRule | null {
  const out = new RuleIssues(issues, path);
  if (!isPlainMap(raw)) {
    out.add(null, `expected a rule (a map with limit, period, …), got ${showValue(raw)}`, raw);
    return null;
  }
  // `adaptive` is a field of the resource (resources.<name>), read by the validator before this.
  reportUnknownFields(raw, RULE_FIELDS, path, issues, (field) =>
    field === 'adaptive' ? ' (adaptive is set once per resource, at resources.<name>.adaptive, and scales every rule of the resource)' : '',
  );

  const algorithmGiven = raw['algorithm'] !== undefined;
  const algorithm = algorithmGiven ? readChoice(raw['algorithm'], 'algorithm', ALGORITHMS, out) : 'gcra';
  const limit = readRate(raw['limit'], 'limit', out);
  const burst = readRate(raw['burst'], 'burst', out);
  const periodMs = readDurationField(raw['period'], 'period', out);
  const leaseMs = readDurationField(raw['lease'], 'lease', out);
  const shadow = readFlag(raw['shadow'], 'shadow', out) ?? false;
  const consistency = readChoice(raw['consistency'], 'consistency', CONSISTENCIES, out) ?? 'strict';
  const blocked = readFlag(raw['blocked'], 'blocked', out) ?? false;
  const unlimited = readFlag(raw['unlimited'], 'unlimited', out) ?? false;
  const description = raw['description'];
  if (description !== undefined && typeof description !== 'string') {
    out.add('description', `${showValue(description)} is not a string`, description);
  }

  if (blocked && unlimited) out.add(null, 'blocked and unlimited cannot both be true', true);
  // Without a known algorithm the checks below would only echo the algorithm's error.
  if (algorithm === null) return null;
  const exempt = blocked || unlimited;

  if (raw['burst'] !== undefined && algorithm !== 'gcra') {
    out.add('burst', `burst applies only to gcra (this rule is ${algorithm}; its capacity is its limit)`, raw['burst']);
  }
  if (raw['period'] !== undefined && algorithm === 'concurrency') {
    out.add('period', 'period does not apply to concurrency (use lease for how long a slot is held)', raw['period']);
  }
  if (raw['lease'] !== undefined && algorithm !== 'concurrency') {
    out.add('lease', `lease applies only to concurrency (this rule is ${algorithm})`, raw['lease']);
  }
  if (raw['limit'] === undefined && !exempt) {
    out.add('limit', `missing: a ${algorithm} rule needs a limit (or blocked: true, or unlimited: true)`, undefined);
  }
  if (raw['period'] === undefined && algorithm !== 'concurrency' && !exempt) {
    out.add('period', `missing: a ${algorithm} rule needs a period, e.g. "1s"`, undefined);
  }
  if (algorithm === 'concurrency' && limit !== null && limit > CONCURRENCY_LIMIT_MAX) {
    out.add('limit', `${limit} is over the maximum ${CONCURRENCY_LIMIT_MAX} for concurrency (leases are tracked one by one)`, limit);
  }
  if (periodMs !== null && (algorithm === 'gcra' || algorithm === 'sliding_window')) {
    if (algorithm === 'gcra' && burst !== null) checkProduct('burst', burst, periodMs, raw['period'], out);
    if (limit !== null) checkProduct('limit', limit, periodMs, raw['period'], out);
  }
  if (!out.clean) return null;

  // Blocked and unlimited rules may omit limit and period: they never count, so 0 stands in.
  const limitOrZero = limit ?? 0;
  return makeRule({
    id: path,
    algorithm,
    limit: limitOrZero,
    periodMs: algorithm === 'concurrency' ? 0 : (periodMs ?? 0),
    burst: algorithm === 'gcra' ? (burst ?? limitOrZero) : limitOrZero,
    leaseMs: algorithm === 'concurrency' ? (leaseMs ?? LEASE_DEFAULT_MS) : 0,
    shadow,
    consistency,
    blocked,
    unlimited,
  });
}
