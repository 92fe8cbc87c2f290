/**
 * `npm run bench:config`: time from a configuration write returning (PUT /v1/config, what
 * `rlctl config apply` waits for) to every node of a local 3-node cluster serving the new
 * version (its /v1/cluster `configVersion`). Writes rotate over the nodes, so some go to
 * the meta leader and some are forwarded. Target: at most 1 s. `--json` last line.
 *
 *   npm run bench:config [-- --writes 30]
 */
import { LocalCluster } from '../../chaos/harness/local-cluster.js';
import { LIMITS } from '../e2e/limits.js';

const TOKEN = 'bench-admin-token-0123456789';
const args = process.argv.slice(2);
const writesArg = args.indexOf('--writes');
const writes = writesArg >= 0 ? Number(args[writesArg + 1]) : 30;
if (!Number.isInteger(writes) || writes < 1 || writes > 1000) {
  process.stderr.write(`--writes must be an integer from 1 to 1000 (got ${args[writesArg + 1]})\n`);
  process.exit(2);
}
/** A version that has not reached every node after this long counts as a failure of the run. */
const WAIT_MS_MAX = 10_000;

process.env['RL_ADMIN_TOKEN'] = TOKEN;
const cluster = new LocalCluster({ nodes: 3, limitsYaml: LIMITS, groups: 8 });

async function versionOn(port: number): Promise<number> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/v1/cluster`, { signal: AbortSignal.timeout(1000) });
    return Number(((await r.json()) as { configVersion: number }).configVersion);
  } catch {
    return -1;
  }
}

function pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const propagationMs: number[] = [];
const writeMs: number[] = [];
try {
  await cluster.start();
  for (let i = 0; i < writes; i++) {
    const via = cluster.nodes[i % cluster.nodes.length];
    if (via === undefined) throw new Error('no node');
    const text = `${LIMITS}  bench: { algorithm: gcra, limit: ${100 + i}, period: 1s }\n`;
    const t0 = performance.now();
    const r = await fetch(cluster.url(via, '/v1/config'), { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}` }, body: text, signal: AbortSignal.timeout(15_000) });
    const body = (await r.json()) as { version?: number };
    const returned = performance.now();
    if (r.status !== 200 || body.version === undefined) throw new Error(`write ${i} failed: ${r.status} ${JSON.stringify(body)}`);
    writeMs.push(returned - t0);
    // Poll every node until all serve the new version (each poll is one loopback round trip).
    for (;;) {
      const versions = await Promise.all(cluster.nodes.map((n) => versionOn(n.apiPort)));
      if (versions.every((v) => v >= (body.version as number))) break;
      if (performance.now() - returned > WAIT_MS_MAX) throw new Error(`version ${body.version} not on every node after ${WAIT_MS_MAX} ms`);
      await new Promise((res) => setTimeout(res, 1));
    }
    propagationMs.push(performance.now() - returned);
  }
} finally {
  await cluster.stop();
}
const p = [...propagationMs].sort((a, b) => a - b);
const w = [...writeMs].sort((a, b) => a - b);
const result = {
  bench: 'config-propagation',
  nodes: 3,
  writes,
  propagationMsP50: Number(pct(p, 50).toFixed(1)),
  propagationMsP99: Number(pct(p, 99).toFixed(1)),
  propagationMsMax: Number((p[p.length - 1] ?? Number.NaN).toFixed(1)),
  writeMsP50: Number(pct(w, 50).toFixed(1)),
  writeMsMax: Number((w[w.length - 1] ?? Number.NaN).toFixed(1)),
  targetMs: 1000,
};
process.stdout.write(`config propagation, 3 nodes, ${writes} writes: after the write returns, every node serves it in p50 ${result.propagationMsP50} ms, p99 ${result.propagationMsP99} ms, max ${result.propagationMsMax} ms (target <= 1000 ms); write itself p50 ${result.writeMsP50} ms, max ${result.writeMsMax} ms\n`);
process.stdout.write(`${JSON.stringify(result)}\n`);
