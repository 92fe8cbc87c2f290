/**
 * Caller reports as one node gathers them between two pushes to the meta leader: per
 * adaptive resource, a count, an error count and a fixed-bucket latency histogram (summed,
 * never sampled). Only resources the configuration makes adaptive are kept (at most
 * ADAPTIVE_RESOURCES_MAX); reports about others are counted and dropped, so memory is fixed
 * whatever callers send.
 */
import type { ResourcePush } from '../../adaptive/index.js';
import { ADAPTIVE_RESOURCES_MAX } from '../../config/index.js';
import { REPORT_BUCKETS, REPORT_COUNT_MAX, type ReportSummary } from '../../protocol/report.js';

interface Acc {
  count: number;
  errors: number;
  readonly buckets: Float64Array;
}

/**
 * @example
 * ```ts
 * const agg = new ReportAggregator();
 * agg.track(['search']);
 * agg.add([{ resource: 'search', count: 10, errors: 1, buckets: [[78, 10]] }]);
 * agg.take(); // Map { 'search' => { resource: 'search', count: 10, errors: 1, buckets: [[78, 10]], admitted: 0, denied: 0 } }
 * ```
 */
export class ReportAggregator {
  private accs = new Map<string, Acc>();
  /** Caller reports received (summed counts), kept and dropped: `rl_adaptive_reports_total`. */
  received = 0;
  dropped = 0;

  /** Keeps exactly these resources from now on (a new configuration); others are dropped with what they held. */
  track(resources: Iterable<string>): void {
    const next = new Map<string, Acc>();
    for (const r of resources) {
      if (next.size >= ADAPTIVE_RESOURCES_MAX) break;
      next.set(r, this.accs.get(r) ?? { count: 0, errors: 0, buckets: new Float64Array(REPORT_BUCKETS) });
    }
    this.accs = next;
  }

  /** Adds validated summaries (readReportSummaries / readReportSamples). */
  add(summaries: readonly ReportSummary[]): void {
    for (const s of summaries) {
      this.received += s.count;
      const acc = this.accs.get(s.resource);
      if (acc === undefined) {
        this.dropped += s.count;
        continue;
      }
      // Bounded sums: a caller that reports absurd counts saturates, it does not overflow.
      acc.count = Math.min(REPORT_COUNT_MAX, acc.count + s.count);
      acc.errors = Math.min(acc.count, acc.errors + s.errors);
      for (const [b, n] of s.buckets) acc.buckets[b] = Math.min(REPORT_COUNT_MAX, (acc.buckets[b] as number) + n);
    }
  }

  /** What was gathered since the last take, per tracked resource (admitted/denied left at 0 for the caller), and a fresh start. */
  take(): Map<string, ResourcePush> {
    const out = new Map<string, ResourcePush>();
    for (const [resource, acc] of this.accs) {
      const buckets: [number, number][] = [];
      for (let b = 0; b < REPORT_BUCKETS; b++) {
        const n = acc.buckets[b] as number;
        if (n > 0) buckets.push([b, n]);
      }
      // Invariant: bucket counts never exceed the count (each report adds at most one latency).
      let inBuckets = 0;
      for (const [, n] of buckets) inBuckets += n;
      out.set(resource, { resource, count: Math.max(acc.count, inBuckets), errors: acc.errors, buckets, admitted: 0, denied: 0 });
      acc.count = 0;
      acc.errors = 0;
      acc.buckets.fill(0);
    }
    return out;
  }
}
