/**
 * Sliding window counter (two-window weighted estimate, as Cloudflare describes it):
 * the count of the previous aligned window is weighted by the part of it that the
 * sliding window still covers, estimate = prev × (P - t) / P + cur, t = now - windowStart.
 * A check of `cost` is allowed when estimate + cost <= limit.
 *
 * All comparisons are done multiplied through by P, in integers: configuration bounds
 * limit × periodMs below 2^53, so they are exact and `retryAfterMs` is exact.
 */
import { checkCost, checkNowMs } from './checks.js';
import { RETRY_NEVER_MS, type AlgorithmResult, type CompiledRule, type TimestampMs } from './types.js';

export interface SlidingWindowState {
  /** Start of the current window; a multiple of the rule's period. */
  readonly windowStartMs: TimestampMs;
  /** Units admitted in the current window. */
  readonly count: number;
  /** Units admitted in the window before it. */
  readonly prevCount: number;
}

/**
 * Decides one sliding-window check. Time before the state's window counts as no time passed.
 *
 * @example
 * ```ts
 * const r = slidingWindowDecide(undefined, { ...rule, algorithm: 'sliding_window', limit: 10, periodMs: 1000 }, 1, 42);
 * // r.allowed === true, r.remaining === 9
 * ```
 */
export function slidingWindowDecide(
  state: SlidingWindowState | undefined,
  rule: CompiledRule,
  cost: number,
  nowMs: TimestampMs,
): AlgorithmResult<SlidingWindowState> {
  checkNowMs(nowMs);
  checkCost(cost);
  const L = rule.limit;
  const P = rule.periodMs;
  let windowStartMs = nowMs - (nowMs % P);
  let effectiveNowMs = nowMs;
  let cur = 0;
  let prev = 0;
  if (state !== undefined) {
    if (state.windowStartMs >= windowStartMs) {
      // Same window, or time went backwards: no time has passed since the state's window.
      if (state.windowStartMs > windowStartMs) effectiveNowMs = state.windowStartMs;
      windowStartMs = state.windowStartMs;
      cur = state.count;
      prev = state.prevCount;
    } else if (state.windowStartMs === windowStartMs - P) {
      prev = state.count;
    }
  }
  const t = effectiveNowMs - windowStartMs; // 0 <= t < P
  const prevWeighted = prev * (P - t); // prev's share of the estimate, times P
  if (cost < 0) {
    const after = Math.max(0, cur + cost);
    return result(true, L, P, t, prev, prevWeighted, after, 0, after === cur ? null : { windowStartMs, count: after, prevCount: prev });
  }
  if (cost <= L - cur && prevWeighted <= (L - cur - cost) * P) {
    const after = cur + cost;
    return result(true, L, P, t, prev, prevWeighted, after, 0, cost === 0 ? null : { windowStartMs, count: after, prevCount: prev });
  }
  let retryAfterMs: number;
  if (cost > L) {
    retryAfterMs = RETRY_NEVER_MS;
  } else if (cost <= L - cur) {
    // Fits in this window once prev's weight has decayed: smallest t' with prev × (P - t') <= slack × P.
    const slack = L - cur - cost;
    retryAfterMs = P - Math.floor((slack * P) / prev) - t;
  } else {
    // Only in the next window, where cur becomes the decaying previous count.
    retryAfterMs = P - t + Math.max(0, P - Math.floor(((L - cost) * P) / cur));
  }
  return result(false, L, P, t, prev, prevWeighted, cur, retryAfterMs, null);
}

function result(
  allowed: boolean,
  L: number,
  P: number,
  t: number,
  prev: number,
  prevWeighted: number,
  cur: number,
  retryAfterMs: number,
  next: SlidingWindowState | null,
): AlgorithmResult<SlidingWindowState> {
  const remaining = L - cur - Math.ceil(prevWeighted / P);
  return {
    allowed,
    limit: L,
    remaining: remaining > 0 ? remaining : 0,
    // Back to a full quota once both windows are empty: the end of the next window if
    // the current one has counts, the end of this one if only the previous one has.
    resetMs: cur > 0 ? 2 * P - t : prev > 0 ? P - t : 0,
    retryAfterMs,
    next,
  };
}

/** The instant after which `state` is the same as no state at all. */
export function slidingWindowExpiresAtMs(state: SlidingWindowState, rule: CompiledRule): TimestampMs {
  return state.windowStartMs + (state.count > 0 ? 2 : 1) * rule.periodMs;
}
