/**
 * Fixed window counter, aligned to the epoch (window k covers [k × period, (k+1) × period)),
 * like envoyproxy/ratelimit: up to `limit` units per window, the count resets at the
 * boundary. Cheap and easy to explain; allows up to 2 × limit across a boundary.
 */
import { checkCost, checkNowMs } from './checks.js';
import { RETRY_NEVER_MS, type AlgorithmResult, type CompiledRule, type TimestampMs } from './types.js';

export interface FixedWindowState {
  /** Start of the window the count belongs to; a multiple of the rule's period. */
  readonly windowStartMs: TimestampMs;
  /** Units admitted in that window. Invariant: 0 <= count <= limit of the rule that wrote it. */
  readonly count: number;
}

/**
 * Decides one fixed-window check. If `nowMs` falls before the state's window (time went
 * backwards), it is treated as the start of the state's window: no time has passed.
 *
 * @example
 * ```ts
 * const r = fixedWindowDecide(undefined, { ...rule, algorithm: 'fixed_window', limit: 2, periodMs: 1000 }, 1, 5_500);
 * // r.allowed === true, r.remaining === 1, r.resetMs === 500
 * ```
 */
export function fixedWindowDecide(
  state: FixedWindowState | undefined,
  rule: CompiledRule,
  cost: number,
  nowMs: TimestampMs,
): AlgorithmResult<FixedWindowState> {
  checkNowMs(nowMs);
  checkCost(cost);
  const L = rule.limit;
  const P = rule.periodMs;
  let windowStartMs = nowMs - (nowMs % P);
  let effectiveNowMs = nowMs;
  let count = 0;
  if (state !== undefined) {
    if (state.windowStartMs > windowStartMs) {
      windowStartMs = state.windowStartMs;
      effectiveNowMs = windowStartMs;
    }
    if (state.windowStartMs === windowStartMs) count = state.count;
  }
  const windowLeftMs = windowStartMs + P - effectiveNowMs;
  if (cost < 0) {
    const after = Math.max(0, count + cost);
    return {
      allowed: true,
      limit: L,
      remaining: Math.max(0, L - after),
      resetMs: after > 0 ? windowLeftMs : 0,
      retryAfterMs: 0,
      next: after === count ? null : { windowStartMs, count: after },
    };
  }
  if (count + cost <= L) {
    const after = count + cost;
    return {
      allowed: true,
      limit: L,
      remaining: L - after,
      resetMs: after > 0 ? windowLeftMs : 0,
      retryAfterMs: 0,
      next: cost === 0 ? null : { windowStartMs, count: after },
    };
  }
  return {
    allowed: false,
    limit: L,
    remaining: Math.max(0, L - count),
    resetMs: count > 0 ? windowLeftMs : 0,
    // The next window starts empty, so any cost <= limit fits there; nothing sooner can.
    retryAfterMs: cost > L ? RETRY_NEVER_MS : windowLeftMs,
    next: null,
  };
}

/** The instant after which `state` is the same as no state at all. */
export function fixedWindowExpiresAtMs(state: FixedWindowState, rule: CompiledRule): TimestampMs {
  return state.windowStartMs + rule.periodMs;
}
