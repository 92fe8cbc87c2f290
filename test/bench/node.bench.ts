/**
 * `npm run bench:node [-- --json] [-- --seconds N]`: checks/s and latency of real clusters
 * (1 node and 3 nodes, strict and fast), driven over the WebSocket protocol with batching
 * by a load generator in its own process (test/bench/node-load.ts). Saturation runs find
 * the ceiling; a fixed-rate run at 50,000 checks/s measures p99 below it, with an idle
 * process beside it (test/bench/stall-probe.ts) measuring how long anything on the
 * machine waits for a CPU meanwhile.
 */
import { cpus } from 'node:os';
import { LocalCluster } from '../../chaos/harness/local-cluster.js';
import { NODE_LOAD_SCRIPT, STALL_PROBE_SCRIPT, runLoadScript } from './run-load.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const secondsArg = args.indexOf('--seconds');
const seconds = secondsArg >= 0 ? Number(args[secondsArg + 1]) : 10;

const limits = (consistency: string): string => `
version: 1
defaults: { algorithm: gcra, limit: 1000000, period: 1s, consistency: ${consistency} }
resources:
  bench: { algorithm: gcra, limit: 1000000, period: 1s, consistency: ${consistency} }
`;

function load(urls: string[], extra: string[]): Promise<Record<string, number>> {
  return runLoadScript(NODE_LOAD_SCRIPT, seconds, ['--nodes', urls.join(','), ...extra]);
}

const results: Record<string, unknown> = {};
for (const nodes of [1, 3]) {
  for (const consistency of ['strict', 'fast']) {
    const cluster = new LocalCluster({ nodes, limitsYaml: limits(consistency), groups: 8, fsync: 'batch' });
    await cluster.start();
    try {
      const urls = cluster.nodes.map((n) => cluster.url(n, ''));
      const sat = await load(urls, ['--batch', '100', '--inflight', '32']);
      results[`n${nodes}_${consistency}`] = sat;
      if (!json) process.stdout.write(`${nodes} node(s), ${consistency}, saturation: ${JSON.stringify(sat)}\n`);
      if (nodes === 3 && consistency === 'strict') {
        // Beside the latency run, an idle process measures the machine: how long it waits
        // for a CPU while the load runs (the floor under any p99 measured here).
        const [fixed, stalls] = await Promise.all([load(urls, ['--batch', '100', '--rate', '50000']), runLoadScript(STALL_PROBE_SCRIPT, seconds, [])]);
        results['n3_strict_at_50k'] = fixed;
        results['idle_process_at_50k'] = stalls;
        if (!json) process.stdout.write(`an idle process beside it: ${JSON.stringify(stalls)}\n`);
        if (!json) process.stdout.write(`3 nodes, strict, offered 50k/s: ${JSON.stringify(fixed)}\n`);
      }
    } finally {
      await cluster.stop();
    }
  }
}
const n3 = results['n3_strict'] as Record<string, number>;
const at50 = results['n3_strict_at_50k'] as Record<string, number>;
const summary = {
  n1_strict_checks_per_sec: (results['n1_strict'] as Record<string, number>)['checks_per_sec'],
  n1_fast_checks_per_sec: (results['n1_fast'] as Record<string, number>)['checks_per_sec'],
  n3_strict_checks_per_sec: n3['checks_per_sec'],
  n3_fast_checks_per_sec: (results['n3_fast'] as Record<string, number>)['checks_per_sec'],
  n3_strict_p50_ms: n3['p50_ms'],
  n3_strict_p99_ms: n3['p99_ms'],
  n3_strict_50k_p99_ms: at50['p99_ms'],
  n3_strict_50k_achieved: at50['checks_per_sec'],
  idle_process_stalls_over_6ms_at_50k: (results['idle_process_at_50k'] as Record<string, number>)['stalls_over_6ms'],
  idle_process_stall_max_ms_at_50k: (results['idle_process_at_50k'] as Record<string, number>)['stall_max_ms'],
  seconds,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  node: process.version,
};
if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
else process.stdout.write(`summary: ${JSON.stringify(summary)}\n`);
