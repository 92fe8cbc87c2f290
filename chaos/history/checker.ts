/**
 * The history checker: replays a chaos run's checks against the rate-limit model and
 * finds what the cluster may not have done. Reasoning (chaos/README.md, "The checker"):
 *
 * - Only a definite `allowed` is known to have been admitted. A check that failed or timed
 *   out may or may not have been admitted; if it was, the cluster's state counts it, so it
 *   can only make later checks deny sooner. Over-admission is therefore proven, never
 *   guessed, by the definite allows alone: if they exceed what the rule permits over some
 *   span, the cluster admitted too much whatever the uncertain checks did.
 * - Each allow happened somewhere in [invokeMs, completeMs] of the driver's clock, and the
 *   leader decided it at group time, which may differ from real time by the clock skew the
 *   run injects (`clockUncertaintyMs`). A violation is reported only when no placement of
 *   the allows inside their intervals, widened by that uncertainty, fits the rule.
 * - GCRA (burst B, rate L per P): over any span of length D, at most B + floor(D × L / P)
 *   units. Windows (fixed and sliding counter): at most L per aligned window of P.
 */
import type { HistoryFault, HistoryOp, ModelRule } from './types.js';

export interface Violation {
  readonly key: string;
  readonly resource: string;
  readonly consistency: 'strict' | 'fast';
  /** Definite allows inside the span. */
  readonly allowed: number;
  /** What the rule permits over the span (with the clock uncertainty). */
  readonly bound: number;
  readonly fromMs: number;
  readonly toMs: number;
  /** Ids of the allows counted. */
  readonly opIds: readonly number[];
}

export interface OverAdmission {
  /** Worst excess of definite allows over the bound, per consistency mode (0 = none). */
  readonly strictExcess: number;
  readonly fastExcess: number;
  /** The worst span of each (key, resource) that over-admitted. */
  readonly violations: readonly Violation[];
  readonly keysChecked: number;
  readonly allowsChecked: number;
}

/** Allows of one key per scan: far beyond a chaos run's per-key count; beyond it the check is O(n²) too slow. */
const ALLOWS_PER_KEY_MAX = 20_000;

function groupByKey(ops: readonly HistoryOp[]): Map<string, HistoryOp[]> {
  const byKey = new Map<string, HistoryOp[]>();
  for (const o of ops) {
    if (o.result !== 'allowed') continue;
    const k = `${o.resource}\u0000${o.key}`;
    let list = byKey.get(k);
    if (list === undefined) byKey.set(k, (list = []));
    list.push(o);
  }
  return byKey;
}

/** The worst span of one key's definite allows under GCRA, or null when they fit. */
function gcraWorst(allows: readonly HistoryOp[], rule: ModelRule, uncertaintyMs: number): Omit<Violation, 'key' | 'resource' | 'consistency'> | null {
  const burst = rule.burst ?? rule.limit;
  const byInvoke = [...allows].sort((a, b) => a.invokeMs - b.invokeMs);
  let worst: Omit<Violation, 'key' | 'resource' | 'consistency'> | null = null;
  let worstExcess = 0;
  for (let i = 0; i < byInvoke.length; i++) {
    const fromMs = (byInvoke[i] as HistoryOp).invokeMs;
    // Every allow invoked at or after fromMs, by completion: each prefix is the set inside [fromMs, its completion].
    const inside = byInvoke.slice(i).sort((a, b) => a.completeMs - b.completeMs);
    let units = 0;
    for (let j = 0; j < inside.length; j++) {
      const o = inside[j] as HistoryOp;
      units += o.cost;
      const spanMs = o.completeMs - fromMs + 2 * uncertaintyMs;
      const bound = burst + Math.floor((spanMs * rule.limit) / rule.periodMs);
      if (units - bound > worstExcess) {
        worstExcess = units - bound;
        worst = { allowed: units, bound, fromMs, toMs: o.completeMs, opIds: inside.slice(0, j + 1).map((x) => x.id) };
      }
    }
  }
  return worst;
}

/** The worst aligned window of one key's definite allows under a window rule, or null when they fit. */
function windowWorst(allows: readonly HistoryOp[], rule: ModelRule, uncertaintyMs: number): Omit<Violation, 'key' | 'resource' | 'consistency'> | null {
  const P = rule.periodMs;
  const perWindow = new Map<number, HistoryOp[]>();
  for (const o of allows) {
    const first = Math.floor((o.invokeMs - uncertaintyMs) / P);
    const last = Math.floor((o.completeMs + uncertaintyMs) / P);
    if (first !== last) continue; // could belong to either window: counts for neither
    let list = perWindow.get(first);
    if (list === undefined) perWindow.set(first, (list = []));
    list.push(o);
  }
  let worst: Omit<Violation, 'key' | 'resource' | 'consistency'> | null = null;
  for (const [w, list] of perWindow) {
    const units = list.reduce((s, o) => s + o.cost, 0);
    if (units > rule.limit && (worst === null || units - rule.limit > worst.allowed - worst.bound)) {
      worst = { allowed: units, bound: rule.limit, fromMs: w * P, toMs: (w + 1) * P, opIds: list.map((o) => o.id) };
    }
  }
  return worst;
}

/**
 * Over-admission of a history: for each (key, resource) with a modelled rule, the worst
 * span in which definite allows exceed what the rule permits. Resources without a rule in
 * `rules` are not checked.
 */
export function checkOverAdmission(ops: readonly HistoryOp[], rules: Readonly<Record<string, ModelRule>>, clockUncertaintyMs: number): OverAdmission {
  const violations: Violation[] = [];
  let strictExcess = 0;
  let fastExcess = 0;
  let keysChecked = 0;
  let allowsChecked = 0;
  for (const allows of groupByKey(ops).values()) {
    const first = allows[0] as HistoryOp;
    const rule = rules[first.resource];
    if (rule === undefined) continue;
    if (allows.length > ALLOWS_PER_KEY_MAX) throw new RangeError(`key ${first.key} has ${allows.length} allows; the checker takes at most ${ALLOWS_PER_KEY_MAX} per key`);
    keysChecked++;
    allowsChecked += allows.length;
    const w = rule.algorithm === 'gcra' ? gcraWorst(allows, rule, clockUncertaintyMs) : windowWorst(allows, rule, clockUncertaintyMs);
    if (w === null) continue;
    violations.push({ key: first.key, resource: first.resource, consistency: rule.consistency, ...w });
    const excess = w.allowed - w.bound;
    if (rule.consistency === 'strict') strictExcess = Math.max(strictExcess, excess);
    else fastExcess = Math.max(fastExcess, excess);
  }
  return { strictExcess, fastExcess, violations, keysChecked, allowsChecked };
}

export interface LostCheck {
  /** Keys driven to their limit before the faults (definite allows = burst, then a definite denial). */
  readonly sentinels: number;
  /** Sentinels whose verify-phase probes were answered (allowed or denied). */
  readonly probed: number;
  /** Sentinels that admitted more after the faults than their acknowledged state permits. */
  readonly lost: readonly { key: string; resource: string; allowedBefore: number; allowedAfter: number; bound: number }[];
}

/**
 * Acknowledged-mutation loss: every key of `resource` that was driven to its limit before
 * the phase `verifyPhase` must still be at it then (up to what the rule refills in the
 * meantime). An allow in the verify phase beyond that means the cluster forgot admissions
 * it had acknowledged.
 */
export function checkLost(ops: readonly HistoryOp[], resource: string, rule: ModelRule, verifyPhase: string, clockUncertaintyMs: number): LostCheck {
  const burst = rule.burst ?? rule.limit;
  const byKey = new Map<string, HistoryOp[]>();
  for (const o of ops) {
    if (o.resource !== resource) continue;
    let list = byKey.get(o.key);
    if (list === undefined) byKey.set(o.key, (list = []));
    list.push(o);
  }
  let sentinels = 0;
  let probed = 0;
  const lost: { key: string; resource: string; allowedBefore: number; allowedAfter: number; bound: number }[] = [];
  for (const [key, list] of byKey) {
    const before = list.filter((o) => o.phase !== verifyPhase);
    const after = list.filter((o) => o.phase === verifyPhase);
    const allowedBefore = before.filter((o) => o.result === 'allowed');
    const saturated = allowedBefore.length >= burst && before.some((o) => o.result === 'denied');
    if (!saturated) continue;
    sentinels++;
    const answered = after.filter((o) => o.result === 'allowed' || o.result === 'denied');
    if (answered.length === 0) continue;
    probed++;
    const allowedAfter = answered.filter((o) => o.result === 'allowed');
    const fromMs = Math.min(...allowedBefore.map((o) => o.invokeMs));
    const toMs = Math.max(...answered.map((o) => o.completeMs));
    const bound = rule.algorithm === 'gcra' ? burst + Math.floor(((toMs - fromMs + 2 * clockUncertaintyMs) * rule.limit) / rule.periodMs) : rule.limit;
    if (allowedBefore.length + allowedAfter.length > bound) lost.push({ key, resource, allowedBefore: allowedBefore.length, allowedAfter: allowedAfter.length, bound });
  }
  return { sentinels, probed, lost };
}

export interface PhaseAvailability {
  readonly phase: string;
  readonly checks: number;
  readonly allowed: number;
  readonly denied: number;
  readonly errors: number;
  readonly timeouts: number;
  /** Answered (allowed or denied) / checks; 1 when there were no checks. */
  readonly availability: number;
  /** Error codes seen, with counts. */
  readonly codes: Readonly<Record<string, number>>;
}

/** Share of checks answered, per phase, in the order phases first appear. */
export function availabilityByPhase(ops: readonly HistoryOp[]): PhaseAvailability[] {
  const phases = new Map<string, { checks: number; allowed: number; denied: number; errors: number; timeouts: number; codes: Record<string, number> }>();
  for (const o of ops) {
    let p = phases.get(o.phase);
    if (p === undefined) phases.set(o.phase, (p = { checks: 0, allowed: 0, denied: 0, errors: 0, timeouts: 0, codes: {} }));
    p.checks++;
    if (o.result === 'allowed') p.allowed++;
    else if (o.result === 'denied') p.denied++;
    else if (o.result === 'timeout') p.timeouts++;
    else p.errors++;
    if (o.code !== undefined) p.codes[o.code] = (p.codes[o.code] ?? 0) + 1;
  }
  return [...phases].map(([phase, p]) => ({ phase, ...p, availability: p.checks === 0 ? 1 : (p.allowed + p.denied) / p.checks }));
}

export interface Failover {
  readonly fault: HistoryFault;
  /** From the fault to the first definite answer in every affected group; null when a group never answered again. */
  readonly ms: number | null;
}

/**
 * Failover time of every fault that names the groups it took a leader from: the time
 * from the fault to the first definite answer of a check to each such group invoked
 * after it and sent to another node than the faulted one (the slowest group counts).
 */
export function failoverTimes(ops: readonly HistoryOp[], faults: readonly HistoryFault[]): Failover[] {
  const out: Failover[] = [];
  for (const f of faults) {
    if (f.groups === undefined || f.groups.length === 0) continue;
    let worst: number | null = 0;
    for (const g of f.groups) {
      let first: number | null = null;
      for (const o of ops) {
        // Not through the faulted node: a cut-off old leader still answers denials (safe, ARCHITECTURE.md), which is not a failover.
        if (o.group !== g || o.invokeMs < f.atMs || o.node === f.node || (o.result !== 'allowed' && o.result !== 'denied')) continue;
        if (first === null || o.completeMs < first) first = o.completeMs;
      }
      if (first === null) {
        worst = null;
        break;
      }
      worst = Math.max(worst, first - f.atMs);
    }
    out.push({ fault: f, ms: worst });
  }
  return out;
}

/** The q-quantile (0..1) of `values` by nearest rank; null when empty. */
export function percentile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}
