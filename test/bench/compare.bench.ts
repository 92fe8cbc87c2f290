/**
 * `npm run bench [-- --quick] [-- --json] [-- --write]`: this cluster against the peer most
 * Node.js services would pick, on the same machine in the same run, with the same load
 * generator design and the same number of checks in flight.
 *
 * Systems: this cluster (1 node strict, 3 nodes strict, 3 nodes fast; `fsync: batch`),
 * rate-limiter-flexible's RateLimiterRedis over ioredis on a local redis-server (installed
 * through apt when missing; started and stopped here, no persistence), and its
 * RateLimiterMemory in one process (no network: the ceiling). Every load generator runs in
 * its own process (test/bench/node-load.ts, test/bench/peer-load.ts).
 *
 * Runs: closed loop to saturation (~1,024 checks in flight) per workload
 * (test/bench/workloads.ts), then an open-loop sweep of offered rates for 3 nodes strict
 * and the Redis peer (latency counted from each check's due time). Prints a Markdown
 * table with ratios and a chart of p99 against offered load (SVG). With `--write` the chart
 * goes to docs/img/bench-p99.svg and the table replaces the section between the bench
 * markers in docs/benchmarks.md; without it the chart goes to .tmp/bench-p99.svg, so a run
 * never leaves the committed chart out of step with the committed table.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalCluster, freePorts } from '../../chaos/harness/local-cluster.js';
import { NODE_LOAD_SCRIPT, runLoadScript } from './run-load.js';
import { WORKLOADS, benchLimitsYaml, type Workload } from './workloads.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const json = args.includes('--json');
const write = args.includes('--write');
const seconds = quick ? 4 : 8;
const INFLIGHT = 1024;
const BATCH = 100;
const root = fileURLToPath(new URL('../../', import.meta.url));
const nodeLoad = NODE_LOAD_SCRIPT;
const peerLoad = fileURLToPath(new URL('./peer-load.ts', import.meta.url));
const log = (line: string): void => {
  if (!json) process.stdout.write(`${line}\n`);
};

interface LoadResult {
  readonly checks_per_sec: number;
  readonly answered: number;
  readonly failed: number;
  readonly allowed: number;
  readonly denied: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly p999_ms: number;
  readonly cpu_ms: number;
}

interface Measured extends LoadResult {
  readonly system: string;
  readonly workload: Workload;
  /** CPU time per answered check, µs: the servers (nodes or redis-server) and the generator. */
  readonly server_cpu_us: number;
  readonly client_cpu_us: number;
}

/** utime + stime of a process, ms (Linux /proc; CLK_TCK 100). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const f = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

function runLoad(script: string, extra: readonly string[], runSeconds = seconds): Promise<LoadResult> {
  return runLoadScript<LoadResult>(script, runSeconds, extra);
}

async function measured(system: string, workload: Workload, serverPids: readonly (number | undefined)[], run: () => Promise<LoadResult>): Promise<Measured> {
  const before = serverPids.map(cpuMs);
  const r = await run();
  const serverMs = serverPids.reduce<number>((sum, pid, i) => sum + cpuMs(pid) - (before[i] as number), 0);
  const n = Math.max(1, r.answered);
  const m: Measured = { ...r, system, workload, server_cpu_us: Math.round(((serverMs * 1000) / n) * 10) / 10, client_cpu_us: Math.round(((r.cpu_ms * 1000) / n) * 10) / 10 };
  log(`${system.padEnd(22)} ${workload.padEnd(8)} ${String(m.checks_per_sec).padStart(8)}/s  p50 ${m.p50_ms.toFixed(2)} ms  p99 ${m.p99_ms.toFixed(2)} ms  denied ${m.denied}  failed ${m.failed}  cpu/check server ${m.server_cpu_us} µs, generator ${m.client_cpu_us} µs`);
  return m;
}

/** redis-server on a free port without persistence; installs it through apt when missing (root only). */
async function startRedis(): Promise<{ port: number; proc: ChildProcess } | null> {
  if (spawnSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' }).status !== 0) {
    log('redis-server missing: installing it with apt-get (Debian package redis-server)');
    try {
      execFileSync('sh', ['-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server)'], { stdio: 'ignore', timeout: 300_000 });
    } catch {
      log('could not install redis-server (not root, or no package access): the Redis peer is left out of this run');
      return null;
    }
  }
  const [port] = await freePorts(1);
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() === 'PONG') return { port: port as number, proc };
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill('SIGKILL');
  throw new Error('redis-server did not answer PING within 10 s');
}

async function withCluster<T>(nodes: number, consistency: 'strict' | 'fast', fn: (urls: string[], pids: (number | undefined)[]) => Promise<T>): Promise<T> {
  const cluster = new LocalCluster({ nodes, limitsYaml: benchLimitsYaml(consistency), groups: 8, fsync: 'batch' });
  await cluster.start();
  try {
    // Warm-up, not measured: compiles the hot paths and creates the uniform keys' state.
    await runLoad(nodeLoad, ['--nodes', cluster.nodes.map((n) => cluster.url(n, '')).join(','), '--workload', 'uniform', '--batch', String(BATCH), '--inflight', String(framesPerConn(nodes))], 2);
    return await fn(
      cluster.nodes.map((n) => cluster.url(n, '')),
      cluster.nodes.map((n) => n.process?.pid),
    );
  } finally {
    await cluster.stop();
  }
}

/** Frames in flight per connection so that about INFLIGHT checks are outstanding in all. */
const framesPerConn = (conns: number): number => Math.max(1, Math.round(INFLIGHT / (BATCH * conns)));

const results: Measured[] = [];
const sweep: { system: string; offered: number; p99_ms: number; achieved: number }[] = [];
const workloads: readonly Workload[] = quick ? ['uniform', 'hot', 'denied'] : WORKLOADS;
const ourLoad = (urls: string[], workload: Workload, conns: number, rate?: number): Promise<LoadResult> =>
  runLoad(nodeLoad, ['--nodes', urls.join(','), '--workload', workload, '--batch', String(BATCH), ...(rate === undefined ? ['--inflight', String(framesPerConn(conns))] : ['--rate', String(rate)])]);

log(`npm run bench${quick ? ' --quick' : ''}: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${loadavg()[0]?.toFixed(1)}; ${seconds} s per run, ~${INFLIGHT} checks in flight`);

const redis = await startRedis();
try {
  await withCluster(3, 'strict', async (urls, pids) => {
    for (const w of workloads) results.push(await measured('cluster 3 nodes strict', w, pids, () => ourLoad(urls, w, w === 'hot' ? 1 : 3)));
  });
  await withCluster(3, 'fast', async (urls, pids) => {
    results.push(await measured('cluster 3 nodes fast', 'uniform', pids, () => ourLoad(urls, 'uniform', 3)));
  });
  await withCluster(1, 'strict', async (urls, pids) => {
    results.push(await measured('cluster 1 node strict', 'uniform', pids, () => ourLoad(urls, 'uniform', 1)));
  });
  if (redis !== null) {
    for (const w of workloads) {
      results.push(await measured('rlf RateLimiterRedis', w, [redis.proc.pid], () => runLoad(peerLoad, ['--system', 'redis', '--redis-port', String(redis.port), '--workload', w, '--inflight', String(INFLIGHT)])));
    }
  }
  results.push(await measured('rlf RateLimiterMemory', 'uniform', [], () => runLoad(peerLoad, ['--system', 'memory', '--workload', 'uniform', '--inflight', String(INFLIGHT)])));

  // Open-loop sweep (uniform keys): p99 against offered load, up to past the peer's saturation.
  const peerSat = results.find((r) => r.system === 'rlf RateLimiterRedis' && r.workload === 'uniform')?.checks_per_sec ?? 20_000;
  const ourSat = results.find((r) => r.system === 'cluster 3 nodes strict' && r.workload === 'uniform')?.checks_per_sec ?? 50_000;
  const rates = quick ? [10_000, Math.max(5_000, Math.round(peerSat / 1000) * 1000)] : [5_000, 10_000, 20_000, 40_000, 60_000, 80_000, 100_000, 120_000];
  // Each system up to just past its own saturation, and always at the peer's saturation rate.
  const peerRate = Math.max(1000, Math.round(peerSat / 1000) * 1000);
  const ratesFor = (sat: number): number[] => [...new Set([...rates.filter((r) => r <= sat * 1.1), peerRate])].sort((a, b) => a - b);
  await withCluster(3, 'strict', async (urls) => {
    for (const rate of ratesFor(ourSat)) {
      const r = await ourLoad(urls, 'uniform', 3, rate);
      sweep.push({ system: 'cluster 3 nodes strict', offered: rate, p99_ms: r.p99_ms, achieved: r.checks_per_sec });
      log(`open loop  cluster 3 nodes strict   offered ${rate}/s: achieved ${r.checks_per_sec}/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms`);
    }
  });
  if (redis !== null) {
    for (const rate of ratesFor(peerSat * 1.5)) {
      const r = await runLoad(peerLoad, ['--system', 'redis', '--redis-port', String(redis.port), '--workload', 'uniform', '--rate', String(rate)]);
      sweep.push({ system: 'rlf RateLimiterRedis', offered: rate, p99_ms: r.p99_ms, achieved: r.checks_per_sec });
      log(`open loop  rlf RateLimiterRedis     offered ${rate}/s: achieved ${r.checks_per_sec}/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms`);
    }
  }
} finally {
  redis?.proc.kill('SIGTERM');
}

// ---- Report: table, ratios, chart.
const peer = (w: Workload): Measured | undefined => results.find((r) => r.system === 'rlf RateLimiterRedis' && r.workload === w);
const rows = results.map((r) => {
  const p = peer(r.workload);
  const ratio = p !== undefined && p.checks_per_sec > 0 && r.system !== p.system ? `${(r.checks_per_sec / p.checks_per_sec).toFixed(2)}×` : '';
  return `| ${r.system} | ${r.workload} | ${r.checks_per_sec.toLocaleString('en-US')} | ${ratio} | ${r.p50_ms.toFixed(2)} | ${r.p99_ms.toFixed(2)} | ${r.p999_ms.toFixed(2)} | ${r.server_cpu_us} | ${r.client_cpu_us} | ${r.failed} |`;
});
const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
const table = [
  `Run ${date} UTC, \`npm run bench${quick ? ' -- --quick' : ''}\`: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average at start ${loadavg()[0]?.toFixed(1)}; ${seconds} s per run; ~${INFLIGHT} checks in flight per system (cluster: frames of ${BATCH} over WebSocket); redis-server ${redis === null ? 'not available' : 'without persistence'}, the cluster with \`fsync: batch\`.`,
  '',
  '| system | workload | checks/s | × peer | p50 ms | p99 ms | p999 ms | server CPU µs/check | generator CPU µs/check | failed |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows,
  '',
  '| open loop, uniform keys | offered checks/s | achieved | p99 ms |',
  '| --- | --- | --- | --- |',
  ...sweep.map((s) => `| ${s.system} | ${s.offered.toLocaleString('en-US')} | ${s.achieved.toLocaleString('en-US')} | ${s.p99_ms.toFixed(2)} |`),
].join('\n');
log('');
log(table);

function chart(): string {
  const W = 640;
  const H = 360;
  const pad = { l: 60, r: 20, t: 30, b: 45 };
  const systems = [...new Set(sweep.map((s) => s.system))];
  const maxX = Math.max(1, ...sweep.map((s) => s.offered));
  const ys = sweep.map((s) => Math.max(0.1, s.p99_ms));
  const minY = 0.1;
  const maxY = Math.max(1, ...ys);
  const lx = (x: number): number => pad.l + (x / maxX) * (W - pad.l - pad.r);
  const ly = (y: number): number => H - pad.b - ((Math.log10(Math.max(minY, y)) - Math.log10(minY)) / (Math.log10(maxY) - Math.log10(minY) || 1)) * (H - pad.t - pad.b);
  const colors = ['#2563eb', '#dc2626', '#059669'];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">p99 latency against offered load (uniform keys), ${date} UTC</text>`,
    `<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="#333"/>`,
    `<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${H - pad.b}" stroke="#333"/>`,
    `<text x="${W / 2}" y="${H - 8}" text-anchor="middle">offered checks/s</text>`,
    `<text x="14" y="${H / 2}" text-anchor="middle" transform="rotate(-90 14 ${H / 2})">p99 ms (log scale)</text>`,
  ];
  for (const y of [0.1, 1, 10, 100, 1000, 10000].filter((v) => v <= maxY * 1.01)) {
    parts.push(`<line x1="${pad.l}" y1="${ly(y)}" x2="${W - pad.r}" y2="${ly(y)}" stroke="#e5e7eb"/><text x="${pad.l - 6}" y="${ly(y) + 4}" text-anchor="end">${y}</text>`);
  }
  for (let i = 0; i <= 4; i++) {
    const x = (maxX * i) / 4;
    parts.push(`<text x="${lx(x)}" y="${H - pad.b + 16}" text-anchor="middle">${Math.round(x / 1000)}k</text>`);
  }
  systems.forEach((sys, i) => {
    const pts = sweep.filter((s) => s.system === sys).sort((a, b) => a.offered - b.offered);
    const color = colors[i % colors.length] as string;
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${lx(p.offered).toFixed(1)},${ly(p.p99_ms).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) parts.push(`<circle cx="${lx(p.offered).toFixed(1)}" cy="${ly(p.p99_ms).toFixed(1)}" r="3" fill="${color}"/>`);
    parts.push(`<rect x="${pad.l + 10}" y="${pad.t + 6 + i * 18}" width="12" height="3" fill="${color}"/><text x="${pad.l + 28}" y="${pad.t + 11 + i * 18}">${sys}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
const chartPath = write ? 'docs/img/bench-p99.svg' : '.tmp/bench-p99.svg';
mkdirSync(`${root}${dirname(chartPath)}`, { recursive: true });
writeFileSync(`${root}${chartPath}`, `${chart()}\n`);
log(`\nchart: ${chartPath}`);

if (write) {
  const file = `${root}docs/benchmarks.md`;
  const doc = readFileSync(file, 'utf8');
  const start = '<!-- bench:peers:start -->';
  const end = '<!-- bench:peers:end -->';
  const body = `${start}\n${table}\n\n![p99 against offered load](img/bench-p99.svg)\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  writeFileSync(file, i >= 0 && j > i ? `${doc.slice(0, i)}${body}${doc.slice(j + end.length)}` : `${doc.trimEnd()}\n\n## Against the peers (\`npm run bench\`)\n\n${body}\n`);
  log(`wrote ${file}`);
}

const summary = Object.fromEntries(results.map((r) => [`${r.system.replace(/\W+/g, '_')}_${r.workload}_checks_per_sec`, r.checks_per_sec]));
if (json) process.stdout.write(`${JSON.stringify({ results, sweep, summary, quick, seconds })}\n`);
else process.stdout.write(`summary: ${JSON.stringify(summary)}\n`);
process.exit(0);
