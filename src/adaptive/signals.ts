/**
 * The signals one controller interval of one adaptive resource sees, and the window that
 * gathers them on the meta leader from every node's pushes: the protected service's
 * latency and errors as callers reported them (merged fixed-bucket histograms, never
 * samples), the checks the cluster admitted and denied, and the limiter's own load (the
 * worst event-loop lag and CPU any node reported). Fixed memory per resource.
 */
import { REPORT_BUCKETS, reportBucketValueMs, type ReportSummary } from '../protocol/report.js';

/** What a controller interval saw for one resource. Rates are per second of the interval. */
export interface ResourceSignals {
  /** Caller reports in the interval. */
  readonly samples: number;
  readonly errors: number;
  /** errors / samples; 0 without samples. */
  readonly errorRate: number;
  /** p99 of reported latencies (bucket midpoint, within 4.4%); null when no report carried a latency. */
  readonly latencyP99Ms: number | null;
  /**
   * A confidence interval of the p99 (90% unless asked otherwise), distribution-free (order
   * statistics of the merged histogram): with few reports it is wide, and the controller
   * does not act on a target inside it. Null with the p99.
   */
  readonly latencyP99LowMs: number | null;
  readonly latencyP99HighMs: number | null;
  /** A confidence interval of the error rate (Wilson score interval, same confidence); [0, 1] without samples. */
  readonly errorRateLow: number;
  readonly errorRateHigh: number;
  /** Checks of the resource the cluster admitted and denied, per second. */
  readonly admittedPerSec: number;
  readonly deniedPerSec: number;
  /** The highest event-loop lag p99 and CPU share (0..1 of one core) any node reported; null when none did. */
  readonly limiterLagP99Ms: number | null;
  readonly limiterCpu: number | null;
  /** Nodes whose pushes the signals hold. */
  readonly nodes: number;
  /** Controller intervals the signals cover (several when merged). */
  readonly intervals: number;
}

/** The limiter's own load on one node over its push window. */
export interface LimiterLoad {
  readonly lagP99Ms: number;
  /** CPU time over wall time of the process, 0..N for N cores busy. */
  readonly cpu: number;
}

/** One node's contribution for one resource: its callers' reports and its checks' outcomes since its last push. */
export interface ResourcePush extends ReportSummary {
  readonly admitted: number;
  readonly denied: number;
}

/** Nodes one window remembers by id: a bound on a set that a misbehaving peer could otherwise grow. */
const NODES_MAX = 1024;

/** z of a two-sided 90% interval, the default confidence of the intervals below. */
export const Z90 = 1.645;

/** The value of the `rank`-th smallest sample (1-based) of a report histogram, as its bucket's value. */
function valueAtRank(hist: ArrayLike<number>, rank: number): number {
  let seen = 0;
  for (let b = 0; b < hist.length; b++) {
    seen += hist[b] as number;
    if (seen >= rank) return reportBucketValueMs(b);
  }
  return reportBucketValueMs(hist.length - 1);
}

function totalOf(hist: ArrayLike<number>): number {
  let n = 0;
  for (let b = 0; b < hist.length; b++) n += hist[b] as number;
  return n;
}

/** Nearest-rank percentile `p` of a report histogram, as its bucket's value; null when empty. */
export function reportPercentileMs(hist: ArrayLike<number>, p: number): number | null {
  const n = totalOf(hist);
  return n === 0 ? null : valueAtRank(hist, Math.max(1, Math.ceil(p * n)));
}

/**
 * A confidence interval (90% by default) of percentile `p` from order statistics: the ranks
 * `n·p ± z·sqrt(n·p·(1-p))` (normal approximation of the binomial count of samples below the
 * true percentile), read off the histogram. Null when empty.
 */
export function reportPercentileIntervalMs(hist: ArrayLike<number>, p: number, z = Z90): readonly [number, number] | null {
  const n = totalOf(hist);
  if (n === 0) return null;
  const half = z * Math.sqrt(n * p * (1 - p));
  const lo = Math.min(n, Math.max(1, Math.floor(n * p - half)));
  const hi = Math.min(n, Math.max(1, Math.ceil(n * p + half) + 1));
  return [valueAtRank(hist, lo), valueAtRank(hist, hi)];
}

/** The Wilson score interval (90% by default) of a rate of `k` in `n`: sound near 0, where error rates live. */
export function rateInterval(k: number, n: number, z = Z90): readonly [number, number] {
  if (n === 0) return [0, 1];
  const phat = k / n;
  const z2 = z * z;
  const centre = (phat + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((phat * (1 - phat)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  // At k = 0 (or n) the bound is exactly 0 (or 1); the formula leaves rounding dust.
  return [k === 0 ? 0 : Math.max(0, centre - half), k === n ? 1 : Math.min(1, centre + half)];
}

/** Closed intervals a window remembers: the controller merges up to 4 intervals run at one factor (see CONTROLLER_PARAMS.mergeIntervalsMax). */
export const WINDOW_INTERVALS_MAX = 4;

/** The sums of one interval. */
interface IntervalSums {
  readonly buckets: Float64Array;
  count: number;
  errors: number;
  admitted: number;
  denied: number;
  lagMaxMs: number | null;
  cpuMax: number | null;
  elapsedMs: number;
  readonly nodes: Set<string>;
}

function emptySums(): IntervalSums {
  return { buckets: new Float64Array(REPORT_BUCKETS), count: 0, errors: 0, admitted: 0, denied: 0, lagMaxMs: null, cpuMax: null, elapsedMs: 0, nodes: new Set() };
}

/**
 * Gathers the pushes of every node for one resource, interval by interval, and keeps the
 * last WINDOW_INTERVALS_MAX closed intervals so the controller can judge one interval alone
 * (fast reaction) or several run at the same factor together (less noise). Pure: time
 * arrives as an argument. Fixed memory: five histograms.
 *
 * @example
 * ```ts
 * const w = new SignalWindow();
 * w.add('n1', { resource: 'search', count: 100, errors: 1, buckets: [[78, 100]], admitted: 90, denied: 10 }, { lagP99Ms: 3, cpu: 0.2 });
 * w.close(1000);
 * w.signals(1); // { samples: 100, errorRate: 0.01, latencyP99Ms: 206.14…, admittedPerSec: 90, deniedPerSec: 10, nodes: 1, intervals: 1, ... }
 * ```
 */
export class SignalWindow {
  private open: IntervalSums = emptySums();
  /** Closed intervals, newest first. */
  private closed: IntervalSums[] = [];

  /** Adds one node's push to the interval in progress (already validated: bounded counts, buckets in range). */
  add(node: string, push: ResourcePush, load: LimiterLoad | null): void {
    const o = this.open;
    o.count += push.count;
    o.errors += push.errors;
    o.admitted += push.admitted;
    o.denied += push.denied;
    for (const [b, n] of push.buckets) o.buckets[b] = (o.buckets[b] as number) + n;
    if (load !== null) this.addLoad(load);
    if (o.nodes.size < NODES_MAX) o.nodes.add(node);
  }

  /** A node's limiter load without reports for this resource (its checks still count as load). */
  addLoad(load: LimiterLoad): void {
    this.open.lagMaxMs = Math.max(this.open.lagMaxMs ?? 0, load.lagP99Ms);
    this.open.cpuMax = Math.max(this.open.cpuMax ?? 0, load.cpu);
  }

  /** Ends the interval in progress, which lasted `elapsedMs`; the oldest closed interval beyond the bound is dropped. */
  close(elapsedMs: number): void {
    this.open.elapsedMs = Math.max(1, elapsedMs);
    this.closed.unshift(this.open);
    if (this.closed.length > WINDOW_INTERVALS_MAX) this.closed.length = WINDOW_INTERVALS_MAX;
    this.open = emptySums();
  }

  /** Closed intervals held (at most WINDOW_INTERVALS_MAX). */
  get intervals(): number {
    return this.closed.length;
  }

  /**
   * The signals of the newest `intervals` closed intervals together (1: the last one alone);
   * zeros when none is closed. `z` sets the confidence of the intervals (1.645: 90%).
   */
  signals(intervals: number, z = Z90): ResourceSignals {
    const take = this.closed.slice(0, Math.max(1, Math.min(intervals, WINDOW_INTERVALS_MAX)));
    const m = emptySums();
    for (const c of take) {
      for (let b = 0; b < REPORT_BUCKETS; b++) m.buckets[b] = (m.buckets[b] as number) + (c.buckets[b] as number);
      m.count += c.count;
      m.errors += c.errors;
      m.admitted += c.admitted;
      m.denied += c.denied;
      m.elapsedMs += c.elapsedMs;
      if (c.lagMaxMs !== null) m.lagMaxMs = Math.max(m.lagMaxMs ?? 0, c.lagMaxMs);
      if (c.cpuMax !== null) m.cpuMax = Math.max(m.cpuMax ?? 0, c.cpuMax);
      for (const n of c.nodes) if (m.nodes.size < NODES_MAX) m.nodes.add(n);
    }
    const seconds = Math.max(m.elapsedMs, 1) / 1000;
    const p99 = reportPercentileIntervalMs(m.buckets, 0.99, z);
    const rate = rateInterval(m.errors, m.count, z);
    return {
      samples: m.count,
      errors: m.errors,
      errorRate: m.count === 0 ? 0 : m.errors / m.count,
      latencyP99Ms: reportPercentileMs(m.buckets, 0.99),
      latencyP99LowMs: p99?.[0] ?? null,
      latencyP99HighMs: p99?.[1] ?? null,
      errorRateLow: rate[0],
      errorRateHigh: rate[1],
      admittedPerSec: m.admitted / seconds,
      deniedPerSec: m.denied / seconds,
      limiterLagP99Ms: m.lagMaxMs,
      limiterCpu: m.cpuMax,
      nodes: m.nodes.size,
      intervals: take.length,
    };
  }

  /** Forgets everything (a new meta leader starts from nothing). */
  reset(): void {
    this.open = emptySums();
    this.closed = [];
  }
}

/** A number kept to 3 decimals, for logs and the meta log (null stays null). */
function trim(n: number | null): number | null {
  return n === null || !Number.isFinite(n) ? null : Math.round(n * 1000) / 1000;
}

/**
 * The signals as the meta log records them next to a factor, and explain shows them: a
 * flat map of a few numbers, so every node holds the same small record.
 */
export function signalsRecord(s: ResourceSignals | null): Record<string, number | null> {
  if (s === null) return {};
  return {
    samples: s.samples,
    errorRate: trim(s.errorRate),
    latencyP99Ms: trim(s.latencyP99Ms),
    admittedPerSec: trim(s.admittedPerSec),
    deniedPerSec: trim(s.deniedPerSec),
    limiterLagP99Ms: trim(s.limiterLagP99Ms),
    limiterCpu: trim(s.limiterCpu),
    nodes: s.nodes,
    intervals: s.intervals,
  };
}
