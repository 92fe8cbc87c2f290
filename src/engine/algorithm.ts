/**
 * One entry point over the four algorithms, chosen by `rule.algorithm`. The caller keeps
 * states tagged with the `stateShape` of the rule that wrote them and passes a state only
 * to a rule of the same shape, which is what makes the casts below sound.
 */
import { concurrencyAcquire, concurrencyExpiresAtMs, type ConcurrencyState } from './concurrency.js';
import { fixedWindowDecide, fixedWindowExpiresAtMs, type FixedWindowState } from './fixed-window.js';
import { gcraDecide, gcraExpiresAtMs, type GcraState } from './gcra.js';
import { slidingWindowDecide, slidingWindowExpiresAtMs, type SlidingWindowState } from './sliding-window.js';
import type { AlgorithmResult, CompiledRule, TimestampMs } from './types.js';

export type AlgorithmState = GcraState | FixedWindowState | SlidingWindowState | ConcurrencyState;

export interface AnyAlgorithmResult extends AlgorithmResult<AlgorithmState> {
  /** Concurrency acquires only: the id to release the lease with. */
  readonly leaseId?: string | null;
}

/**
 * Decides a check of `cost` units under `rule` at `nowMs` against `state` (which must
 * have been written by a rule of the same `stateShape`, or be undefined).
 *
 * @example
 * ```ts
 * const r = decide(rule, undefined, 1, 1_700_000_000_000);
 * if (r.allowed && r.next !== null) store(r.next);
 * ```
 */
export function decide(
  rule: CompiledRule,
  state: AlgorithmState | undefined,
  cost: number,
  nowMs: TimestampMs,
): AnyAlgorithmResult {
  switch (rule.algorithm) {
    case 'gcra':
      return gcraDecide(state as GcraState | undefined, rule, cost, nowMs);
    case 'sliding_window':
      return slidingWindowDecide(state as SlidingWindowState | undefined, rule, cost, nowMs);
    case 'fixed_window':
      return fixedWindowDecide(state as FixedWindowState | undefined, rule, cost, nowMs);
    case 'concurrency':
      return concurrencyAcquire(state as ConcurrencyState | undefined, rule, cost, nowMs);
  }
}

/** The instant after which `state` equals no state at all, so it may be dropped. */
export function stateExpiresAtMs(rule: CompiledRule, state: AlgorithmState): TimestampMs {
  switch (rule.algorithm) {
    case 'gcra':
      return gcraExpiresAtMs(state as GcraState);
    case 'sliding_window':
      return slidingWindowExpiresAtMs(state as SlidingWindowState, rule);
    case 'fixed_window':
      return fixedWindowExpiresAtMs(state as FixedWindowState, rule);
    case 'concurrency':
      return concurrencyExpiresAtMs(state as ConcurrencyState);
  }
}
