/**
 * Caller reports of the protected service's latency and success (`client.report`), summed
 * per resource between two flushes into the protocol's fixed latency buckets: O(1) per
 * report, no allocation once a resource is known, and memory bounded by
 * REPORT_RESOURCES_MAX resources × REPORT_BUCKETS counters whatever the call rate. One
 * frame per flush carries every resource (docs/adaptive.md).
 */
import { NAME_PATTERN } from '../src/protocol/limits.js';
import { REPORT_BUCKETS, REPORT_LATENCY_MS_MAX, REPORT_RESOURCES_MAX, reportBucketOf, type ReportSummary } from '../src/protocol/report.js';

interface Acc {
  count: number;
  errors: number;
  readonly buckets: Float64Array;
  /** True when `buckets` holds anything (a flush clears only what it touched). */
  any: boolean;
}

/** One report as `client.report` takes it. `latencyMs` may be left out (e.g. for a call that timed out unmeasured). */
export interface ReportSampleInput {
  readonly latencyMs?: number;
  readonly ok: boolean;
}

/**
 * @example
 * ```ts
 * const r = new ReportAccumulator();
 * r.add('search', { latencyMs: 12.5, ok: true });
 * r.take(); // [{ resource: 'search', count: 1, errors: 0, buckets: [[45, 1]] }]
 * ```
 */
export class ReportAccumulator {
  private readonly accs = new Map<string, Acc>();
  /** Reports dropped because REPORT_RESOURCES_MAX resources were already being reported this flush. */
  dropped = 0;

  /** True when something waits to be flushed. */
  get pending(): boolean {
    for (const a of this.accs.values()) if (a.count > 0) return true;
    return false;
  }

  /**
   * Adds one report. Throws TypeError/RangeError naming the field on a caller mistake
   * (the resource name, `ok`, or a latency that is not a number of ms from 0 to an hour).
   */
  add(resource: string, sample: ReportSampleInput): void {
    if (typeof resource !== 'string' || !NAME_PATTERN.test(resource)) throw new TypeError(`report: 'resource' must be a resource name (1-64 of A-Z a-z 0-9 _ . : -), got ${JSON.stringify(resource)}`);
    if (typeof sample !== 'object' || sample === null || typeof sample.ok !== 'boolean') throw new TypeError(`report: 'ok' must be true or false`);
    const latencyMs = sample.latencyMs;
    if (latencyMs !== undefined && (typeof latencyMs !== 'number' || !Number.isFinite(latencyMs) || latencyMs < 0 || latencyMs > REPORT_LATENCY_MS_MAX)) {
      throw new RangeError(`report: 'latencyMs' must be a number from 0 to ${REPORT_LATENCY_MS_MAX} (got ${String(latencyMs)})`);
    }
    let acc = this.accs.get(resource);
    if (acc === undefined) {
      if (this.accs.size >= REPORT_RESOURCES_MAX) {
        this.dropped++;
        return;
      }
      acc = { count: 0, errors: 0, buckets: new Float64Array(REPORT_BUCKETS), any: false };
      this.accs.set(resource, acc);
    }
    acc.count++;
    if (!sample.ok) acc.errors++;
    if (latencyMs !== undefined) {
      const b = reportBucketOf(latencyMs);
      acc.buckets[b] = (acc.buckets[b] as number) + 1;
      acc.any = true;
    }
  }

  /** Everything summed since the last take, one summary per resource that had reports, and a fresh start. */
  take(): ReportSummary[] {
    const out: ReportSummary[] = [];
    for (const [resource, acc] of this.accs) {
      if (acc.count === 0) {
        // Silent for a whole flush: forgotten, so a long-lived client's set stays small.
        this.accs.delete(resource);
        continue;
      }
      const buckets: [number, number][] = [];
      if (acc.any) {
        for (let b = 0; b < REPORT_BUCKETS; b++) {
          const n = acc.buckets[b] as number;
          if (n > 0) buckets.push([b, n]);
        }
        acc.buckets.fill(0);
        acc.any = false;
      }
      out.push({ resource, count: acc.count, errors: acc.errors, buckets });
      acc.count = 0;
      acc.errors = 0;
    }
    return out;
  }
}
