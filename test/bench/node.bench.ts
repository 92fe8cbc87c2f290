/**
 * `npm run bench:node [-- --json] [-- --seconds N]`: checks/s and latency of real clusters
 * (1 node and 3 nodes, strict and fast), driven over the WebSocket protocol with batching
 * by a load generator in its own process (test/bench/node-load.ts). Saturation runs find
 * the ceiling; a fixed-rate run at 50,000 checks/s measures p99 below it.
 */
import { cpus } from 'node:os';
import { LocalCluster } from '../../chaos/harness/local-cluster.js';
import { NODE_LOAD_SCRIPT, runLoadScript } from './run-load.js';

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
        const fixed = await load(urls, ['--batch', '100', '--rate', '50000']);
        results['n3_strict_at_50k'] = fixed;
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
  seconds,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  node: process.version,
};
if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
else process.stdout.write(`summary: ${JSON.stringify(summary)}\n`);
