/**
 * Caller reports: what the protected service answered (its latency, success or failure),
 * as callers tell the cluster so adaptive limits can follow the service's load
 * (docs/adaptive.md). The SDK aggregates reports per resource into a `ReportSummary` (a
 * count, an error count and a fixed-bucket latency histogram) and sends one summary per
 * resource per flush; nodes merge summaries without ever holding a sample. The bucket
 * scheme lives here so the SDK and the nodes can never disagree on what a bucket means.
 */
import { NAME_PATTERN } from './limits.js';

/** Upper bound of bucket 0, in ms: anything faster is "instant" for a protected service. */
export const REPORT_LATENCY_MIN_MS = 0.25;
/** Buckets per doubling: each bucket spans a factor 2^(1/8) ≈ 1.09, so its midpoint is within 4.4% of any value in it. */
export const REPORT_BUCKETS_PER_DOUBLING = 8;
/** Doublings covered above the minimum: 0.25 ms × 2^18 = 65.5 s, beyond any useful request latency. */
const DOUBLINGS = 18;
/** Number of latency buckets: bucket 0 (≤ 0.25 ms), 144 geometric buckets, and one for everything above 65.5 s. */
export const REPORT_BUCKETS = 2 + DOUBLINGS * REPORT_BUCKETS_PER_DOUBLING;
const LAST = REPORT_BUCKETS - 1;

/** Resources one report frame (or one `POST /v1/report`) may carry: the adaptive resources of a config are bounded by the same number. */
export const REPORT_RESOURCES_MAX = 64;
/** Samples one `POST /v1/report` may carry; the same bound as a batch of checks. */
export const REPORT_SAMPLES_MAX = 1000;
/** Largest count in one summary: a billion calls per flush is far beyond any caller. */
export const REPORT_COUNT_MAX = 1_000_000_000;
/** Largest reported latency: an hour; anything longer is a mistake in the caller's clock. */
export const REPORT_LATENCY_MS_MAX = 3_600_000;

/**
 * The latency histogram bucket of `latencyMs`. Total: NaN, negatives and zero fall in bucket 0.
 *
 * @example
 * ```ts
 * reportBucketOf(0.1); // 0
 * reportBucketOf(200); // 78: the bucket (197.4 ms, 215.3 ms], whose value is 206.1 ms
 * ```
 */
export function reportBucketOf(latencyMs: number): number {
  if (!(latencyMs > REPORT_LATENCY_MIN_MS)) return 0;
  const k = Math.ceil(Math.log2(latencyMs / REPORT_LATENCY_MIN_MS) * REPORT_BUCKETS_PER_DOUBLING - 1e-9);
  return k >= LAST ? LAST : Math.max(1, k);
}

/** The value bucket `b` stands for: its geometric midpoint (bucket 0: the minimum; the last: its lower bound). */
export function reportBucketValueMs(b: number): number {
  if (b <= 0) return REPORT_LATENCY_MIN_MS;
  if (b >= LAST) return REPORT_LATENCY_MIN_MS * 2 ** DOUBLINGS;
  return REPORT_LATENCY_MIN_MS * 2 ** ((b - 0.5) / REPORT_BUCKETS_PER_DOUBLING);
}

/**
 * Reports about one resource since the last flush. `buckets` is sparse: `[bucket, count]`
 * pairs with count > 0, bucket ascending. Reports without a latency count in `count` and
 * nowhere in `buckets`, so the bucket counts add up to at most `count`.
 */
export interface ReportSummary {
  readonly resource: string;
  readonly count: number;
  /** Reports with `ok: false`. */
  readonly errors: number;
  readonly buckets: readonly (readonly [number, number])[];
}

/** One report as `POST /v1/report` carries it. */
export interface ReportSample {
  readonly resource: string;
  readonly latencyMs?: number;
  readonly ok: boolean;
}

export type ReportsReading = { readonly ok: true; readonly value: ReportSummary[] } | { readonly ok: false; readonly message: string };

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= REPORT_COUNT_MAX;
}

/**
 * Reads the summaries of a report frame (the third element of a request frame). Returns
 * the first problem as a message naming the field.
 */
export function readReportSummaries(raw: unknown): ReportsReading {
  if (!Array.isArray(raw) || raw.length > REPORT_RESOURCES_MAX) return { ok: false, message: `reports must be a list of at most ${REPORT_RESOURCES_MAX} summaries` };
  const out: ReportSummary[] = [];
  for (let i = 0; i < raw.length; i++) {
    const s = raw[i] as Record<string, unknown> | null;
    const at = `reports[${i}]`;
    if (typeof s !== 'object' || s === null || Array.isArray(s)) return { ok: false, message: `${at} must be a map` };
    const resource = s['resource'];
    if (typeof resource !== 'string' || !NAME_PATTERN.test(resource)) return { ok: false, message: `${at}.resource must be a resource name` };
    const count = s['count'];
    const errors = s['errors'];
    if (!isCount(count)) return { ok: false, message: `${at}.count must be an integer from 0 to ${REPORT_COUNT_MAX}` };
    if (!isCount(errors) || errors > count) return { ok: false, message: `${at}.errors must be an integer from 0 to count` };
    const rawBuckets = s['buckets'];
    if (!Array.isArray(rawBuckets) || rawBuckets.length > REPORT_BUCKETS) return { ok: false, message: `${at}.buckets must be a list of at most ${REPORT_BUCKETS} [bucket, count] pairs` };
    const buckets: [number, number][] = [];
    let total = 0;
    let last = -1;
    for (const pair of rawBuckets) {
      if (!Array.isArray(pair) || pair.length !== 2) return { ok: false, message: `${at}.buckets must hold [bucket, count] pairs` };
      const [b, n] = pair as [unknown, unknown];
      if (typeof b !== 'number' || !Number.isInteger(b) || b <= last || b > LAST || !isCount(n) || n === 0) {
        return { ok: false, message: `${at}.buckets must hold [bucket 0..${LAST} ascending, count >= 1] pairs` };
      }
      last = b;
      total += n;
      buckets.push([b, n]);
    }
    if (total > count) return { ok: false, message: `${at}: bucket counts add up to ${total}, more than count ${count}` };
    out.push({ resource, count, errors, buckets });
  }
  return { ok: true, value: out };
}

/**
 * Reads the body of `POST /v1/report` — `{ "reports": [{ "resource", "latencyMs"?, "ok" }] }` —
 * and folds it into one summary per resource.
 *
 * @example
 * ```ts
 * readReportSamples({ reports: [{ resource: 'search', latencyMs: 12, ok: true }] });
 * // { ok: true, value: [{ resource: 'search', count: 1, errors: 0, buckets: [[45, 1]] }] }
 * ```
 */
export function readReportSamples(body: unknown): ReportsReading {
  const list = (body as { reports?: unknown } | null)?.reports;
  const extra = typeof body === 'object' && body !== null ? Object.keys(body).filter((k) => k !== 'reports') : [];
  if (!Array.isArray(list) || list.length === 0 || list.length > REPORT_SAMPLES_MAX || extra.length > 0) {
    return { ok: false, message: `body must be { "reports": [ 1 to ${REPORT_SAMPLES_MAX} { "resource", "latencyMs", "ok" } ] }` };
  }
  const byResource = new Map<string, { count: number; errors: number; buckets: Map<number, number> }>();
  for (let i = 0; i < list.length; i++) {
    const s = list[i] as Record<string, unknown> | null;
    const at = `reports[${i}]`;
    if (typeof s !== 'object' || s === null) return { ok: false, message: `${at} must be an object` };
    for (const k of Object.keys(s)) if (k !== 'resource' && k !== 'latencyMs' && k !== 'ok') return { ok: false, message: `${at}: unknown field ${JSON.stringify(k)}` };
    const resource = s['resource'];
    if (typeof resource !== 'string' || !NAME_PATTERN.test(resource)) return { ok: false, message: `${at}.resource must be a resource name` };
    if (typeof s['ok'] !== 'boolean') return { ok: false, message: `${at}.ok must be true or false` };
    const latencyMs = s['latencyMs'];
    if (latencyMs !== undefined && (typeof latencyMs !== 'number' || !Number.isFinite(latencyMs) || latencyMs < 0 || latencyMs > REPORT_LATENCY_MS_MAX)) {
      return { ok: false, message: `${at}.latencyMs must be a number from 0 to ${REPORT_LATENCY_MS_MAX}` };
    }
    let acc = byResource.get(resource);
    if (acc === undefined) {
      if (byResource.size >= REPORT_RESOURCES_MAX) return { ok: false, message: `reports name more than ${REPORT_RESOURCES_MAX} resources` };
      acc = { count: 0, errors: 0, buckets: new Map() };
      byResource.set(resource, acc);
    }
    acc.count++;
    if (s['ok'] === false) acc.errors++;
    if (typeof latencyMs === 'number') {
      const b = reportBucketOf(latencyMs);
      acc.buckets.set(b, (acc.buckets.get(b) ?? 0) + 1);
    }
  }
  const value = [...byResource].map(([resource, a]): ReportSummary => ({
    resource,
    count: a.count,
    errors: a.errors,
    buckets: [...a.buckets].sort((x, y) => x[0] - y[0]),
  }));
  return { ok: true, value };
}
