/**
 * `npm run bench:scale [-- --json] [-- --seconds N] [-- --rate R]`: what adding nodes
 * costs and buys, on real processes with the load generator in its own process
 * (test/bench/node-load.ts, fixed offered rate, strict mode, 8 groups, replication factor 3
 * where there are 3 nodes or more):
 *
 * - CPU time per check for 1, 3 and 5 nodes: each node's utime+stime from
 *   /proc/<pid>/stat before and after the run, divided by the checks answered, and the
 *   share of checks each node decided as a leader (rl_shard_checks_decided_total).
 * - p99 latency of checks at the same offered rate on 3 nodes without a rebalance, and
 *   while a 4th node joins and the planner moves replicas onto it.
 */
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { ScaleCluster, type ScaleNode } from '../support/scale-cluster.js';
import { NODE_LOAD_SCRIPT, runLoadScript } from './run-load.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const argOf = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const seconds = argOf('seconds', 10);
const rate = argOf('rate', 5000);
const CLOCK_TICKS_PER_SEC = 100; // USER_HZ on Linux

const LIMITS = `
version: 1
defaults: { algorithm: gcra, limit: 1000000, period: 1s }
resources:
  bench: { algorithm: gcra, limit: 1000000, period: 1s }
`;

function load(urls: readonly string[], windowSeconds = seconds): Promise<Record<string, number>> {
  return runLoadScript(NODE_LOAD_SCRIPT, windowSeconds, ['--nodes', urls.join(','), '--batch', '50', '--rate', String(rate)]);
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / CLOCK_TICKS_PER_SEC;
}

async function decided(cluster: ScaleCluster, n: ScaleNode): Promise<number> {
  const text = await (await fetch(cluster.url(n, '/metrics'))).text();
  return Number(/^rl_shard_checks_decided_total (\d+)/m.exec(text)?.[1] ?? 0);
}

/** rl_check_errors_total by code, summed over `nodes`. */
async function errorsByCode(cluster: ScaleCluster, nodes: readonly ScaleNode[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const n of nodes) {
    const text = await (await fetch(cluster.url(n, '/metrics'))).text();
    for (const m of text.matchAll(/^rl_check_errors_total\{code="([A-Z_a-z]+)"\} (\d+)/gm)) out[m[1] as string] = (out[m[1] as string] ?? 0) + Number(m[2]);
  }
  return out;
}

async function settled(cluster: ScaleCluster, via: ScaleNode, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const map = await cluster.mapView(via);
    if (map !== null && map.moves.length === 0) {
      // Every group led, and leaders spread within one per node (the preferred-leader balancer has run).
      const views = await Promise.all(cluster.nodes.map((n) => cluster.groups(n)));
      const perNode = views.map((v) => (v ?? []).filter((g) => g.role === 'leader').length);
      const led = new Set(views.flatMap((v) => (v ?? []).filter((g) => g.role === 'leader').map((g) => g.id)));
      if (led.size === 8 && Math.max(...perNode) - Math.min(...perNode) <= 1) return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('cluster did not settle');
}

const results: Record<string, unknown> = {};
for (const count of [1, 3, 5]) {
  const cluster = new ScaleCluster({ limitsYaml: LIMITS, groups: 8 });
  await cluster.start(count);
  try {
    await settled(cluster, cluster.nodes[0] as ScaleNode, 60_000);
    const pids = cluster.nodes.map((n) => n.process?.pid as number);
    const cpuBefore = await Promise.all(pids.map(cpuSeconds));
    const decidedBefore = await Promise.all(cluster.nodes.map((n) => decided(cluster, n)));
    const r = await load(cluster.nodes.map((n) => cluster.url(n, '')));
    const cpu = (await Promise.all(pids.map(cpuSeconds))).map((c, i) => c - (cpuBefore[i] as number));
    const dec = (await Promise.all(cluster.nodes.map((n) => decided(cluster, n)))).map((d, i) => d - (decidedBefore[i] as number));
    const answered = r['answered'] ?? 0;
    const totalDecided = dec.reduce((a, b) => a + b, 0);
    const row = {
      nodes: count,
      offered_per_sec: rate,
      checks_per_sec: r['checks_per_sec'],
      p99_ms: r['p99_ms'],
      cpu_us_per_check_all_nodes: Math.round((cpu.reduce((a, b) => a + b, 0) * 1e6) / Math.max(1, answered)),
      cpu_us_per_check_per_node: Math.round((cpu.reduce((a, b) => a + b, 0) * 1e6) / Math.max(1, answered) / count),
      node_cpu_us_per_check: cpu.map((c) => Math.round((c * 1e6) / Math.max(1, answered))),
      decided_share: dec.map((d) => Math.round((100 * d) / Math.max(1, totalDecided)) / 100),
    };
    results[`n${count}`] = row;
    if (!json) process.stdout.write(`${count} node(s): ${JSON.stringify(row)}\n`);
  } finally {
    await cluster.stop();
  }
}

// p99 at the same offered rate on 3 nodes: quiet, then while a 4th node joins and replicas move.
{
  const cluster = new ScaleCluster({ limitsYaml: LIMITS, groups: 8 });
  await cluster.start(3);
  try {
    const founders = cluster.nodes.slice(0, 3);
    await settled(cluster, founders[0] as ScaleNode, 60_000);
    const urls = founders.map((n) => cluster.url(n, ''));
    // The rebalance window is long enough for the new node to start and take its share (a few moves).
    const windowSeconds = Math.max(30, seconds * 3);
    const quiet = await load(urls, windowSeconds);
    const errorsBefore = await errorsByCode(cluster, founders);
    const during = load(urls, windowSeconds);
    await new Promise((r) => setTimeout(r, 1000));
    await cluster.joinNoWait('n4', founders[0] as ScaleNode);
    const loaded = await during;
    const map = await cluster.mapView(founders[0] as ScaleNode);
    const errorsAfter = await errorsByCode(cluster, founders);
    const rebalanceErrors = Object.fromEntries(Object.entries(errorsAfter).map(([c, v]) => [c, v - (errorsBefore[c] ?? 0)]).filter(([, v]) => (v as number) > 0));
    const row = {
      window_seconds: windowSeconds,
      quiet_p99_ms: quiet['p99_ms'],
      quiet_p50_ms: quiet['p50_ms'],
      rebalance_p99_ms: loaded['p99_ms'],
      rebalance_p50_ms: loaded['p50_ms'],
      rebalance_failed: loaded['failed'],
      rebalance_errors_by_code: rebalanceErrors,
      n4_replicas_after_window: map?.nodes.find((n) => n.id === 'n4')?.replicas ?? 0,
      moves_left_after_window: map?.moves.length ?? -1,
    };
    results['rebalance'] = row;
    if (!json) process.stdout.write(`rebalance on 3 -> 4 nodes: ${JSON.stringify(results['rebalance'])}\n`);
  } finally {
    await cluster.stop();
  }
}

const summary = { ...results, seconds, rate, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version };
process.stdout.write(`${json ? '' : 'summary: '}${JSON.stringify(summary)}\n`);
