/**
 * `npm run bench:engine [-- --json] [-- --runs N]`: ns per decision of the in-process
 * Limiter (rule resolution + per-key state store + algorithm), for GCRA and the sliding
 * window at 10k and 1M distinct keys, next to a bare floor: a Map<string, number> holding
 * one GCRA timestamp per key and nothing else. Median of several runs; the floor and the
 * engine alternate run by run so machine noise hits both alike.
 */
import { cpus } from 'node:os';
import { loadConfigOrThrow } from '../../src/config/index.js';
import { Limiter } from '../../src/engine/limiter.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const runsArg = args.indexOf('--runs');
const RUNS = runsArg >= 0 ? Number(args[runsArg + 1]) : 7;
const OPS_PER_RUN = 2_000_000;
/** Virtual time advances 1 ms every 1024 checks: about 1M checks per virtual second. */
const OPS_PER_MS_SHIFT = 10;
const T0 = 1_700_000_000_000;

const CONFIG = `
version: 1
defaults: { algorithm: gcra, limit: 100, period: 1s, burst: 200 }
resources:
  search: { algorithm: gcra, limit: 100, period: 1s, burst: 200 }
  api: { algorithm: sliding_window, limit: 100, period: 1s }
tiers:
  free: { defaults: { limit: 50, period: 1m } }
  pro: { resources: { search: { limit: 500, period: 1s, burst: 1000 } } }
clients:
  "user:vip": { tier: pro }
  "ip:203.0.113.9": { blocked: true }
`;

/** xorshift32: a reproducible access order without Math.random. */
function accessOrder(keyCount: number, length: number, seed: number): Int32Array {
  const out = new Int32Array(length);
  let x = seed | 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) % keyCount;
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

interface Case {
  readonly keys: readonly string[];
  readonly order: Int32Array;
}

function makeCase(keyCount: number): Case {
  const keys = Array.from({ length: keyCount }, (_, i) => `user:${i}`);
  return { keys, order: accessOrder(keyCount, OPS_PER_RUN, 0x9e3779b9 ^ keyCount) };
}

/** One timed pass of the engine; returns ns per check and the allowed share. */
function runEngine(limiter: Limiter, c: Case, resource: string, startMs: number): { ns: number; allowed: number } {
  const { keys, order } = c;
  let allowed = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < order.length; i++) {
    const r = limiter.check(keys[order[i] as number] as string, resource, 1, undefined, startMs + (i >>> OPS_PER_MS_SHIFT));
    if (r.allowed) allowed++;
  }
  const ns = Number(process.hrtime.bigint() - t0) / order.length;
  return { ns, allowed: allowed / order.length };
}

/** The floor: one GCRA timestamp per key in a Map, emission interval 10 ms, tolerance 2 s. */
function runFloor(map: Map<string, number>, c: Case, startMs: number): number {
  const { keys, order } = c;
  const T = 10;
  const tau = 2000;
  let allowed = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < order.length; i++) {
    const key = keys[order[i] as number] as string;
    const now = startMs + (i >>> OPS_PER_MS_SHIFT);
    const tat = map.get(key);
    const next = (tat === undefined || tat < now ? now : tat) + T;
    if (next - now <= tau) {
      map.set(key, next);
      allowed++;
    }
  }
  const ns = Number(process.hrtime.bigint() - t0) / order.length;
  if (allowed < 0) throw new Error('unreachable'); // keeps the loop's work observable
  return ns;
}

function bench(label: string, keyCount: number, resource: string): { engineNs: number; floorNs: number; allowed: number } {
  const c = makeCase(keyCount);
  const limiter = new Limiter({ resolver: loadConfigOrThrow(CONFIG) });
  const floor = new Map<string, number>();
  // Warm-up pass: every key gets state, and the JIT settles.
  let clock = T0;
  runEngine(limiter, c, resource, clock);
  runFloor(floor, c, clock);
  const engine: number[] = [];
  const floors: number[] = [];
  let allowed = 0;
  for (let run = 0; run < RUNS; run++) {
    clock += (OPS_PER_RUN >>> OPS_PER_MS_SHIFT) + 1;
    floors.push(runFloor(floor, c, clock));
    const r = runEngine(limiter, c, resource, clock);
    engine.push(r.ns);
    allowed = r.allowed;
  }
  const result = { engineNs: median(engine), floorNs: median(floors), allowed };
  if (!json) {
    process.stdout.write(
      `${label.padEnd(22)} engine ${result.engineNs.toFixed(0).padStart(5)} ns/check   floor ${result.floorNs
        .toFixed(0)
        .padStart(5)} ns   ratio ${(result.engineNs / result.floorNs).toFixed(2)}   allowed ${(allowed * 100).toFixed(0)}%\n`,
    );
  }
  return result;
}

const cpu = cpus()[0]?.model ?? 'unknown cpu';
if (!json) {
  process.stdout.write(
    `engine benchmark: node ${process.version}, ${cpu}, ${cpus().length} cores; ${RUNS} runs × ${OPS_PER_RUN} checks, median\n`,
  );
}
const g10k = bench('gcra, 10k keys', 10_000, 'search');
const s10k = bench('sliding, 10k keys', 10_000, 'api');
const g1m = bench('gcra, 1M keys', 1_000_000, 'search');
const s1m = bench('sliding, 1M keys', 1_000_000, 'api');

const summary = {
  gcra_10k_ns: Math.round(g10k.engineNs),
  gcra_1m_ns: Math.round(g1m.engineNs),
  sliding_10k_ns: Math.round(s10k.engineNs),
  sliding_1m_ns: Math.round(s1m.engineNs),
  floor_10k_ns: Math.round(g10k.floorNs),
  floor_1m_ns: Math.round(g1m.floorNs),
  gcra_1m_vs_floor: Number((g1m.engineNs / g1m.floorNs).toFixed(2)),
  runs: RUNS,
  checks_per_run: OPS_PER_RUN,
  node: process.version,
  cpu,
};
if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
else {
  const ok10k = summary.gcra_10k_ns <= 200;
  const ok1m = summary.gcra_1m_vs_floor <= 1.5;
  process.stdout.write(
    `targets: gcra 10k <= 200 ns: ${ok10k ? 'met' : 'NOT met'} (${summary.gcra_10k_ns}); gcra 1M <= 1.5x floor: ${
      ok1m ? 'met' : 'NOT met'
    } (${summary.gcra_1m_vs_floor}x)\n`,
  );
}
