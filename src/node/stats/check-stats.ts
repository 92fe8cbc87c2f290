/**
 * Live check statistics for `/v1/stats`: per-second counts of allowed, denied and failed
 * checks per resource, and a per-second latency histogram, kept in fixed typed-array rings
 * over the last few seconds. `record` is on the hot path of every check: it does a Map
 * look-up, a few integer increments and no allocation; everything else (rates,
 * percentiles) is computed when a snapshot is asked for, about once per second.
 */

/** Seconds a snapshot covers: rates and percentiles are over the last this many complete seconds. */
export const STATS_WINDOW_S = 10;
/**
 * Ring length in seconds: the window, the second in progress, and one spare, so the
 * oldest second of a window is never the slot being reused.
 */
const RING_S = STATS_WINDOW_S + 2;
/** Resources tracked by name; any further one counts as `other`. Bounds memory and the JSON size. */
export const RESOURCES_TRACKED_MAX = 64;
/** The bucket every resource outside the tracked set counts under. */
export const OTHER_RESOURCE = 'other';

// Latency histogram: 8 linear sub-buckets per power of two (so a bucket spans at most 1/8 of
// its lower bound and its midpoint is within 6.25% of any value in it), from 2^-10 ms (~1 µs)
// up to 2^16 ms (~65 s); bucket 0 holds everything below, the last bucket everything above.
const SUB_BITS = 3;
const SUB = 1 << SUB_BITS;
const EXP_MIN = -10;
const EXP_MAX = 15;
const LATENCY_MIN_MS = 2 ** EXP_MIN;
/** Number of latency buckets per second. */
export const LATENCY_BUCKETS = 2 + (EXP_MAX - EXP_MIN + 1) * SUB;
const LATENCY_LAST = LATENCY_BUCKETS - 1;

// Reads a double's exponent and top mantissa bits without Math.log2: one store, one load.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
f64[0] = 1;
/** Index of the high word of a double in `u32` (1 on little-endian machines). */
const HI = u32[1] === 0x3ff00000 ? 1 : 0;

/** The histogram bucket of a latency in ms. Total: NaN and negatives fall in bucket 0. */
export function latencyBucketOf(ms: number): number {
  if (!(ms >= LATENCY_MIN_MS)) return 0;
  f64[0] = ms;
  const hi = u32[HI] as number;
  const exp = ((hi >>> 20) & 0x7ff) - 1023;
  if (exp > EXP_MAX) return LATENCY_LAST;
  return 1 + (exp - EXP_MIN) * SUB + ((hi >>> (20 - SUB_BITS)) & (SUB - 1));
}

/** The value a bucket stands for: its midpoint (bucket 0: half the smallest bound; the last: its lower bound). */
export function latencyBucketMidMs(bucket: number): number {
  if (bucket <= 0) return LATENCY_MIN_MS / 2;
  if (bucket >= LATENCY_LAST) return 2 ** (EXP_MAX + 1);
  const exp = EXP_MIN + Math.floor((bucket - 1) / SUB);
  const m = (bucket - 1) % SUB;
  return 2 ** exp * (1 + (m + 0.5) / SUB);
}

/** Counts of one complete second. Latency percentiles are null when nothing was answered. */
export interface SecondStats {
  /** Monotonic second number (`floor(nowMs / 1000)` of the stats clock). */
  readonly second: number;
  readonly allowed: number;
  readonly denied: number;
  readonly errors: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

export interface ResourceStats {
  readonly name: string;
  /** Totals over the window. */
  readonly allowed: number;
  readonly denied: number;
}

export interface CheckStatsSnapshot {
  /** The stats clock at the snapshot (ms). */
  readonly nowMs: number;
  /** Complete seconds the window covers: STATS_WINDOW_S, or fewer just after start. */
  readonly windowS: number;
  readonly allowedPerSec: number;
  readonly deniedPerSec: number;
  readonly errorsPerSec: number;
  /** Nearest-rank percentiles over every answer of the window, bucket midpoints; null without answers. */
  readonly latencyP50Ms: number | null;
  readonly latencyP99Ms: number | null;
  readonly latencyMaxMs: number | null;
  readonly latencySamples: number;
  /** The window's seconds, oldest first. */
  readonly seconds: readonly SecondStats[];
  /** Every tracked resource (and `other`), in tracking order. */
  readonly resources: readonly ResourceStats[];
}

export interface CheckStatsOptions {
  /** Resource names to track by name (deduplicated; beyond RESOURCES_TRACKED_MAX they count as `other`). More can be added with `track`. */
  readonly resources: readonly string[];
}

export interface CheckStatsDeps {
  /** Monotonic clock in ms (performance.now in a node; a fake in tests). */
  readonly nowMs: () => number;
}

/**
 * @example
 * ```ts
 * const stats = new CheckStats({ resources: ['search'] }, { nowMs: () => performance.now() });
 * const startMs = performance.now();
 * // ... decide the check ...
 * stats.recordSince('search', true, startMs);
 * stats.snapshot().allowedPerSec;
 * ```
 */
export class CheckStats {
  private readonly names: string[] = [];
  private readonly index = new Map<string, number>();
  /** `other` has the last place, after room for RESOURCES_TRACKED_MAX names: memory is fixed from the start. */
  private readonly otherIndex = RESOURCES_TRACKED_MAX;
  private readonly stride = (RESOURCES_TRACKED_MAX + 1) * 2;
  /** [slot][resource][allowed, denied] */
  private readonly counts: Uint32Array;
  private readonly errors: Uint32Array;
  /** [slot][bucket] */
  private readonly latency: Uint32Array;
  private readonly latencyMax: Float64Array;
  /** The second each slot holds; -1 when empty. */
  private readonly slotSecond: Float64Array;
  private readonly merged = new Float64Array(LATENCY_BUCKETS);
  private readonly firstSecond: number;
  private second: number;
  private countBase = 0;
  private latencyBase = 0;
  private slot = 0;

  constructor(
    options: CheckStatsOptions,
    private readonly deps: CheckStatsDeps,
  ) {
    if (!Array.isArray(options.resources)) throw new TypeError(`CheckStats: 'resources' must be an array of names (got ${typeof options.resources})`);
    this.track(options.resources);
    this.counts = new Uint32Array(RING_S * this.stride);
    this.errors = new Uint32Array(RING_S);
    this.latency = new Uint32Array(RING_S * LATENCY_BUCKETS);
    this.latencyMax = new Float64Array(RING_S);
    this.slotSecond = new Float64Array(RING_S).fill(-1);
    this.second = Math.floor(deps.nowMs() / 1000);
    this.firstSecond = this.second;
    this.moveTo(this.second);
  }

  /** Tracked names, then `other`. */
  get resourceNames(): readonly string[] {
    return [...this.names, OTHER_RESOURCE];
  }

  /**
   * Tracks more names (a new configuration version): names already tracked keep their
   * counts; new ones start at zero; past RESOURCES_TRACKED_MAX they stay in `other`.
   * Names are never dropped, so a resource removed from the config shows zeros.
   */
  track(resources: readonly string[]): void {
    for (const r of resources) {
      if (typeof r !== 'string' || r === OTHER_RESOURCE || this.index.has(r)) continue;
      if (this.names.length >= RESOURCES_TRACKED_MAX) break;
      this.index.set(r, this.names.length);
      this.names.push(r);
    }
  }

  /** The tracking index of a resource (`other`'s for untracked names). */
  indexOf(resource: string): number {
    return this.index.get(resource) ?? this.otherIndex;
  }

  /** Counts one answered check; `nowMs` is the stats clock at the answer. The hot path. */
  record(resource: string, allowed: boolean, latencyMs: number, nowMs: number): void {
    const sec = Math.floor(nowMs / 1000);
    if (sec > this.second) this.rotate(sec);
    const i = this.index.get(resource);
    (this.counts[this.countBase + (i === undefined ? this.otherIndex : i) * 2 + (allowed ? 0 : 1)] as number)++;
    (this.latency[this.latencyBase + latencyBucketOf(latencyMs)] as number)++;
    if (latencyMs > (this.latencyMax[this.slot] as number)) this.latencyMax[this.slot] = latencyMs;
  }

  /** `record` with the latency measured from `startMs` to now on the stats clock. */
  recordSince(resource: string, allowed: boolean, startMs: number): void {
    const now = this.deps.nowMs();
    this.record(resource, allowed, now - startMs, now);
  }

  /** Counts a check that ended in an error (no answer, so no latency sample). */
  recordError(nowMs: number = this.deps.nowMs()): void {
    const sec = Math.floor(nowMs / 1000);
    if (sec > this.second) this.rotate(sec);
    (this.errors[this.slot] as number)++;
  }

  /** Bytes held by the counters: fixed at construction, whatever is recorded. */
  memoryBytes(): number {
    return this.counts.byteLength + this.errors.byteLength + this.latency.byteLength + this.latencyMax.byteLength + this.slotSecond.byteLength + this.merged.byteLength;
  }

  /** Rates, percentiles and per-second counts over the last STATS_WINDOW_S complete seconds. */
  snapshot(): CheckStatsSnapshot {
    const nowMs = this.deps.nowMs();
    const sec = Math.floor(nowMs / 1000);
    if (sec > this.second) this.rotate(sec);
    // The second the stats began is partial: it is never part of a window.
    const from = Math.max(sec - STATS_WINDOW_S, this.firstSecond + 1);
    const windowS = Math.max(0, sec - from);
    const merged = this.merged;
    merged.fill(0);
    const resourceTotals = new Float64Array(this.stride);
    const seconds: SecondStats[] = [];
    let allowed = 0;
    let denied = 0;
    let errors = 0;
    let maxMs = 0;
    for (let s = from; s < sec; s++) {
      const slot = s % RING_S;
      if (this.slotSecond[slot] !== s) {
        seconds.push({ second: s, allowed: 0, denied: 0, errors: 0, p50Ms: null, p99Ms: null });
        continue;
      }
      const cb = slot * this.stride;
      let a = 0;
      let d = 0;
      for (let r = 0; r < this.stride; r += 2) {
        const ra = this.counts[cb + r] as number;
        const rd = this.counts[cb + r + 1] as number;
        a += ra;
        d += rd;
        resourceTotals[r] = (resourceTotals[r] as number) + ra;
        resourceTotals[r + 1] = (resourceTotals[r + 1] as number) + rd;
      }
      const lb = slot * LATENCY_BUCKETS;
      for (let b = 0; b < LATENCY_BUCKETS; b++) merged[b] = (merged[b] as number) + (this.latency[lb + b] as number);
      const e = this.errors[slot] as number;
      const hist = this.latency.subarray(lb, lb + LATENCY_BUCKETS);
      seconds.push({ second: s, allowed: a, denied: d, errors: e, p50Ms: percentileOf(hist, 0.5), p99Ms: percentileOf(hist, 0.99) });
      allowed += a;
      denied += d;
      errors += e;
      maxMs = Math.max(maxMs, this.latencyMax[slot] as number);
    }
    const per = (n: number): number => (windowS === 0 ? 0 : n / windowS);
    const samples = allowed + denied;
    return {
      nowMs,
      windowS,
      allowedPerSec: per(allowed),
      deniedPerSec: per(denied),
      errorsPerSec: per(errors),
      latencyP50Ms: percentileOf(merged, 0.5),
      latencyP99Ms: percentileOf(merged, 0.99),
      latencyMaxMs: samples === 0 ? null : maxMs,
      latencySamples: samples,
      seconds,
      resources: this.resourceNames.map((name, k) => {
        const i = k < this.names.length ? k : this.otherIndex;
        return { name, allowed: resourceTotals[i * 2] as number, denied: resourceTotals[i * 2 + 1] as number };
      }),
    };
  }

  /** Moves to a later second, clearing every slot it passes (all of them after a long idle). */
  private rotate(sec: number): void {
    const steps = Math.min(sec - this.second, RING_S);
    for (let k = steps - 1; k >= 0; k--) this.clearSlot((sec - k) % RING_S, sec - k);
    this.second = sec;
    this.moveTo(sec);
  }

  private moveTo(sec: number): void {
    this.slot = sec % RING_S;
    this.countBase = this.slot * this.stride;
    this.latencyBase = this.slot * LATENCY_BUCKETS;
    if (this.slotSecond[this.slot] !== sec) this.clearSlot(this.slot, sec);
  }

  private clearSlot(slot: number, sec: number): void {
    this.counts.fill(0, slot * this.stride, (slot + 1) * this.stride);
    this.latency.fill(0, slot * LATENCY_BUCKETS, (slot + 1) * LATENCY_BUCKETS);
    this.errors[slot] = 0;
    this.latencyMax[slot] = 0;
    this.slotSecond[slot] = sec;
  }
}

/** Nearest-rank percentile `p` of a histogram, as the midpoint of the bucket holding that rank; null when empty. */
function percentileOf(hist: ArrayLike<number>, p: number): number | null {
  let n = 0;
  for (let b = 0; b < hist.length; b++) n += hist[b] as number;
  if (n === 0) return null;
  const rank = Math.max(1, Math.ceil(p * n));
  let seen = 0;
  for (let b = 0; b < hist.length; b++) {
    seen += hist[b] as number;
    if (seen >= rank) return latencyBucketMidMs(b);
  }
  return latencyBucketMidMs(hist.length - 1);
}
