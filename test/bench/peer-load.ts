/**
 * Load generator for the peer systems of `npm run bench`, in its own process:
 * rate-limiter-flexible's `RateLimiterRedis` over ioredis against a local redis-server,
 * or its `RateLimiterMemory` in this process (the no-network ceiling). Same workloads
 * (test/bench/workloads.ts) and limits as the cluster runs; closed loop with `--inflight`
 * checks outstanding, or open loop at `--rate` checks/s with latency counted from each
 * check's due time. Prints one JSON line in the shape test/bench/node-load.ts prints.
 *
 *   tsx test/bench/peer-load.ts --system redis --redis-port 6390 --workload uniform --seconds 10 --inflight 1024
 */
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { BENCH_LIMITS, parseWorkload, percentileMs, workloadSpec } from './workloads.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] as string) : fallback;
};
const system = arg('system', 'redis');
const seconds = Number(arg('seconds', '10'));
const inflight = Number(arg('inflight', '1024'));
const rate = Number(arg('rate', '0'));
const spec = workloadSpec(parseWorkload(arg('workload', 'uniform')));

const redis = system === 'redis' ? new Redis({ host: '127.0.0.1', port: Number(arg('redis-port', '6379')), enableOfflineQueue: true, maxRetriesPerRequest: 1 }) : null;
const limiterOf = (name: keyof typeof BENCH_LIMITS): RateLimiterAbstract => {
  const points = BENCH_LIMITS[name].limit;
  const duration = BENCH_LIMITS[name].periodMs / 1000;
  return redis !== null ? new RateLimiterRedis({ storeClient: redis, keyPrefix: `rl-${name}`, points, duration }) : new RateLimiterMemory({ keyPrefix: `rl-${name}`, points, duration });
};
const limiters = spec.resources.map((r) => limiterOf(r as keyof typeof BENCH_LIMITS));
if (redis !== null) await redis.ping();

let answered = 0;
let allowed = 0;
let failed = 0;
let cursor = 0;
const latenciesUs: number[] = [];
const started = performance.now();
const deadline = started + seconds * 1000;

/** One check: every resource's limiter must allow (rate-limiter-flexible has no atomic multi-resource check; they run one after another). */
async function check(dueAt: number): Promise<void> {
  const key = spec.keys[cursor++ % spec.keys.length] as string;
  let ok = true;
  try {
    for (const l of limiters) await l.consume(key, 1);
  } catch (err) {
    if (err instanceof RateLimiterRes) ok = false;
    else {
      failed++;
      return;
    }
  }
  answered++;
  if (ok) allowed++;
  latenciesUs.push(Math.round((performance.now() - dueAt) * 1000));
}

if (rate === 0) {
  // Closed loop: `inflight` workers, each starting its next check when the last answers.
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (performance.now() < deadline) await check(performance.now());
    }),
  );
} else {
  // Open loop: checks are due at a fixed rate whatever the answers do (bounded: at most
  // 200k outstanding, beyond which the generator itself is the bottleneck and says so).
  const pending = new Set<Promise<void>>();
  let sent = 0;
  let dropped = 0;
  await new Promise<void>((done) => {
    const timer = setInterval(() => {
      const now = performance.now();
      // Check n is due at started + n / rate: send every check whose time has come.
      const due = Math.min(Math.floor(((Math.min(now, deadline) - started) / 1000) * rate) + 1, Math.floor(seconds * rate));
      while (sent < due) {
        const dueAt = started + (sent / rate) * 1000;
        sent++;
        if (pending.size >= 200_000) {
          dropped++;
          continue;
        }
        const p = check(dueAt).finally(() => pending.delete(p));
        pending.add(p);
      }
      if (now >= deadline) {
        clearInterval(timer);
        void Promise.all(pending).then(() => done());
      }
    }, 1);
  });
  failed += dropped;
}

redis?.disconnect();
latenciesUs.sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({
    checks_per_sec: Math.round(answered / seconds),
    answered,
    failed,
    allowed,
    denied: answered - allowed,
    p50_ms: percentileMs(latenciesUs, 50),
    p99_ms: percentileMs(latenciesUs, 99),
    p999_ms: percentileMs(latenciesUs, 99.9),
    inflight,
    offered_rate: rate,
    cpu_ms: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000),
  })}\n`,
);
process.exit(0);
