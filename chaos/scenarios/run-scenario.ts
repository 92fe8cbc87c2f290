/**
 * Runs one scenario end to end against real processes, in phases recorded in the history:
 * `setup` (sentinel keys driven to their limit), `steady` (load, no faults), `fault` (the
 * scenario, under load), `recovery` (everything healed, under load), `verify` (each
 * sentinel probed once). Then the checker: over-admission (strict must be 0; fast must be 0
 * unless the scenario crashes processes), lost acknowledged mutations (must be none),
 * availability per phase, failover times. Always stops its processes and proxies.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ChaosNet } from '../harness/chaos-net.js';
import { LocalCluster, waitUntil } from '../harness/local-cluster.js';
import { NetnsNet } from '../harness/netns.js';
import { availabilityByPhase, checkLost, checkOverAdmission, failoverTimes, percentile, type LostCheck, type OverAdmission, type PhaseAvailability } from '../history/checker.js';
import { HistoryRecorder } from '../history/recorder.js';
import type { ModelRule } from '../history/types.js';
import { ScenarioContext, type Scenario } from './context.js';
import { CHAOS_LIMITS_YAML, LOAD_RESOURCES, MODEL_RULES, SENTINEL_RESOURCE } from './limits.js';
import { Workload, keysForGroups, recordedCheck, type KeySpec } from './workload.js';

export interface RunOptions {
  readonly faultMs: number;
  readonly steadyMs: number;
  readonly recoveryMs: number;
  readonly nodes: number;
  readonly groups: number;
  readonly workers: number;
  /** Directory for the history (JSON lines) of each scenario. */
  readonly historyDir: string;
  readonly log?: (line: string) => void;
}

export interface ScenarioResult {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly skipped: string | null;
  readonly passed: boolean;
  readonly problems: readonly string[];
  readonly checks: number;
  readonly durationMs: number;
  readonly availability: readonly PhaseAvailability[];
  readonly overAdmission: OverAdmission | null;
  readonly lost: LostCheck | null;
  readonly failoverMs: readonly (number | null)[];
  readonly failoverP50Ms: number | null;
  readonly failoverP99Ms: number | null;
  readonly historyPath: string;
  readonly faults: number;
  /** The first fault events, as `+<s> s: <kind> (<node>)` from the start of the fault phase (the report lists them). */
  readonly timeline: readonly string[];
  readonly logsTail: string;
}

const TICK_MS = 50;
const ELECTION_TICKS = 10;
/** The longest randomized election timeout: ticks × tick × 2 (docs/node.md). */
const ELECTION_TIMEOUT_MS_MAX = TICK_MS * ELECTION_TICKS * 2;
/** Per-check deadline of the workload: several election timeouts, so a failover shows as errors, not timeouts. */
const CHECK_TIMEOUT_MS = 2000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Proves the peer links really go through the proxies before any result is trusted: cut the
 * last node off and wait until it sees every peer link down (it must: nothing else connects
 * the nodes), then heal. Returns a problem when a link stays up (e.g. the node dials an
 * address from the cluster map instead of its configured proxy).
 */
async function verifyProxied(cluster: LocalCluster, net: ChaosNet): Promise<string | null> {
  const x = cluster.nodes[cluster.nodes.length - 1];
  if (x === undefined) return null;
  const others = cluster.nodes.filter((n) => n !== x).map((n) => n.id);
  const links = async (): Promise<string[]> => {
    try {
      const r = await fetch(cluster.url(x, '/v1/stats'), { signal: AbortSignal.timeout(1000) });
      const body = (await r.json()) as { nodes?: { id: string; link: string }[] };
      return (body.nodes ?? []).filter((n) => n.id !== x.id).map((n) => `${n.id}:${n.link}`);
    } catch {
      return [];
    }
  };
  await net.partition([x.id], others);
  let seen: string[] = [];
  let cut = false;
  for (let i = 0; i < 40 && !cut; i++) {
    seen = await links();
    cut = seen.length > 0 && seen.every((l) => l.endsWith(':down'));
    if (!cut) await sleep(100);
  }
  await net.heal();
  await waitUntil('links back after the routing probe', 20_000, async () => (await links()).every((l) => l.endsWith(':connected')));
  await cluster.waitReady(30_000);
  return cut ? null : `peer links bypass the proxies: at the end of the run ${x.id} still saw ${seen.join(', ')} 4 s after every proxy to it was disabled, so network faults may not have reached the nodes`;
}

/** Drives one sentinel to its limit: checks until a definite denial (bounded attempts). */
async function saturate(cluster: LocalCluster, rec: HistoryRecorder, spec: KeySpec, groups: number, rule: ModelRule): Promise<void> {
  const burst = rule.burst ?? rule.limit;
  // Each check keeps its idempotency id until answered, so an uncertain attempt is never a second admission.
  let seq = 0;
  for (let attempt = 0; attempt < burst * 20; attempt++) {
    const node = cluster.nodes[attempt % cluster.nodes.length];
    if (node === undefined || node.process === null) continue;
    const op = await recordedCheck(cluster, rec, node, spec, groups, CHECK_TIMEOUT_MS, `${spec.key}:setup:${seq}`);
    if (op.result === 'denied') return;
    if (op.result === 'allowed') seq++;
    else await sleep(100);
  }
}

/** One answered probe per sentinel (retried while errors, bounded). */
async function probe(cluster: LocalCluster, rec: HistoryRecorder, spec: KeySpec, groups: number): Promise<void> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const node = cluster.nodes[attempt % cluster.nodes.length];
    if (node === undefined || node.process === null) continue;
    const op = await recordedCheck(cluster, rec, node, spec, groups, CHECK_TIMEOUT_MS, `${spec.key}:probe`);
    if (op.result === 'allowed' || op.result === 'denied') return;
    await sleep(250);
  }
}

export async function runScenario(scenario: Scenario, options: RunOptions): Promise<ScenarioResult> {
  const log = options.log ?? ((): void => undefined);
  const started = Date.now();
  const historyPath = join(options.historyDir, `${scenario.name}.jsonl`);
  const skip = scenario.skip?.() ?? null;
  const empty = { checks: 0, availability: [], overAdmission: null, lost: null, failoverMs: [], failoverP50Ms: null, failoverP99Ms: null, faults: 0, timeline: [], logsTail: '' };
  if (skip !== null) return { name: scenario.name, title: scenario.title, description: scenario.description, skipped: skip, passed: true, problems: [], durationMs: 0, historyPath: '', ...empty };
  await mkdir(options.historyDir, { recursive: true });
  const rec = new HistoryRecorder(historyPath);
  const problems: string[] = [];
  const runId = `${scenario.name}-${started.toString(36)}`;
  const net = await ChaosNet.open();
  let netns: NetnsNet | null = null;
  const ids = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
  if (scenario.network === 'netns') {
    netns = new NetnsNet(started.toString(36).slice(-4), 20 + (process.pid % 200));
    try {
      netns.setup(ids);
    } catch (err) {
      netns.teardown();
      await net.close();
      await rec.close();
      throw err;
    }
  }
  const ns = netns;
  const cluster = new LocalCluster({
    nodes: options.nodes,
    limitsYaml: CHAOS_LIMITS_YAML,
    groups: options.groups,
    tickMs: TICK_MS,
    electionTicks: ELECTION_TICKS,
    ...(ns === null
      ? { peerAddress: (from, to) => net.address(from, to), beforeSpawn: (nodes) => net.createLinks(nodes, `${runId}-`) }
      : { hostOf: (id) => ns.nodes.get(id)?.address ?? '127.0.0.1', wrapCommand: (id, cmd, args) => ns.wrap(id, cmd, args) }),
  });
  let logsTail = '';
  try {
    log(`[${scenario.name}] starting ${options.nodes} nodes (${ns === null ? `links through the ${net.serverKind}` : 'each in its own network namespace'})`);
    await cluster.start();
    const sentinels = keysForGroups(runId, SENTINEL_RESOURCE, options.groups, 2);
    const load = LOAD_RESOURCES.flatMap((r) => keysForGroups(runId, r.resource, options.groups, r.keysPerGroup));
    rec.startPhase('setup');
    await Promise.all(sentinels.map((s) => saturate(cluster, rec, s, options.groups, MODEL_RULES[SENTINEL_RESOURCE] as ModelRule)));
    const workload = new Workload(cluster, rec, load, { workers: options.workers, timeoutMs: CHECK_TIMEOUT_MS, pauseMs: 20, groups: options.groups });
    rec.startPhase('steady');
    workload.start();
    try {
      await sleep(options.steadyMs);
      rec.startPhase('fault');
      log(`[${scenario.name}] fault phase (${Math.round(options.faultMs / 1000)} s)`);
      const ctx = new ScenarioContext(cluster, net, rec, options.faultMs, ELECTION_TIMEOUT_MS_MAX, netns);
      try {
        await scenario.run(ctx);
      } catch (err) {
        problems.push(`scenario failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      // Heal whatever the scenario left: links, paused and stopped processes. A process that
      // exited by itself is a finding (the harness only ever kills or stops on purpose).
      await net.heal();
      netns?.heal();
      for (const n of cluster.nodes) {
        if (n.process !== null && (n.process.exitCode !== null || n.process.signalCode !== null)) {
          problems.push(`${n.id} exited by itself (code ${n.process.exitCode}, signal ${n.process.signalCode}): ${n.log.join('').slice(-600)}`);
          n.process = null;
        }
        cluster.resume(n);
        if (n.process === null) cluster.restart(n);
      }
      rec.startPhase('recovery');
      try {
        await cluster.waitReady(60_000);
      } catch (err) {
        problems.push(`cluster not ready after healing: ${err instanceof Error ? err.message : String(err)}`);
      }
      await sleep(options.recoveryMs);
    } finally {
      await workload.stop();
    }
    rec.startPhase('verify');
    await Promise.all(sentinels.map((s) => probe(cluster, rec, s, options.groups)));
    // Last: were the links still routed through the proxies at the end of the run?
    if (ns === null && scenario.proxyFaults === true) {
      const bypass = await verifyProxied(cluster, net);
      if (bypass !== null) problems.push(bypass);
    }
  } catch (err) {
    problems.push(`run failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    logsTail = cluster.logs().slice(-4000);
    await cluster.stop();
    netns?.teardown();
    await net.close();
    await rec.close();
  }
  const ops = rec.ops();
  const uncertainty = scenario.clockUncertaintyMs ?? 0;
  const overAdmission = checkOverAdmission(ops, MODEL_RULES, uncertainty);
  const lost = checkLost(ops, SENTINEL_RESOURCE, MODEL_RULES[SENTINEL_RESOURCE] as ModelRule, 'verify', uncertainty);
  const availability = availabilityByPhase(ops);
  const failovers = failoverTimes(ops, rec.faults());
  const failoverMs = failovers.map((f) => f.ms);
  const measured = failoverMs.filter((m): m is number => m !== null);
  if (overAdmission.strictExcess > 0) problems.push(`strict over-admission: ${overAdmission.strictExcess} over the bound (${JSON.stringify(overAdmission.violations.filter((v) => v.consistency === 'strict').slice(0, 3).map(({ opIds: _ids, ...v }) => v))})`);
  if (!scenario.crashes && scenario.cutsLeaderOff !== true && overAdmission.fastExcess > 0) {
    problems.push(`fast over-admission with no leader crashed or cut off: ${overAdmission.fastExcess} over the bound`);
  }
  if (lost.lost.length > 0) problems.push(`lost acknowledged mutations: ${JSON.stringify(lost.lost)}`);
  if (lost.sentinels < 1) problems.push('no sentinel reached its limit in setup');
  else if (lost.probed < lost.sentinels) problems.push(`only ${lost.probed} of ${lost.sentinels} sentinels answered in verify`);
  if (failoverMs.some((m) => m === null)) problems.push('a group never answered again after a fault');
  const recovery = availability.find((p) => p.phase === 'recovery');
  if (recovery !== undefined && recovery.allowed + recovery.denied === 0) problems.push('no check answered after healing');
  if (rec.dropped > 0) problems.push(`history bound reached: ${rec.dropped} events not kept`);
  const passed = problems.length === 0;
  log(`[${scenario.name}] ${passed ? 'passed' : 'FAILED'}: ${ops.length} checks, strict excess ${overAdmission.strictExcess}, fast excess ${overAdmission.fastExcess}, lost ${lost.lost.length}, failover p50 ${percentile(measured, 0.5)} ms${passed ? '' : `\n  ${problems.join('\n  ')}`}`);
  return {
    name: scenario.name,
    title: scenario.title,
    description: scenario.description,
    skipped: null,
    passed,
    problems,
    checks: ops.length,
    durationMs: Date.now() - started,
    availability,
    overAdmission,
    lost,
    failoverMs,
    failoverP50Ms: percentile(measured, 0.5),
    failoverP99Ms: percentile(measured, 0.99),
    historyPath,
    faults: rec.faults().length,
    timeline: timelineOf(rec),
    logsTail: passed ? '' : logsTail,
  };
}

/** Fault events listed in the report at most (a kill loop records dozens; the count says the rest). */
const TIMELINE_MAX = 12;

function timelineOf(rec: HistoryRecorder): string[] {
  const faults = rec.faults();
  const start = rec.phaseStartMs('fault') ?? faults[0]?.atMs ?? 0;
  return faults.slice(0, TIMELINE_MAX).map((f) => `+${((f.atMs - start) / 1000).toFixed(1)} s: ${f.kind}${f.node === undefined ? '' : ` (${f.node})`}`);
}
