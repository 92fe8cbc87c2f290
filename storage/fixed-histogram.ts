/**
 * A histogram with fixed bucket bounds kept in plain typed arrays: `observe` is a few
 * comparisons and two additions, no allocation and no metrics-library call, so it can
 * sit on hot paths (per batch here, per check in the node). The node turns it into a
 * Prometheus histogram at scrape time. Lives in storage/ because storage/, cluster/ and
 * src/node/ all record into it and storage/ is the lowest of them that may hold I/O
 * bookkeeping.
 */

/** Latency buckets for disk writes, in seconds: 50 µs (page cache) to 2.5 s (a stalled disk). */
export const STORAGE_LATENCY_BOUNDS_SECONDS: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

/**
 * @example
 * ```ts
 * const h = new FixedHistogram([0.001, 0.01, 0.1]);
 * h.observe(0.004);
 * h.snapshot(); // { bounds: [0.001, 0.01, 0.1], counts: [0, 1, 0, 0], sum: 0.004, count: 1 }
 * ```
 */
export class FixedHistogram {
  /** Upper bounds of the buckets, ascending; a last, implicit bucket holds everything above. */
  readonly bounds: Float64Array;
  /** Observations per bucket (not cumulative); `counts.length === bounds.length + 1`. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  /** @throws RangeError unless `bounds` is a non-empty, strictly ascending list of finite numbers (at most 64). */
  constructor(bounds: readonly number[]) {
    if (bounds.length === 0 || bounds.length > 64) throw new RangeError(`FixedHistogram: 'bounds' must hold 1 to 64 numbers (got ${bounds.length})`);
    for (let i = 0; i < bounds.length; i++) {
      const b = bounds[i] as number;
      if (!Number.isFinite(b) || (i > 0 && b <= (bounds[i - 1] as number))) {
        throw new RangeError(`FixedHistogram: 'bounds' must be finite and strictly ascending (got ${bounds.join(', ')})`);
      }
    }
    this.bounds = Float64Array.from(bounds);
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Counts one observation of `value` (same unit as the bounds). */
  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    // Bounded by bounds.length (at most 64); small values, the common case, stop early.
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.sum += value;
    this.count++;
  }

  /** A copy of the current state (for tests and stats endpoints). */
  snapshot(): { bounds: number[]; counts: number[]; sum: number; count: number } {
    return { bounds: [...this.bounds], counts: [...this.counts], sum: this.sum, count: this.count };
  }
}
