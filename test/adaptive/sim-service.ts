/**
 * A simulated protected service in virtual time, and the closed loop that runs the real
 * controller (src/adaptive) against it: per interval, callers' demand meets the effective
 * limit (base limit × factor), the service's p99 latency rises with the admitted load
 * (queueing: p99 = base / (1 - utilisation)), callers report one latency per admitted call
 * (drawn from an exponential distribution with that p99, so each interval's measured p99
 * carries real sampling noise), and the reports travel through the same report buckets
 * and SignalWindow as on a cluster. Seeded: a run replays exactly from its seed.
 * Used by test/adaptive/controller.test.ts and by the chart script (npm run adaptive:chart).
 */
import { CONTROLLER_PARAMS, SignalWindow, stepFactor, type ControllerParams, type ResourceSignals } from '../../src/adaptive/index.js';
import type { AdaptiveSpec } from '../../src/config/index.js';
import { reportBucketOf } from '../../src/protocol/report.js';
import { createSeededPrng } from '../../raft/index.js';

/** One interval of a run. */
export interface SimInterval {
  readonly interval: number;
  /** Service capacity (calls/s) during the interval. */
  readonly capacityPerSec: number;
  /** The factor in force during the interval. */
  readonly factor: number;
  readonly admittedPerSec: number;
  /** The p99 the service's model gives for the interval's load, and the p99 the reports measured. */
  readonly modelP99Ms: number;
  readonly measuredP99Ms: number | null;
  readonly errorRate: number;
  readonly action: string;
  readonly reason: string;
}

export interface SimOptions {
  readonly spec: AdaptiveSpec;
  readonly seed: number;
  readonly intervals: number;
  /** Capacity (calls/s) as a function of the interval number: a step change is a jump. */
  readonly capacityAt: (interval: number) => number;
  /** Calls/s callers want; the limit binds when it is below this. [2000] */
  readonly demandPerSec?: number;
  /** Base limit of the resource in calls/s (the written rule). [1000] */
  readonly baseLimitPerSec?: number;
  /** The service's latency with no load, ms. [50] */
  readonly baseLatencyMs?: number;
  /** Caller reports per admitted call (1: every call reports). [1] */
  readonly reportShare?: number;
  /** Factor in force at the start. [1] */
  readonly startFactor?: number;
  /** Event-loop lag the limiter nodes report (constant). [2] */
  readonly limiterLagMs?: number;
  /** Controller parameters (experiments only). [CONTROLLER_PARAMS] */
  readonly params?: ControllerParams;
}

/** Utilisation at which the model stops growing latency hyperbolically (an overloaded service times out at ~20× its base latency). */
const RHO_MAX = 0.95;

/** The model's p99 at utilisation `rho`: M/M/1-like, p99 = base / (1 - rho), saturating beyond RHO_MAX. */
export function modelP99Ms(baseLatencyMs: number, rho: number): number {
  const r = Math.min(rho, RHO_MAX);
  return baseLatencyMs / (1 - r) + (rho > RHO_MAX ? baseLatencyMs * 20 * (rho - RHO_MAX) : 0);
}

/** The model's error rate at utilisation `rho`: none below 80%, then rising steeply (timeouts). */
export function modelErrorRate(rho: number): number {
  return rho <= 0.8 ? 0 : Math.min(1, (rho - 0.8) * 0.5);
}

/** Runs the closed loop for `intervals` intervals and returns every interval. */
export function runSim(o: SimOptions): SimInterval[] {
  const prng = createSeededPrng(o.seed);
  const uniform = (): number => (prng.nextInt(0x1_0000_0000) + 0.5) / 0x1_0000_0000;
  const demand = o.demandPerSec ?? 2000;
  const base = o.baseLimitPerSec ?? 1000;
  const baseLatencyMs = o.baseLatencyMs ?? 50;
  const share = o.reportShare ?? 1;
  const seconds = o.spec.intervalMs / 1000;
  const window = new SignalWindow();
  let state = { factor: o.startFactor ?? 1, frozen: false, staleIntervals: 0, heldIntervals: 0 };
  const out: SimInterval[] = [];
  for (let i = 0; i < o.intervals; i++) {
    const capacity = o.capacityAt(i);
    const limit = Math.max(1, Math.round(base * state.factor));
    const admitted = Math.min(demand, limit);
    const rho = admitted / capacity;
    const p99 = modelP99Ms(baseLatencyMs, rho);
    const errorRate = modelErrorRate(rho);
    // Reports: exponential latencies with mean p99 / ln(100), so their p99 is the model's.
    const reports = Math.round(admitted * seconds * share);
    const meanMs = p99 / Math.log(100);
    const buckets = new Map<number, number>();
    let errors = 0;
    for (let k = 0; k < reports; k++) {
      const b = reportBucketOf(-meanMs * Math.log(uniform()));
      buckets.set(b, (buckets.get(b) ?? 0) + 1);
      if (uniform() < errorRate) errors++;
    }
    window.add('sim', {
      resource: o.spec.resource,
      count: reports,
      errors,
      buckets: [...buckets].sort((a, b) => a[0] - b[0]),
      admitted: Math.round(admitted * seconds),
      denied: Math.round((demand - admitted) * seconds),
    }, { lagP99Ms: o.limiterLagMs ?? 2, cpu: 0.2 });
    window.close(o.spec.intervalMs);
    const held = state.heldIntervals + 1;
    const signals: ResourceSignals = window.signals(1);
    const d = stepFactor(o.spec, { ...state, heldIntervals: held }, window, o.params ?? CONTROLLER_PARAMS);
    out.push({ interval: i, capacityPerSec: capacity, factor: state.factor, admittedPerSec: admitted, modelP99Ms: p99, measuredP99Ms: signals.latencyP99Ms, errorRate: signals.errorRate, action: d.action, reason: d.reason });
    state = { factor: d.factor, frozen: false, staleIntervals: d.staleIntervals, heldIntervals: d.factor === state.factor ? held : 0 };
  }
  return out;
}
