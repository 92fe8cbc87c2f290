/**
 * Local memory of denials: a denied (key, resources, tier) stays denied for every cost at
 * least the denied one until `retryAfterMs` has passed since the answer arrived (the
 * engine's `retryAfterMs` is exact: nothing but a config change makes the check allowed
 * sooner, and a larger cost never waits less). At `untilMs` it no longer answers.
 * Cleared whole when the cluster's config version changes.
 */
import type { CheckOutput } from '../src/protocol/check.js';

interface Entry {
  readonly costMin: number;
  /** Instant at which the entry stops answering; Infinity for "never at this cost". */
  readonly untilMs: number;
  readonly resetUntilMs: number;
  readonly output: CheckOutput;
}

/**
 * @example
 * ```ts
 * const cache = new DenyCache(10_000);
 * cache.remember('user:1|search|', 1, denied, now);
 * cache.lookup('user:1|search|', 1, now + 5); // a denial with retryAfterMs shortened by 5
 * ```
 */
export class DenyCache {
  /** Insertion-ordered so the oldest entry is evicted first at the bound. */
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly entriesMax: number) {}

  get size(): number {
    return this.entries.size;
  }

  static keyOf(key: string, resources: readonly string[], tier: string | undefined): string {
    return `${key}\u0000${resources.join(',')}\u0000${tier ?? ''}`;
  }

  /** Remembers a denial answered at `nowMs`. Allowed answers and retryAfterMs = 0 are ignored. */
  remember(cacheKey: string, cost: number, output: CheckOutput, nowMs: number): void {
    if (output.allowed || output.retryAfterMs === 0) return;
    const untilMs = output.retryAfterMs < 0 ? Number.POSITIVE_INFINITY : nowMs + output.retryAfterMs;
    this.entries.delete(cacheKey);
    if (this.entries.size >= this.entriesMax) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(cacheKey, { costMin: cost, untilMs, resetUntilMs: nowMs + output.resetMs, output });
  }

  /** The cached denial as it stands at `nowMs`, or undefined. Invariant: never answers at or after untilMs. */
  lookup(cacheKey: string, cost: number, nowMs: number): CheckOutput | undefined {
    const e = this.entries.get(cacheKey);
    if (e === undefined) return undefined;
    if (nowMs >= e.untilMs) {
      this.entries.delete(cacheKey);
      return undefined;
    }
    if (cost < e.costMin) return undefined;
    return {
      allowed: false,
      limit: e.output.limit,
      remaining: 0,
      resetMs: Math.max(0, Math.ceil(e.resetUntilMs - nowMs)),
      retryAfterMs: e.untilMs === Number.POSITIVE_INFINITY ? -1 : Math.max(1, Math.ceil(e.untilMs - nowMs)),
      rule: e.output.rule,
    };
  }

  clear(): void {
    this.entries.clear();
  }
}
