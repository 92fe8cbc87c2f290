/**
 * The shape of one check on the wire (HTTP JSON and WebSocket frames alike), its
 * validation, and the answer. Validation returns the first problem as a message that
 * names the field and its value; transports turn it into `RL_ERR_BAD_REQUEST`.
 */
import { CHECK_RESOURCES_MAX, COST_MAX, IDEMPOTENCY_ID_BYTES_MAX, KEY_BYTES_MAX, NAME_PATTERN, utf8Length } from './limits.js';

/** A validated check. `resources` has 1 to CHECK_RESOURCES_MAX distinct names. */
export interface CheckInput {
  readonly key: string;
  readonly resources: readonly string[];
  readonly cost: number;
  readonly tier: string | undefined;
  readonly idempotencyId: string | undefined;
}

/** The answer to one check, as every transport sends it. */
export interface CheckOutput {
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  readonly resetMs: number;
  readonly retryAfterMs: number;
  /** The rule that decided, e.g. `tiers.pro.resources.search`. */
  readonly rule: string;
  /** Present when a shadow rule would have denied. */
  readonly shadowDenied?: true;
  /** Present on an allowed concurrency acquire. */
  readonly leaseId?: string;
}

/** A decision as any layer holds it; `toCheckOutput` makes the wire shape of it. */
export interface DecisionFields {
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  readonly resetMs: number;
  readonly retryAfterMs: number;
  readonly rule: string;
  readonly shadowDenied?: boolean | undefined;
  readonly leaseId?: string | null | undefined;
}

/** The wire answer: the six fixed fields, plus `shadowDenied` and `leaseId` only when they say something. */
export function toCheckOutput(d: DecisionFields): CheckOutput {
  const out: { -readonly [K in keyof CheckOutput]: CheckOutput[K] } = {
    allowed: d.allowed,
    limit: d.limit,
    remaining: d.remaining,
    resetMs: d.resetMs,
    retryAfterMs: d.retryAfterMs,
    rule: d.rule,
  };
  if (d.shadowDenied === true) out.shadowDenied = true;
  if (d.leaseId !== undefined && d.leaseId !== null) out.leaseId = d.leaseId;
  return out;
}

export type Validated<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

const FIELDS: ReadonlySet<string> = new Set(['key', 'resource', 'resources', 'cost', 'tier', 'idempotencyId']);
export const DEFAULT_RESOURCE = 'default';

/**
 * Valid resource names seen, each with its one-element `resources` array (frozen, shared
 * by every check naming it): the common single-resource check then costs a map look-up
 * instead of a pattern match and an array. Bounded; names past the bound are checked
 * each time.
 */
const SINGLE_RESOURCE = new Map<string, readonly string[]>();
const SINGLE_RESOURCE_MAX = 4096;

function fail(message: string): { ok: false; message: string } {
  return { ok: false, message };
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * Validates one check object: `{ key, resource? | resources?, cost?, tier?, idempotencyId? }`.
 * `resource` defaults to "default", `cost` to 1. Unknown fields are rejected.
 *
 * @example
 * ```ts
 * const v = validateCheck({ key: 'user:42', resource: 'search' });
 * if (!v.ok) reply400(v.message);
 * ```
 * `where` names the check in messages: a string, or a number for `check <n>` (built only on failure).
 */
export function validateCheck(body: unknown, where: string | number = 'check'): Validated<CheckInput> {
  const v = checkFields(body);
  // The place is named only in a failure: a WebSocket frame validates 100 checks per frame.
  return v.ok ? v : fail(`${typeof where === 'number' ? `check ${where}` : where}${v.message}`);
}

/** `validateCheck` without the place: failure messages start right after it (" must be...", ".key ..."). */
function checkFields(body: unknown): Validated<CheckInput> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return fail(` must be a JSON object (got ${show(body)})`);
  const o = body as Record<string, unknown>;
  for (const name in o) {
    if (Object.hasOwn(o, name) && !FIELDS.has(name)) return fail(`.${name} is not a known field (known: ${[...FIELDS].join(', ')})`);
  }
  const key = o['key'];
  if (typeof key !== 'string' || key.length === 0) return fail(`.key must be a non-empty string (got ${show(key)})`);
  // A UTF-16 unit is at most 3 UTF-8 bytes: short keys need no count.
  if (key.length * 3 > KEY_BYTES_MAX) {
    const keyBytes = utf8Length(key);
    if (keyBytes > KEY_BYTES_MAX) return fail(`.key is ${keyBytes} bytes; the most is ${KEY_BYTES_MAX}`);
  }
  let resources: readonly string[];
  if (o['resources'] !== undefined) {
    if (o['resource'] !== undefined) return fail(` has both resource and resources; use one`);
    const rs = o['resources'];
    if (!Array.isArray(rs) || rs.length === 0 || rs.length > CHECK_RESOURCES_MAX) {
      return fail(`.resources must be an array of 1 to ${CHECK_RESOURCES_MAX} resource names (got ${show(rs)})`);
    }
    for (const r of rs) {
      if (typeof r !== 'string' || !NAME_PATTERN.test(r)) return fail(`.resources has an invalid name ${show(r)} (use ${NAME_PATTERN.source})`);
    }
    if (new Set(rs).size !== rs.length) return fail(`.resources repeats a name (got ${show(rs)})`);
    resources = rs as string[];
  } else {
    const r = o['resource'] ?? DEFAULT_RESOURCE;
    const known = typeof r === 'string' ? SINGLE_RESOURCE.get(r) : undefined;
    if (known !== undefined) resources = known;
    else {
      if (typeof r !== 'string' || !NAME_PATTERN.test(r)) return fail(`.resource ${show(r)} is not a valid name (use ${NAME_PATTERN.source})`);
      resources = Object.freeze([r]);
      if (SINGLE_RESOURCE.size < SINGLE_RESOURCE_MAX) SINGLE_RESOURCE.set(r, resources);
    }
  }
  const cost = o['cost'] ?? 1;
  if (typeof cost !== 'number' || !Number.isInteger(cost) || cost < 0 || cost > COST_MAX) {
    return fail(`.cost must be an integer from 0 to ${COST_MAX} (got ${show(cost)})`);
  }
  const tier = o['tier'];
  if (tier !== undefined && (typeof tier !== 'string' || !NAME_PATTERN.test(tier))) {
    return fail(`.tier ${show(tier)} is not a valid name (use ${NAME_PATTERN.source})`);
  }
  const id = o['idempotencyId'];
  if (id !== undefined && (typeof id !== 'string' || id.length === 0 || utf8Length(id) > IDEMPOTENCY_ID_BYTES_MAX)) {
    return fail(`.idempotencyId must be a string of 1 to ${IDEMPOTENCY_ID_BYTES_MAX} bytes (got ${show(id)})`);
  }
  return { ok: true, value: { key, resources, cost, tier: tier as string | undefined, idempotencyId: id as string | undefined } };
}

/**
 * Response headers for an answer, in the IETF httpapi ratelimit-headers draft syntax
 * (structured fields): `RateLimit-Policy: "<rule>";q=<limit>;w=<window s>` and
 * `RateLimit: "<rule>";r=<remaining>;t=<reset s>`, plus `Retry-After` (seconds, rounded
 * up) on a denial that a wait can help. Unlimited answers carry no RateLimit headers.
 *
 * @example
 * ```ts
 * rateLimitHeaders({ allowed: false, limit: 10, remaining: 0, resetMs: 900, retryAfterMs: 100, rule: 'resources.search' }, 1000);
 * // { 'RateLimit-Policy': '"resources.search";q=10;w=1', RateLimit: '"resources.search";r=0;t=1', 'Retry-After': '1' }
 * ```
 */
export function rateLimitHeaders(out: CheckOutput, windowMs: number | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (out.limit >= 0) {
    const name = `"${out.rule.replace(/["\\]/g, '\\$&')}"`;
    const w = windowMs !== undefined && windowMs > 0 ? `;w=${Math.max(1, Math.ceil(windowMs / 1000))}` : '';
    headers['RateLimit-Policy'] = `${name};q=${out.limit}${w}`;
    headers['RateLimit'] = `${name};r=${out.remaining};t=${Math.ceil(out.resetMs / 1000)}`;
  }
  if (!out.allowed && out.retryAfterMs > 0) headers['Retry-After'] = String(Math.ceil(out.retryAfterMs / 1000));
  return headers;
}
