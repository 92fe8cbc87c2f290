// Proves, against real rl-node processes with real faults (SIGKILL, SIGSTOP past the election
// timeout, a leader cut off through the Toxiproxy-compatible proxy, ±200 ms clock skew, a
// whole-cluster crash, a replica's log corrupted on disk), that the history checker finds no
// strict over-admission and no lost acknowledged mutation, that every group fails over, and
// that a corrupt replica is rebuilt. The short subset of `npm run chaos`.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../chaos/scenarios/index.js';
import { LOAD_RESOURCES, MODEL_RULES } from '../../chaos/scenarios/limits.js';
import { runScenario, type ScenarioResult } from '../../chaos/scenarios/run-scenario.js';
import type { ModelRule } from '../../chaos/history/types.js';

const historyDir = join(tmpdir(), `rl-chaos-quick-${Date.now().toString(36)}`);

async function quick(name: string): Promise<ScenarioResult> {
  const scenario = SCENARIOS.find((s) => s.name === name);
  if (scenario === undefined) throw new Error(`no scenario ${name}`);
  const r = await runScenario(scenario, { faultMs: 5000, steadyMs: 1500, recoveryMs: 2500, nodes: 3, groups: 4, workers: 6, historyDir });
  const fault = r.availability.find((p) => p.phase === 'fault');
  process.stdout.write(
    `${name}: ${r.checks} checks, fault-phase availability ${((fault?.availability ?? 0) * 100).toFixed(1)} %, strict excess ${r.overAdmission?.strictExcess}, fast excess ${r.overAdmission?.fastExcess}, lost ${r.lost?.lost.length}, failover p50/p99 ${r.failoverP50Ms}/${r.failoverP99Ms} ms, ${Math.round(r.durationMs / 1000)} s\n`,
  );
  expect(r.problems, `${r.problems.join('\n')}\n${r.logsTail}`).toEqual([]);
  // The run exercised the limits: keys were admitted and denied, sentinels were at their limit and probed.
  expect(r.overAdmission?.allowsChecked ?? 0).toBeGreaterThan(20);
  expect(r.availability.reduce((s, p) => s + p.denied, 0)).toBeGreaterThan(10);
  expect(r.lost?.sentinels).toBe(8);
  expect(r.lost?.probed).toBe(8);
  expect(r.overAdmission?.strictExcess).toBe(0);
  return r;
}

describe('chaos, quick subset (real processes, Toxiproxy-routed links)', () => {
  it('leader kill loop: strict never over-admits, nothing acknowledged is lost, groups fail over', async () => {
    const r = await quick('leader-kill-loop');
    expect(r.failoverMs.length).toBeGreaterThan(0);
    expect(r.failoverP99Ms ?? Infinity).toBeLessThan(10_000);
  }, 120_000);

  it('leader paused past the election timeout: no admission on a stale lease (strict or fast)', async () => {
    const r = await quick('leader-pause');
    expect(r.overAdmission?.fastExcess).toBe(0);
    expect(r.failoverMs.length).toBeGreaterThan(0);
  }, 120_000);

  it('isolated leader: the majority takes over; the cut-off leader admits nothing in strict, and in fast at most its lease window', async () => {
    const r = await quick('isolated-leader');
    // Fast mode: a leader cut off from its quorum answers until its lease ends (chaos/README.md):
    // per key at most B + L × W / P with W ≤ lease (400 ms) + one commit latency (allowed 600 ms here).
    const fast = MODEL_RULES['chaos_fast'] as ModelRule;
    const fastKeys = LOAD_RESOURCES.filter((l) => l.resource === 'chaos_fast').reduce((n, l) => n + l.keysPerGroup * 4, 0);
    const perKey = (fast.burst ?? fast.limit) + Math.ceil((fast.limit * 1000) / fast.periodMs);
    expect(r.overAdmission?.fastExcess ?? Infinity).toBeLessThanOrEqual(fastKeys * perKey);
    expect(r.failoverMs.length).toBeGreaterThan(0);
  }, 120_000);

  it('clock skew of ±200 ms on one node: no admission beyond what the skew allows', async () => {
    await quick('clock-skew');
  }, 150_000);

  it('whole-cluster crash and restart: sentinels at their limit stay limited', async () => {
    await quick('whole-cluster-restart');
  }, 150_000);

  it('a replica corrupted on disk is refused, rebuilt from a healthy one, and votes again (its node keeps serving its other groups)', async () => {
    const r = await quick('corrupted-replica');
    expect(r.timeline.some((e) => / rebuilt on n\d and voting again after \d+ ms/.test(e)), r.timeline.join('\n')).toBe(true);
  }, 150_000);
});
