/**
 * `npm run bench:sdk [-- --json] [-- --seconds N] [-- --rate R]`: checks/s and latency
 * (p50/p99/p999) through the SDK (`client/`) against a local 3-node strict cluster: an
 * open-loop run at a fixed offered rate (latency below the ceiling), then a closed-loop
 * saturation run (the ceiling). The SDK runs in this process, the nodes in their own.
 * With `--json` the last line is one JSON object.
 */
import { LocalCluster } from '../../chaos/harness/local-cluster.js';
import { createClient, type Client } from '../../client/index.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const arg = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const seconds = arg('--seconds', 5);
const rate = arg('--rate', 5000);
/** Closed-loop concurrency of the saturation run: enough to fill frames, within the default in-flight bound per node. */
const CONCURRENCY = 512;
/** Distinct keys: spread over every group, few enough that state stays warm. */
const KEYS = 10_000;

const LIMITS = `
version: 1
defaults: { algorithm: gcra, limit: 1000000, period: 1s, consistency: strict }
resources:
  bench: { algorithm: gcra, limit: 1000000, period: 1s, consistency: strict }
`;

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

interface Run {
  checksPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  errors: number;
  degradedOrCached: number;
}

function summarize(latencies: number[], elapsedMs: number, errors: number, other: number): Run {
  const s = Float64Array.from(latencies).sort();
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  return { checksPerSec: Math.round((latencies.length / elapsedMs) * 1000), p50Ms: r3(quantile(s, 0.5)), p99Ms: r3(quantile(s, 0.99)), p999Ms: r3(quantile(s, 0.999)), errors, degradedOrCached: other };
}

let seq = 0;
async function one(client: Client, lat: number[], counts: { errors: number; other: number }): Promise<void> {
  const t0 = performance.now();
  try {
    const r = await client.check(`bench:${seq++ % KEYS}`, { resource: 'bench' });
    if (r.source !== 'cluster') counts.other++;
    lat.push(performance.now() - t0);
  } catch {
    counts.errors++;
  }
}

/** Open loop: every millisecond, issue what the offered rate owes so far. */
async function fixedRate(client: Client): Promise<Run> {
  const lat: number[] = [];
  const counts = { errors: 0, other: 0 };
  const pending = new Set<Promise<void>>();
  const start = performance.now();
  let issued = 0;
  while (performance.now() - start < seconds * 1000) {
    const owed = Math.floor(((performance.now() - start) / 1000) * rate) - issued;
    for (let i = 0; i < owed; i++) {
      const p = one(client, lat, counts).finally(() => pending.delete(p));
      pending.add(p);
    }
    issued += Math.max(0, owed);
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  return summarize(lat, performance.now() - start, counts.errors, counts.other);
}

/** Closed loop: CONCURRENCY workers, each issuing its next check when the last is answered. */
async function saturation(client: Client): Promise<Run> {
  const lat: number[] = [];
  const counts = { errors: 0, other: 0 };
  const start = performance.now();
  const endMs = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < endMs) await one(client, lat, counts);
    }),
  );
  return summarize(lat, performance.now() - start, counts.errors, counts.other);
}

const cluster = new LocalCluster({ nodes: 3, limitsYaml: LIMITS, groups: 8, fsync: 'batch' });
await cluster.start();
const client = createClient({ seeds: cluster.nodes.map((n) => `127.0.0.1:${n.apiPort}`), timeoutMs: 5000 });
const results: Record<string, unknown> = { seconds, nodes: 3, consistency: 'strict' };
try {
  await saturation(client).then(() => undefined, () => undefined); // warm-up: connections, JIT, leaders
  const fixed = await fixedRate(client);
  results[`fixed_${rate}_per_s`] = fixed;
  if (!json) process.stdout.write(`SDK, 3 nodes strict, offered ${rate}/s: ${JSON.stringify(fixed)}\n`);
  const sat = await saturation(client);
  results['saturation'] = sat;
  if (!json) process.stdout.write(`SDK, 3 nodes strict, saturation (${CONCURRENCY} in flight): ${JSON.stringify(sat)}\n`);
} finally {
  await client.close();
  await cluster.stop();
}
process.stdout.write(`${JSON.stringify(results)}\n`);
