/**
 * GCRA (generic cell rate algorithm): a token bucket of `burst` units refilled at
 * `limit` units per `periodMs`, kept as one "theoretical arrival time" (TAT) per key.
 *
 * Exact integer arithmetic: the emission interval T = periodMs / limit is rarely a whole
 * number of milliseconds, and floats at epoch magnitudes (~2^41 ms) round it, which
 * moves decisions at exact boundaries. So TAT is held as whole milliseconds plus a
 * remainder in units of 1/limit ms: TAT = tatMs + tatFrac / limit, 0 <= tatFrac < limit.
 * In those units T is exactly `periodMs`. Configuration bounds burst × periodMs and
 * limit × periodMs below 2^53, so every product here is exact.
 */
import { checkCost, checkNowMs } from './checks.js';
import { RETRY_NEVER_MS, type AlgorithmResult, type CompiledRule, type TimestampMs } from './types.js';

export interface GcraState {
  /** Whole milliseconds of the theoretical arrival time. */
  readonly tatMs: TimestampMs;
  /** Remainder in units of 1/limit ms. Invariant: 0 <= tatFrac < limit of the rule that wrote it. */
  readonly tatFrac: number;
}

/**
 * Decides one GCRA check of `cost` units at `nowMs`. Positive cost consumes, zero peeks,
 * negative refunds (never above a full bucket). O(1); never mutates `state`.
 *
 * @example
 * ```ts
 * const rule = { ...someGcraRule, limit: 10, periodMs: 1000, burst: 10 };
 * const r = gcraDecide(undefined, rule, 1, 1_700_000_000_000);
 * // r.allowed === true, r.remaining === 9, r.next is the new state to store
 * ```
 */
export function gcraDecide(
  state: GcraState | undefined,
  rule: CompiledRule,
  cost: number,
  nowMs: TimestampMs,
): AlgorithmResult<GcraState> {
  checkNowMs(nowMs);
  checkCost(cost);
  const L = rule.limit;
  const P = rule.periodMs;
  const B = rule.burst;
  // base = max(TAT, now); a remainder from a rule with a smaller limit rounds up (conservative).
  let baseMs = nowMs;
  let baseFrac = 0;
  if (state !== undefined) {
    let ms = state.tatMs;
    let frac = state.tatFrac;
    if (frac >= L) {
      ms += 1;
      frac = 0;
    }
    if (ms > nowMs || (ms === nowMs && frac > 0)) {
      baseMs = ms;
      baseFrac = frac;
    }
  }
  const capacityUnits = B * P; // burst × T, in 1/limit ms
  if (cost < 0) return refund(state, L, P, capacityUnits, baseMs, baseFrac, Math.min(-cost, B), nowMs);
  if (cost > B) {
    return {
      allowed: false,
      limit: L,
      remaining: remainingUnits(capacityUnits, baseMs, baseFrac, nowMs, L, P),
      resetMs: ceilDelta(baseMs, baseFrac, nowMs),
      retryAfterMs: RETRY_NEVER_MS,
      next: null,
    };
  }
  // newTAT = base + cost × T
  const total = baseFrac + cost * P;
  const carry = Math.floor(total / L);
  const newMs = baseMs + carry;
  const newFrac = total - carry * L;
  // allowAt = newTAT - burst × T; allowed iff now >= allowAt.
  const capMs = Math.floor(capacityUnits / L);
  const capFrac = capacityUnits - capMs * L;
  let allowMs = newMs - capMs;
  let allowFrac = newFrac - capFrac;
  if (allowFrac < 0) {
    allowMs -= 1;
    allowFrac += L;
  }
  const allowAtCeilMs = allowFrac > 0 ? allowMs + 1 : allowMs;
  if (nowMs >= allowAtCeilMs) {
    return {
      allowed: true,
      limit: L,
      remaining: remainingUnits(capacityUnits, newMs, newFrac, nowMs, L, P),
      resetMs: ceilDelta(newMs, newFrac, nowMs),
      retryAfterMs: 0,
      next: cost === 0 ? null : { tatMs: newMs, tatFrac: newFrac },
    };
  }
  return {
    allowed: false,
    limit: L,
    remaining: remainingUnits(capacityUnits, baseMs, baseFrac, nowMs, L, P),
    resetMs: ceilDelta(baseMs, baseFrac, nowMs),
    retryAfterMs: allowAtCeilMs - nowMs,
    next: null,
  };
}

/** The instant after which `state` is the same as no state at all (a full bucket). */
export function gcraExpiresAtMs(state: GcraState): TimestampMs {
  return state.tatFrac > 0 ? state.tatMs + 1 : state.tatMs;
}

function refund(
  state: GcraState | undefined,
  L: number,
  P: number,
  capacityUnits: number,
  baseMs: number,
  baseFrac: number,
  units: number,
  nowMs: number,
): AlgorithmResult<GcraState> {
  let next: GcraState | null = null;
  let ms = baseMs;
  let frac = baseFrac;
  if (state !== undefined && units > 0 && (baseMs > nowMs || baseFrac > 0)) {
    const total = baseFrac - units * P;
    const carry = Math.floor(total / L);
    ms = baseMs + carry;
    frac = total - carry * L;
    if (ms < nowMs || (ms === nowMs && frac === 0)) {
      ms = nowMs;
      frac = 0;
    }
    next = { tatMs: ms, tatFrac: frac };
  }
  return {
    allowed: true,
    limit: L,
    remaining: remainingUnits(capacityUnits, ms, frac, nowMs, L, P),
    resetMs: ceilDelta(ms, frac, nowMs),
    retryAfterMs: 0,
    next,
  };
}

/** floor((burst × T - (TAT - now)) / T): the largest cost a check at `nowMs` could take. */
function remainingUnits(capacityUnits: number, tatMs: number, tatFrac: number, nowMs: number, L: number, P: number): number {
  const owedUnits = (tatMs - nowMs) * L + tatFrac; // (TAT - now) in 1/limit ms; >= 0 as TAT >= now here
  const r = Math.floor((capacityUnits - owedUnits) / P);
  return r > 0 ? r : 0;
}

/** ceil(TAT - now) in ms, at least 0. */
function ceilDelta(tatMs: number, tatFrac: number, nowMs: number): number {
  const d = tatMs - nowMs + (tatFrac > 0 ? 1 : 0);
  return d > 0 ? d : 0;
}
