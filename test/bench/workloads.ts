/**
 * The key sequences of `npm run bench`, the same for every system measured: a load
 * generator walks its sequence in order, so each system sees the same keys with the same
 * skew. Deterministic (seeded), so two runs send the same traffic.
 *
 * - uniform: 100k distinct keys, each equally likely;
 * - zipf: 100k keys, rank r drawn with weight 1/r^1.1 (a few keys take most checks);
 * - hot: one key;
 * - denied: 1,000 abusive keys on a resource allowing 1 check per 10 s each (nearly all denied);
 * - multi: uniform keys, each check names two resources (`bench` and `global`).
 */

export const WORKLOADS = ['uniform', 'zipf', 'hot', 'denied', 'multi'] as const;
export type Workload = (typeof WORKLOADS)[number];

export interface WorkloadSpec {
  readonly keys: readonly string[];
  readonly resources: readonly string[];
}

/** Limits every system enforces: `bench` and `global` never deny at bench rates; `abuse` allows 1 per 10 s. */
export const BENCH_LIMITS = {
  bench: { limit: 1_000_000, periodMs: 1000 },
  global: { limit: 10_000_000, periodMs: 1000 },
  abuse: { limit: 1, periodMs: 10_000 },
} as const;

/** The cluster's configuration for these limits (GCRA; `consistency` per run). */
export function benchLimitsYaml(consistency: 'strict' | 'fast'): string {
  const rule = (name: keyof typeof BENCH_LIMITS): string =>
    `  ${name}: { algorithm: gcra, limit: ${BENCH_LIMITS[name].limit}, period: ${BENCH_LIMITS[name].periodMs}ms, consistency: ${consistency} }`;
  return ['version: 1', `defaults: { algorithm: gcra, limit: 1000000, period: 1s, consistency: ${consistency} }`, 'resources:', rule('bench'), rule('global'), rule('abuse'), ''].join('\n');
}

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `length` keys of the workload, in the order a generator sends them. */
export function workloadSpec(workload: Workload, length = 200_000): WorkloadSpec {
  const rand = prng(42);
  const distinct = 100_000;
  switch (workload) {
    case 'uniform':
      return { keys: Array.from({ length }, () => `bench:${Math.floor(rand() * distinct)}`), resources: ['bench'] };
    case 'multi':
      return { keys: Array.from({ length }, () => `bench:${Math.floor(rand() * distinct)}`), resources: ['bench', 'global'] };
    case 'hot':
      return { keys: ['bench:hot'], resources: ['bench'] };
    case 'denied':
      return { keys: Array.from({ length }, () => `abuser:${Math.floor(rand() * 1000)}`), resources: ['abuse'] };
    case 'zipf': {
      // Inverse-CDF sampling over precomputed cumulative weights 1/r^1.1.
      const cdf = new Float64Array(distinct);
      let total = 0;
      for (let r = 1; r <= distinct; r++) {
        total += 1 / r ** 1.1;
        cdf[r - 1] = total;
      }
      const keys: string[] = [];
      for (let i = 0; i < length; i++) {
        const u = rand() * total;
        let lo = 0;
        let hi = distinct - 1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if ((cdf[mid] as number) < u) lo = mid + 1;
          else hi = mid;
        }
        keys.push(`bench:${lo}`);
      }
      return { keys, resources: ['bench'] };
    }
  }
}

export function parseWorkload(v: string): Workload {
  if (!(WORKLOADS as readonly string[]).includes(v)) throw new Error(`--workload must be one of ${WORKLOADS.join(', ')} (got ${v})`);
  return v as Workload;
}

/** Exact percentile (nearest rank) of sorted latencies in µs, in ms. */
export function percentileMs(sortedUs: readonly number[], p: number): number {
  if (sortedUs.length === 0) return 0;
  return (sortedUs[Math.min(sortedUs.length - 1, Math.floor((p / 100) * sortedUs.length))] as number) / 1000;
}
