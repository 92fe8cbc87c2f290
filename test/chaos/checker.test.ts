// Proves the chaos history checker on hand-made histories: ones that must pass (uncertain
// checks, clock uncertainty, allows whose intervals can be placed late) and ones that must
// fail (one allow too many in a GCRA span or a window, a sentinel that forgot its state).
import { describe, expect, it } from 'vitest';
import { availabilityByPhase, checkLost, checkOverAdmission, failoverTimes, percentile } from '../../chaos/history/checker.js';
import { HistoryRecorder, parseHistory } from '../../chaos/history/recorder.js';
import type { HistoryFault, HistoryOp, ModelRule, OpResult } from '../../chaos/history/types.js';

let nextId = 1;
function op(key: string, resource: string, invokeMs: number, completeMs: number, result: OpResult, extra: Partial<HistoryOp> = {}): HistoryOp {
  return { type: 'op', id: nextId++, key, resource, cost: 1, group: 1, node: 'n1', phase: 'load', invokeMs, completeMs, result, ...extra };
}

const DAY_MS = 86_400_000;
const RULES: Record<string, ModelRule> = {
  small: { algorithm: 'gcra', limit: 5, periodMs: 3_600_000, consistency: 'strict' },
  tenPerTen: { algorithm: 'gcra', limit: 10, periodMs: 10_000, consistency: 'strict' },
  fixed: { algorithm: 'fixed_window', limit: 3, periodMs: DAY_MS, consistency: 'strict' },
  fast: { algorithm: 'gcra', limit: 5, periodMs: 3_600_000, consistency: 'fast' },
};

describe('checkOverAdmission, GCRA', () => {
  it('passes a key admitted exactly to its burst', () => {
    const ops = [0, 10, 20, 30, 40].map((t) => op('k', 'small', t, t + 5, 'allowed'));
    ops.push(op('k', 'small', 50, 55, 'denied'));
    const r = checkOverAdmission(ops, RULES, 0);
    expect(r.strictExcess).toBe(0);
    expect(r.violations).toEqual([]);
    expect(r.allowsChecked).toBe(5);
  });

  it('fails one allow over the burst and names the span and the ops', () => {
    const ops = [0, 10, 20, 30, 40, 50].map((t) => op('k', 'small', t, t + 5, 'allowed'));
    const r = checkOverAdmission(ops, RULES, 200);
    expect(r.strictExcess).toBe(1);
    expect(r.violations).toHaveLength(1);
    expect(r.violations[0]).toMatchObject({ key: 'k', resource: 'small', allowed: 6, bound: 5, consistency: 'strict' });
    expect(r.violations[0]?.opIds).toHaveLength(6);
  });

  it('does not count errors and timeouts as admitted (they can only make the cluster deny sooner)', () => {
    const ops = [0, 10, 20, 30, 40].map((t) => op('k', 'small', t, t + 5, 'allowed'));
    ops.push(op('k', 'small', 1, 3000, 'timeout'), op('k', 'small', 2, 9, 'error', { code: 'RL_ERR_NO_QUORUM' }), op('k', 'small', 60, 61, 'denied'));
    expect(checkOverAdmission(ops, RULES, 0).strictExcess).toBe(0);
  });

  it('refills at the rule rate: one more allow per emission interval passes, two fail', () => {
    const burst = Array.from({ length: 10 }, (_, i) => op('k', 'tenPerTen', i, i + 1, 'allowed'));
    expect(checkOverAdmission([...burst, op('k', 'tenPerTen', 1000, 1001, 'allowed')], RULES, 0).strictExcess).toBe(0);
    expect(checkOverAdmission([...burst, op('k', 'tenPerTen', 1000, 1001, 'allowed'), op('k', 'tenPerTen', 1002, 1003, 'allowed')], RULES, 0).strictExcess).toBe(1);
  });

  it('widens every interval by the clock uncertainty', () => {
    const burst = Array.from({ length: 10 }, (_, i) => op('k', 'tenPerTen', i, i + 1, 'allowed'));
    const early = op('k', 'tenPerTen', 700, 701, 'allowed'); // 300 ms before the refill
    expect(checkOverAdmission([...burst, early], RULES, 0).strictExcess).toBe(1);
    expect(checkOverAdmission([...burst, early], RULES, 200).strictExcess).toBe(0);
  });

  it('places a slow allow as late as its completion allows', () => {
    const burst = Array.from({ length: 10 }, (_, i) => op('k', 'tenPerTen', i, i + 1, 'allowed'));
    expect(checkOverAdmission([...burst, op('k', 'tenPerTen', 0, 5000, 'allowed')], RULES, 0).strictExcess).toBe(0);
  });

  it('keeps keys and resources apart, and skips resources it has no rule for', () => {
    const ops = [
      ...[0, 1, 2, 3, 4].map((t) => op('a', 'small', t, t + 1, 'allowed')),
      ...[0, 1, 2, 3, 4].map((t) => op('b', 'small', t, t + 1, 'allowed')),
      ...Array.from({ length: 50 }, (_, i) => op('a', 'unmodelled', i, i + 1, 'allowed')),
    ];
    const r = checkOverAdmission(ops, RULES, 0);
    expect(r.strictExcess).toBe(0);
    expect(r.keysChecked).toBe(2);
  });

  it('reports fast-mode excess apart from strict', () => {
    const ops = [0, 1, 2, 3, 4, 5, 6].map((t) => op('k', 'fast', t, t + 1, 'allowed'));
    const r = checkOverAdmission(ops, RULES, 0);
    expect(r.strictExcess).toBe(0);
    expect(r.fastExcess).toBe(2);
  });
});

describe('checkOverAdmission, windows', () => {
  const day = 20_000 * DAY_MS;
  it('fails a fourth allow in one window', () => {
    const ops = [1, 2, 3, 4].map((t) => op('k', 'fixed', day + t * 1000, day + t * 1000 + 5, 'allowed'));
    expect(checkOverAdmission(ops, RULES, 200).strictExcess).toBe(1);
  });

  it('passes allows spread over two windows, and does not count one that may fall in either', () => {
    const ops = [
      ...[1, 2].map((t) => op('k', 'fixed', day - t * 1000, day - t * 1000 + 5, 'allowed')),
      op('k', 'fixed', day - 100, day + 100, 'allowed'),
      ...[1, 2, 3].map((t) => op('k', 'fixed', day + t * 1000, day + t * 1000 + 5, 'allowed')),
    ];
    expect(checkOverAdmission(ops, RULES, 200).strictExcess).toBe(0);
  });
});

describe('checkLost', () => {
  const setup = (): HistoryOp[] => [
    ...[0, 1, 2, 3, 4].map((t) => op('s', 'small', t, t + 1, 'allowed', { phase: 'setup' })),
    op('s', 'small', 10, 11, 'denied', { phase: 'setup' }),
  ];
  it('passes a sentinel that is still denied after the faults', () => {
    const r = checkLost([...setup(), op('s', 'small', 60_000, 60_010, 'denied', { phase: 'verify' })], 'small', RULES['small'] as ModelRule, 'verify', 200);
    expect(r).toEqual({ sentinels: 1, probed: 1, lost: [] });
  });

  it('fails a sentinel that admits again after the faults', () => {
    const r = checkLost([...setup(), op('s', 'small', 60_000, 60_010, 'allowed', { phase: 'verify' })], 'small', RULES['small'] as ModelRule, 'verify', 200);
    expect(r.lost).toEqual([{ key: 's', resource: 'small', allowedBefore: 5, allowedAfter: 1, bound: 5 }]);
  });

  it('does not count a key that never reached its limit', () => {
    const ops = [op('t', 'small', 0, 1, 'allowed', { phase: 'setup' }), op('t', 'small', 60_000, 60_010, 'allowed', { phase: 'verify' })];
    expect(checkLost(ops, 'small', RULES['small'] as ModelRule, 'verify', 0).sentinels).toBe(0);
  });
});

describe('availability and failover', () => {
  it('counts answered checks per phase with their error codes', () => {
    const ops = [
      op('k', 'small', 0, 1, 'allowed', { phase: 'a' }),
      op('k', 'small', 0, 1, 'denied', { phase: 'a' }),
      op('k', 'small', 0, 1, 'error', { phase: 'b', code: 'RL_ERR_NO_QUORUM' }),
      op('k', 'small', 0, 1, 'timeout', { phase: 'b', code: 'TIMEOUT' }),
      op('k', 'small', 0, 1, 'allowed', { phase: 'b' }),
    ];
    const r = availabilityByPhase(ops);
    expect(r.map((p) => p.phase)).toEqual(['a', 'b']);
    expect(r[0]?.availability).toBe(1);
    expect(r[1]).toMatchObject({ checks: 3, errors: 1, timeouts: 1, allowed: 1, codes: { RL_ERR_NO_QUORUM: 1, TIMEOUT: 1 } });
    expect(r[1]?.availability).toBeCloseTo(1 / 3);
  });

  it('measures failover from the fault to the first definite answer of a check invoked after it, per affected group', () => {
    const fault: HistoryFault = { type: 'fault', atMs: 1000, phase: 'f', kind: 'kill', node: 'n1', groups: [2, 3] };
    const ops = [
      op('k', 'small', 900, 1500, 'allowed', { group: 2, node: 'n2' }), // invoked before the fault: does not count
      op('k', 'small', 1100, 1200, 'error', { group: 2, node: 'n2' }),
      op('k', 'small', 1200, 1700, 'denied', { group: 2, node: 'n2' }),
      op('k', 'small', 1300, 1400, 'allowed', { group: 3, node: 'n3' }),
    ];
    // A denial from the cut-off old leader itself is not a failover.
    expect(failoverTimes([...ops, op('k', 'small', 1050, 1060, 'denied', { group: 2, node: 'n1' })], [fault]).map((f) => f.ms)).toEqual([700]);
    expect(failoverTimes(ops, [fault]).map((f) => f.ms)).toEqual([700]);
    expect(failoverTimes(ops.slice(0, 3), [fault]).map((f) => f.ms)).toEqual([null]);
    expect(failoverTimes(ops, [{ ...fault, groups: [] }])).toEqual([]);
  });

  it('percentile by nearest rank', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(percentile([5, 1, 3, 2, 4], 0.99)).toBe(5);
  });
});

describe('HistoryRecorder', () => {
  it('records ops, faults and phases, and its JSON lines parse back to the same events', () => {
    let now = 100;
    const rec = new HistoryRecorder(null, { nowMs: () => now });
    rec.startPhase('load');
    now = 150;
    const o = rec.op({ key: 'k', resource: 'small', cost: 1, group: 1, node: 'n1', invokeMs: 120, result: 'allowed' });
    rec.fault({ kind: 'kill', node: 'n2', groups: [1] });
    expect(o).toMatchObject({ id: 1, phase: 'load', completeMs: 150 });
    expect(rec.ops()).toHaveLength(1);
    expect(rec.faults()[0]).toMatchObject({ kind: 'kill', atMs: 150, phase: 'load' });
    const text = rec.events.map((e) => JSON.stringify(e)).join('\n');
    expect(parseHistory(text)).toEqual(rec.events);
  });
});
