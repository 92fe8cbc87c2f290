/**
 * The adaptive-limit controller (docs/adaptive.md): once per interval, from the signals of
 * the interval and the factor in force, the next factor of one resource. A bounded gradient
 * controller: the factor moves by (target / observed)^0.3 beyond a ±10% deadband (a damped
 * step toward the factor that would meet the target), never more than one bounded step per
 * interval (−25% or +0.1: the asymmetry of AIMD), never outside `[minFactor, maxFactor]`,
 * and only on evidence: a large error in one interval that its confidence interval
 * confirms, or a smaller one over several intervals at the same factor. Pure and
 * deterministic: no clock, no I/O; the meta leader runs it and replicates its output.
 */
import type { AdaptiveSpec } from '../config/adaptive.js';
import { WINDOW_INTERVALS_MAX, type ResourceSignals } from './signals.js';

/**
 * The controller's parameters, each with the reason for its number.
 */
export const CONTROLLER_PARAMS = Object.freeze({
  /**
   * Exponent of target / observed (beyond the deadband). 1 would jump straight to the
   * proportional answer, which overshoots on a service whose latency rises faster than
   * linearly with load: near a p99 target of 4× the idle latency an M/M/1-like service's p99
   * moves 3% per 1% of load, so the loop gain is 3 × 0.3 ≈ 1 there — one step lands near the
   * target instead of past it. Far from the target the step bounds below decide anyway.
   */
  gain: 0.3,
  /** Hold while the observed value is within ±10% of the target: half the ±20% acceptance band, so a settled factor stays put under ordinary noise. */
  deadband: 0.1,
  /**
   * Errors of 25% or more in the last interval alone (a capacity step, an overload) act at
   * once when the interval's confidence interval (fastZ) excludes the target; smaller errors are judged on
   * at least 2 intervals run at the same factor, merged (up to mergeIntervalsMax): a p99
   * measured from a few hundred reports is off by ~10% by chance alone.
   */
  actNowError: 0.25,
  confirmIntervals: 2,
  /**
   * Confidence of those intervals: 99% (z 2.576) for the fast path, whose one interval may
   * hold few reports and which would otherwise move a settled factor on a 1-in-20 fluke every
   * 20 intervals; 90% (z 1.645) for merged intervals, which hold several times more reports.
   */
  fastZ: 2.576,
  settledZ: 1.645,
  /** Intervals at one factor merged into one judgement at most (the window keeps this many). */
  mergeIntervalsMax: WINDOW_INTERVALS_MAX,
  /** Largest increase per interval, in factor units: additive, so recovery is gradual (the "additive increase" of AIMD). */
  stepUpMax: 0.1,
  /** Largest decrease per interval, as a share of the factor: multiplicative, so shedding is fast at any factor (its "multiplicative decrease"). */
  stepDownMaxFraction: 0.25,
  /** Reports a judgement needs: with fewer, the p99 is just the slowest call. */
  samplesMin: 20,
  /** Intervals without any caller report after which the factor drifts back toward 1.0 (one step per interval): the last word of a silent service should not hold forever. */
  staleIntervals: 3,
  /** The limit counts as binding when at least 1% of the resource's checks are denied: raising a limit nobody reaches changes nothing but the risk. */
  bindingDeniedFraction: 0.01,
  /** No increase while any node's event-loop lag p99 is over 100 ms: admitted checks cost the limiter more than denials (replication), so an overloaded limiter must not admit more. */
  limiterLagMsMax: 100,
  /** Nor while any node's CPU is over 90% of a core (the node runs on one event loop). */
  limiterCpuMax: 0.9,
  /** Factors are kept to 3 decimals: finer steps change no limit below 1000 and would only add meta-log entries. */
  resolution: 0.001,
});

/** What the controller remembers of one resource between intervals. */
export interface ControllerState {
  /** The factor in force (replicated: read from the meta group, never from node-local state). */
  readonly factor: number;
  readonly frozen: boolean;
  /** Consecutive intervals without any caller report (leader-local; a new leader starts at 0). */
  readonly staleIntervals: number;
  /** Closed intervals run at the current factor, the one just ended included (leader-local; a new leader starts at 0). */
  readonly heldIntervals: number;
}

export type ControllerAction = 'frozen' | 'hold' | 'increase' | 'decrease' | 'wait' | 'drift';

export interface ControllerDecision {
  readonly factor: number;
  readonly staleIntervals: number;
  readonly action: ControllerAction;
  /** One sentence on why, with the numbers: logged at info on every change and shown by explain. */
  readonly reason: string;
  /** The signals the decision rests on (the last interval, or the merged ones), for the record. */
  readonly signals: ResourceSignals | null;
}

/** Where the controller reads its signals: the resource's SignalWindow (or a test's stand-in). */
export interface SignalSource {
  /** The newest `intervals` closed intervals together, with confidence intervals at `z`. */
  signals(intervals: number, z: number): ResourceSignals;
}

export type ControllerParams = typeof CONTROLLER_PARAMS;

/** `f` on the factor grid, as a decimal (0.563, never 0.5630000000000001). */
function quantize(f: number, P: ControllerParams): number {
  const steps = Math.round(1 / P.resolution);
  return Math.round(f * steps) / steps;
}

function show(n: number, digits = 3): string {
  return String(+n.toFixed(digits));
}

/** `to` limited to one bounded step from `from`, inside the spec's bounds, on the factor grid. */
function boundedStep(spec: AdaptiveSpec, from: number, to: number, P: ControllerParams): number {
  const lo = from * (1 - P.stepDownMaxFraction);
  const hi = from + P.stepUpMax;
  const stepped = Math.min(hi, Math.max(lo, to));
  return Math.min(spec.maxFactor, Math.max(spec.minFactor, quantize(stepped, P)));
}

function describeObserved(spec: AdaptiveSpec, value: number): string {
  return spec.target.kind === 'latencyP99Ms' ? `p99 ${show(value, 1)}ms` : `error rate ${show(value * 100, 2)}%`;
}

function describeInterval(spec: AdaptiveSpec, low: number, high: number): string {
  return spec.target.kind === 'latencyP99Ms' ? `[${show(low, 1)}, ${show(high, 1)}]ms` : `[${show(low * 100, 2)}, ${show(high * 100, 2)}]%`;
}

function describeGoal(spec: AdaptiveSpec): string {
  return spec.target.kind === 'latencyP99Ms' ? `${spec.target.value}ms` : `${show(spec.target.value * 100, 2)}%`;
}

/** The observed value the target is about, or null when the signals cannot tell. */
function observedOf(spec: AdaptiveSpec, s: ResourceSignals, P: ControllerParams): number | null {
  if (s.samples < P.samplesMin) return null;
  return spec.target.kind === 'latencyP99Ms' ? s.latencyP99Ms : s.errorRate;
}

/** True when the target lies inside the confidence interval of what `s` observed: not enough evidence to act. */
function targetInInterval(spec: AdaptiveSpec, s: ResourceSignals, observed: number): boolean {
  const [low, high] = spec.target.kind === 'latencyP99Ms' ? [s.latencyP99LowMs ?? observed, s.latencyP99HighMs ?? observed] : [s.errorRateLow, s.errorRateHigh];
  return low <= spec.target.value && spec.target.value <= high;
}

/**
 * The next factor of one resource from its settings, its state, and its signals: the
 * interval that just ended, and the intervals run at the current factor merged.
 * Clamped, bounded, deterministic. `params` replaces CONTROLLER_PARAMS (tests only).
 *
 * @example
 * ```ts
 * window.close(1000);
 * const d = stepFactor(spec, { factor: 1, frozen: false, staleIntervals: 0, heldIntervals: 1 }, window);
 * // 500 reports at 800ms against a 200ms target:
 * // { factor: 0.75, action: 'decrease', reason: 'p99 824.6ms over target 200ms: ×0.673 wanted (bounded to 25% per interval)', ... }
 * ```
 */
export function stepFactor(spec: AdaptiveSpec, state: ControllerState, source: SignalSource, params: ControllerParams = CONTROLLER_PARAMS): ControllerDecision {
  const P = params;
  const f = Math.min(spec.maxFactor, Math.max(spec.minFactor, state.factor));
  const latest = source.signals(1, P.fastZ);
  if (state.frozen) return { factor: state.factor, staleIntervals: 0, action: 'frozen', reason: `frozen by an operator at ${show(state.factor)}`, signals: latest };
  if (latest.samples === 0) {
    const stale = state.staleIntervals + 1;
    if (stale < P.staleIntervals || f === 1) {
      return { factor: f, staleIntervals: stale, action: 'wait', reason: `no caller reports in the interval (${Math.min(stale, P.staleIntervals)} of ${P.staleIntervals} before drifting to 1.0)`, signals: null };
    }
    const next = boundedStep(spec, f, 1, P);
    // Invariant: drifting moves toward 1.0 and never past it.
    const toward = f < 1 ? Math.min(next, 1) : Math.max(next, 1);
    return { factor: toward, staleIntervals: stale, action: 'drift', reason: `no caller reports for ${stale} intervals: signals stale, drifting from ${show(f)} toward 1.0`, signals: null };
  }
  // Fast path: a large error in the last interval alone, beyond its 90% interval.
  const observedNow = observedOf(spec, latest, P);
  if (observedNow !== null && Math.abs(observedNow / spec.target.value - 1) >= P.actNowError && !targetInInterval(spec, latest, observedNow)) {
    return act(spec, f, latest, observedNow, P);
  }
  // Settled path: the intervals run at this factor, merged.
  if (state.heldIntervals < P.confirmIntervals) {
    return { factor: f, staleIntervals: 0, action: 'hold', reason: `judging ${P.confirmIntervals} intervals at factor ${show(f)} together (${state.heldIntervals} so far)`, signals: latest };
  }
  const held = source.signals(Math.min(state.heldIntervals, P.mergeIntervalsMax), P.settledZ);
  const observed = observedOf(spec, held, P);
  if (observed === null) {
    const why = held.samples < P.samplesMin ? `${held.samples} caller reports (fewer than ${P.samplesMin})` : 'no reported latencies';
    return { factor: f, staleIntervals: 0, action: 'hold', reason: `${why} in ${held.intervals} intervals: nothing to judge`, signals: held };
  }
  const error = observed / spec.target.value - 1;
  if (Math.abs(error) <= P.deadband) {
    return { factor: f, staleIntervals: 0, action: 'hold', reason: `${describeObserved(spec, observed)} within ${P.deadband * 100}% of target ${describeGoal(spec)}`, signals: held };
  }
  if (targetInInterval(spec, held, observed)) {
    const [low, high] = spec.target.kind === 'latencyP99Ms' ? [held.latencyP99LowMs ?? observed, held.latencyP99HighMs ?? observed] : [held.errorRateLow, held.errorRateHigh];
    return { factor: f, staleIntervals: 0, action: 'hold', reason: `${describeObserved(spec, observed)}, but target ${describeGoal(spec)} is inside its 90% confidence interval ${describeInterval(spec, low, high)} (${held.samples} reports)`, signals: held };
  }
  return act(spec, f, held, observed, P);
}

/** Moves the factor toward the target by the damped, bounded gradient step that `observed` calls for. */
function act(spec: AdaptiveSpec, f: number, s: ResourceSignals, observed: number, P: ControllerParams): ControllerDecision {
  const goal = spec.target.value;
  const over = observed > goal;
  const seen = `${describeObserved(spec, observed)} ${over ? 'over' : 'under'} target ${describeGoal(spec)}${s.intervals > 1 ? ` (${s.intervals} intervals)` : ''}`;
  // The step covers only the part of the error beyond the deadband (a soft edge): just
  // outside it the factor moves by little, far outside by the full damped gradient.
  const excess = observed <= 0 ? Number.POSITIVE_INFINITY : Math.max(0, Math.abs(Math.log(goal / observed)) - Math.log(1 + P.deadband));
  const wanted = Math.exp((over ? -1 : 1) * P.gain * excess);
  const shown = Number.isFinite(wanted) ? show(wanted) : 'inf';
  if (over) {
    const next = boundedStep(spec, f, f * wanted, P);
    const bound = next === spec.minFactor ? ` (at minFactor ${spec.minFactor})` : next > f * wanted + P.resolution ? ` (bounded to ${P.stepDownMaxFraction * 100}% per interval)` : '';
    return { factor: next, staleIntervals: 0, action: next < f ? 'decrease' : 'hold', reason: `${seen}: ×${shown} wanted${bound}`, signals: s };
  }
  const total = s.admittedPerSec + s.deniedPerSec;
  if (s.deniedPerSec <= 0 || s.deniedPerSec < P.bindingDeniedFraction * total) {
    return { factor: f, staleIntervals: 0, action: 'hold', reason: `${seen}, but the limit is not binding (${show(s.deniedPerSec, 1)} denied/s): no increase`, signals: s };
  }
  const lag = s.limiterLagP99Ms ?? 0;
  const cpu = s.limiterCpu ?? 0;
  if (lag > P.limiterLagMsMax || cpu > P.limiterCpuMax) {
    return { factor: f, staleIntervals: 0, action: 'hold', reason: `${seen}, but the limiter is overloaded (event-loop lag p99 ${show(lag, 1)}ms, CPU ${show(cpu * 100, 0)}%): no increase`, signals: s };
  }
  const next = boundedStep(spec, f, f * wanted, P);
  const bound = next === spec.maxFactor ? ` (at maxFactor ${spec.maxFactor})` : next < f * wanted - P.resolution ? ` (bounded to +${P.stepUpMax} per interval)` : '';
  return { factor: next, staleIntervals: 0, action: next > f ? 'increase' : 'hold', reason: `${seen} with the limit binding (${show(s.deniedPerSec, 1)} denied/s): ×${shown} wanted${bound}`, signals: s };
}
