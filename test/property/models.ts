/**
 * Brute-force reference models for the rate-limit algorithms. They keep the plainest
 * state that defines each algorithm (token credit as a BigInt, every window's count,
 * every lease ever granted) and answer "would a check of this cost be allowed at time t?".
 * Everything else (remaining, resetMs, retryAfterMs) is derived from that one question by
 * search, never by the closed forms the engine uses.
 */

export interface Model {
  /** Would a check of `cost` be allowed at `t` (t >= the model's latest time)? Does not change state. */
  allowedAt(cost: number, t: number): boolean;
  /** Applies a check of `cost` at `t`; returns whether it was allowed. */
  apply(cost: number, t: number): boolean;
  /** The most units a check at `t` could take. */
  remainingAt(t: number): number;
  /** Latest time after which no more waiting can be needed (a search horizon). */
  horizonMs(t: number): number;
}

/** Smallest d in [lo, hi] with pred(d), or null; pred must be monotone (false...false true...true). */
export function firstTrue(lo: number, hi: number, pred: (d: number) => boolean): number | null {
  if (!pred(hi)) return null;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (pred(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Largest c in [0, max] with pred(c), for pred true...true false...false; -1 if none. */
export function lastTrue(max: number, pred: (c: number) => boolean): number {
  let best = -1;
  for (let c = 0; c <= max; c++) {
    if (pred(c)) best = c;
    else break;
  }
  return best;
}

/** Token bucket: `burst` tokens, refilled at limit per period; credit counted in 1/limit ms. */
export class TokenBucketModel implements Model {
  private credit: bigint;
  private lastMs = -1;
  constructor(
    private readonly limit: number,
    private readonly periodMs: number,
    private readonly burst: number,
  ) {
    this.credit = BigInt(burst) * BigInt(periodMs);
  }
  private creditAt(t: number): bigint {
    const cap = BigInt(this.burst) * BigInt(this.periodMs);
    if (this.lastMs < 0) return cap;
    const gained = BigInt(Math.max(0, t - this.lastMs)) * BigInt(this.limit);
    const c = this.credit + gained;
    return c > cap ? cap : c;
  }
  allowedAt(cost: number, t: number): boolean {
    if (cost < 0) return true;
    return this.creditAt(t) >= BigInt(cost) * BigInt(this.periodMs);
  }
  apply(cost: number, t: number): boolean {
    const credit = this.creditAt(t);
    const cap = BigInt(this.burst) * BigInt(this.periodMs);
    const need = BigInt(cost) * BigInt(this.periodMs);
    this.lastMs = Math.max(this.lastMs, t);
    if (cost < 0) {
      const c = credit - need;
      this.credit = c > cap ? cap : c;
      return true;
    }
    this.credit = credit;
    if (credit < need) return false;
    this.credit = credit - need;
    return true;
  }
  remainingAt(t: number): number {
    return lastTrue(this.burst, (c) => this.allowedAt(c, t));
  }
  horizonMs(t: number): number {
    return t + Math.ceil((this.burst * this.periodMs) / this.limit) + 2;
  }
}

/** Fixed window: the count of every epoch-aligned window ever used. */
export class FixedWindowModel implements Model {
  readonly windows = new Map<number, number>();
  constructor(
    private readonly limit: number,
    private readonly periodMs: number,
  ) {}
  private countAt(t: number): number {
    return this.windows.get(Math.floor(t / this.periodMs)) ?? 0;
  }
  allowedAt(cost: number, t: number): boolean {
    return cost < 0 || this.countAt(t) + cost <= this.limit;
  }
  apply(cost: number, t: number): boolean {
    const k = Math.floor(t / this.periodMs);
    const count = this.windows.get(k) ?? 0;
    if (cost < 0) {
      this.windows.set(k, Math.max(0, count + cost));
      return true;
    }
    if (count + cost > this.limit) return false;
    this.windows.set(k, count + cost);
    return true;
  }
  remainingAt(t: number): number {
    return lastTrue(this.limit, (c) => this.allowedAt(c, t));
  }
  horizonMs(t: number): number {
    return t + 2 * this.periodMs;
  }
}

/** Sliding window: every aligned window's count; estimate compared exactly in BigInt. */
export class SlidingWindowModel implements Model {
  readonly windows = new Map<number, number>();
  constructor(
    private readonly limit: number,
    private readonly periodMs: number,
  ) {}
  allowedAt(cost: number, t: number): boolean {
    if (cost < 0) return true;
    const P = this.periodMs;
    const k = Math.floor(t / P);
    const cur = this.windows.get(k) ?? 0;
    const prev = this.windows.get(k - 1) ?? 0;
    const elapsed = t - k * P;
    // prev × (P - elapsed) / P + cur + cost <= limit, multiplied through by P.
    return BigInt(prev) * BigInt(P - elapsed) + BigInt(cur + cost) * BigInt(P) <= BigInt(this.limit) * BigInt(P);
  }
  apply(cost: number, t: number): boolean {
    const k = Math.floor(t / this.periodMs);
    const cur = this.windows.get(k) ?? 0;
    if (cost < 0) {
      this.windows.set(k, Math.max(0, cur + cost));
      return true;
    }
    if (!this.allowedAt(cost, t)) return false;
    this.windows.set(k, cur + cost);
    return true;
  }
  remainingAt(t: number): number {
    return Math.max(0, lastTrue(this.limit, (c) => this.allowedAt(c, t)));
  }
  horizonMs(t: number): number {
    return t + 3 * this.periodMs;
  }
}

interface ModelLease {
  readonly id: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly units: number;
  releasedMs: number;
}

/** Concurrency: every lease ever granted with its start, expiry and release time. */
export class ConcurrencyModel implements Model {
  readonly leases: ModelLease[] = [];
  constructor(
    private readonly limit: number,
    private readonly leaseMs: number,
  ) {}
  usedAt(t: number): number {
    let used = 0;
    for (const l of this.leases) if (l.startMs <= t && t < l.endMs && t < l.releasedMs) used += l.units;
    return used;
  }
  allowedAt(cost: number, t: number): boolean {
    return this.usedAt(t) + cost <= this.limit;
  }
  apply(cost: number, t: number, id = ''): boolean {
    if (!this.allowedAt(cost, t)) return false;
    if (cost > 0) this.leases.push({ id, startMs: t, endMs: t + this.leaseMs, units: cost, releasedMs: Infinity });
    return true;
  }
  release(id: string, t: number): boolean {
    const l = this.leases.find((x) => x.id === id);
    if (l === undefined || !(l.startMs <= t && t < l.endMs && t < l.releasedMs)) return false;
    l.releasedMs = t;
    return true;
  }
  remainingAt(t: number): number {
    return Math.max(0, this.limit - this.usedAt(t));
  }
  horizonMs(t: number): number {
    return t + this.leaseMs + 1;
  }
}
