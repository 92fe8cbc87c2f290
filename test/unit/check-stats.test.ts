// Proves the live check counters behind /v1/stats: rates over the last 10 complete seconds,
// per-resource counts with a bounded `other`, p50/p99 within a bucket's half-width of a
// brute-force nearest-rank computation, ageing out of old seconds, and fixed memory.
import { describe, expect, it } from 'vitest';
import {
  CheckStats,
  LATENCY_BUCKETS,
  OTHER_RESOURCE,
  RESOURCES_TRACKED_MAX,
  STATS_WINDOW_S,
  latencyBucketMidMs,
  latencyBucketOf,
} from '../../src/node/stats/check-stats.js';
import { trackedResources } from '../../src/node/stats/resources.js';

/** A settable clock: the stats read time only through it. */
function fakeClock(startMs = 1_000_000): { nowMs: () => number; set(ms: number): void; ms: number } {
  const c = {
    ms: startMs,
    nowMs: () => c.ms,
    set(ms: number) {
      c.ms = ms;
    },
  };
  return c;
}

/** Deterministic PRNG (mulberry32) so a failure replays. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Nearest-rank percentile, the reference the histogram is checked against. */
function nearestRank(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1] as number;
}

describe('latency buckets', () => {
  it('place every value in a bucket whose midpoint is within 6.25% of it, monotonically', () => {
    const rnd = prng(7);
    let lastBucket = -1;
    let lastValue = 0;
    const values = Array.from({ length: 20_000 }, () => 2 ** (-9.9 + rnd() * 25.8)).sort((a, b) => a - b);
    for (const v of values) {
      const b = latencyBucketOf(v);
      expect(b).toBeGreaterThan(0);
      expect(b).toBeLessThan(LATENCY_BUCKETS - 1);
      expect(Math.abs(latencyBucketMidMs(b) - v) / v, `value ${v} bucket ${b}`).toBeLessThanOrEqual(0.0625 + 1e-12);
      if (v > lastValue) expect(b).toBeGreaterThanOrEqual(lastBucket);
      lastBucket = b;
      lastValue = v;
    }
  });

  it('send zero, negatives and NaN to the first bucket and huge values to the last', () => {
    expect(latencyBucketOf(0)).toBe(0);
    expect(latencyBucketOf(-5)).toBe(0);
    expect(latencyBucketOf(Number.NaN)).toBe(0);
    expect(latencyBucketOf(1e9)).toBe(LATENCY_BUCKETS - 1);
    expect(latencyBucketOf(Number.POSITIVE_INFINITY)).toBe(LATENCY_BUCKETS - 1);
  });
});

describe('CheckStats', () => {
  it('reports rates over the last 10 complete seconds, leaving out the second in progress and the partial first one', () => {
    const clock = fakeClock(5_000_500); // mid-second: second 5000 is partial
    const stats = new CheckStats({ resources: ['search', 'upload'] }, clock);
    stats.record('search', true, 1, clock.ms); // in the partial first second: never counted
    // Seconds 5001..5012: second s gets (s - 5000) allowed and 2 denied.
    for (let s = 5001; s <= 5012; s++) {
      for (let i = 0; i < s - 5000; i++) stats.record('search', true, 1, s * 1000 + i);
      stats.record('upload', false, 2, s * 1000 + 500);
      stats.record('upload', false, 2, s * 1000 + 600);
      stats.recordError(s * 1000 + 700);
    }
    clock.set(5_013_200); // second 5013 in progress, with one check that must not count yet
    stats.record('search', true, 1, clock.ms);
    const snap = stats.snapshot();
    expect(snap.windowS).toBe(STATS_WINDOW_S);
    expect(snap.seconds.map((s) => s.second)).toEqual([5003, 5004, 5005, 5006, 5007, 5008, 5009, 5010, 5011, 5012]);
    expect(snap.seconds.map((s) => s.allowed)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(snap.allowedPerSec).toBeCloseTo((3 + 12) * 10 / 2 / 10, 10);
    expect(snap.deniedPerSec).toBe(2);
    expect(snap.errorsPerSec).toBe(1);
    expect(snap.resources).toEqual([
      { name: 'search', allowed: 75, denied: 0 },
      { name: 'upload', allowed: 0, denied: 20 },
      { name: OTHER_RESOURCE, allowed: 0, denied: 0 },
    ]);
  });

  it('divides by the seconds observed so far just after start', () => {
    const clock = fakeClock(0);
    const stats = new CheckStats({ resources: [] }, clock);
    for (let s = 1; s <= 3; s++) for (let i = 0; i < 10; i++) stats.record('x', i < 6, 1, s * 1000 + i);
    clock.set(4_000);
    const snap = stats.snapshot();
    expect(snap.windowS).toBe(3);
    expect(snap.allowedPerSec).toBe(6);
    expect(snap.deniedPerSec).toBe(4);
    expect(new CheckStats({ resources: [] }, fakeClock(0)).snapshot()).toMatchObject({ windowS: 0, allowedPerSec: 0, latencyP50Ms: null, latencyP99Ms: null });
  });

  it('computes p50 and p99 over the window and per second within 6.25% of the brute-force nearest rank', () => {
    const rnd = prng(42);
    const clock = fakeClock(0);
    const stats = new CheckStats({ resources: ['a'] }, clock);
    const all: number[] = [];
    const perSecond = new Map<number, number[]>();
    for (let s = 1; s <= 14; s++) {
      const n = 200 + Math.floor(rnd() * 800);
      for (let i = 0; i < n; i++) {
        // Mostly fast answers with a slow tail, as a strict cluster shows.
        const v = rnd() < 0.97 ? 0.05 + rnd() * 2 : 5 + rnd() * 200;
        stats.record('a', rnd() < 0.8, v, s * 1000 + (i % 1000));
        if (s >= 5) {
          all.push(v);
          const list = perSecond.get(s) ?? [];
          list.push(v);
          perSecond.set(s, list);
        }
      }
    }
    clock.set(15_000);
    const snap = stats.snapshot();
    expect(snap.latencySamples).toBe(all.length);
    const close = (got: number | null, want: number): void => {
      if (got === null) throw new Error('percentile missing');
      expect(Math.abs(got - want) / want, `got ${got}, want ${want}`).toBeLessThanOrEqual(0.0625 + 1e-12);
    };
    close(snap.latencyP50Ms, nearestRank(all, 0.5));
    close(snap.latencyP99Ms, nearestRank(all, 0.99));
    expect(snap.latencyMaxMs).toBe(Math.max(...all));
    for (const sec of snap.seconds) {
      const values = perSecond.get(sec.second) ?? [];
      close(sec.p50Ms, nearestRank(values, 0.5));
      close(sec.p99Ms, nearestRank(values, 0.99));
    }
  });

  it('ages seconds out: after an idle spell the window is empty, and a gap reads as zeros', () => {
    const clock = fakeClock(0);
    const stats = new CheckStats({ resources: [] }, clock);
    for (let s = 1; s <= 5; s++) stats.record('x', true, 1, s * 1000);
    // A gap: nothing in seconds 6..8, then one check in second 9.
    stats.record('x', false, 1, 9_000);
    clock.set(10_000);
    const snap = stats.snapshot();
    expect(snap.seconds.map((s) => [s.second, s.allowed, s.denied])).toEqual([
      [1, 1, 0], [2, 1, 0], [3, 1, 0], [4, 1, 0], [5, 1, 0], [6, 0, 0], [7, 0, 0], [8, 0, 0], [9, 0, 1],
    ]);
    clock.set(40_000);
    const idle = stats.snapshot();
    expect(idle.allowedPerSec + idle.deniedPerSec).toBe(0);
    expect(idle.seconds.every((s) => s.allowed === 0 && s.denied === 0 && s.p50Ms === null)).toBe(true);
    // A check long after: the ring slot it lands in holds only it.
    stats.record('x', true, 1, 40_100);
    clock.set(41_000);
    expect(stats.snapshot().seconds.at(-1)).toMatchObject({ second: 40, allowed: 1, denied: 0 });
  });

  it('keeps memory fixed: untracked names count as other, and the tracked set is capped', () => {
    const clock = fakeClock(0);
    const many = Array.from({ length: RESOURCES_TRACKED_MAX + 50 }, (_, i) => `r${i}`);
    const stats = new CheckStats({ resources: [...many, 'r0', OTHER_RESOURCE] }, clock);
    expect(stats.resourceNames).toHaveLength(RESOURCES_TRACKED_MAX + 1);
    expect(stats.resourceNames.at(-1)).toBe(OTHER_RESOURCE);
    const bytes = stats.memoryBytes();
    for (let i = 0; i < 200_000; i++) stats.record(`client-chosen-${i}`, i % 3 !== 0, i % 97, 1000 + i * 7);
    expect(stats.memoryBytes()).toBe(bytes);
    expect(stats.resourceNames).toHaveLength(RESOURCES_TRACKED_MAX + 1);
    clock.set(1000 + 200_000 * 7 + 1000);
    const snap = stats.snapshot();
    expect(snap.resources).toHaveLength(RESOURCES_TRACKED_MAX + 1);
    const other = snap.resources.at(-1);
    expect(other?.name).toBe(OTHER_RESOURCE);
    expect((other?.allowed ?? 0) + (other?.denied ?? 0)).toBeGreaterThan(0);
    expect(snap.resources.slice(0, -1).every((r) => r.allowed === 0 && r.denied === 0)).toBe(true);
  });

  it('tracks names a new configuration adds, with no change in memory', () => {
    const clock = fakeClock(0);
    const stats = new CheckStats({ resources: ['a'] }, clock);
    const bytes = stats.memoryBytes();
    stats.record('b', false, 1, 1_000); // untracked yet: other
    stats.track(['a', 'b']);
    stats.record('b', false, 1, 2_000);
    clock.set(3_000);
    expect(stats.memoryBytes()).toBe(bytes);
    expect(stats.snapshot().resources).toEqual([
      { name: 'a', allowed: 0, denied: 0 },
      { name: 'b', allowed: 0, denied: 1 },
      { name: OTHER_RESOURCE, allowed: 0, denied: 1 },
    ]);
  });

  it('record costs tens of nanoseconds (measured, loose bound for a shared machine)', () => {
    const stats = new CheckStats({ resources: ['search', 'upload', 'login'] }, { nowMs: () => performance.now() });
    const names = ['search', 'upload', 'login', 'unknown'];
    const n = 2_000_000;
    let best = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 3; round++) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) stats.record(names[i & 3] as string, (i & 7) !== 0, (i & 1023) / 100, t0 + i / 1000);
      best = Math.min(best, ((performance.now() - t0) * 1e6) / n);
    }
    process.stdout.write(`CheckStats.record: ${best.toFixed(1)} ns per call\n`);
    expect(best).toBeLessThan(400);
  });

  it('rejects a resource list that is not an array', () => {
    expect(() => new CheckStats({ resources: 'search' as unknown as string[] }, fakeClock())).toThrow(/'resources' must be an array/);
  });
});

describe('trackedResources', () => {
  it('names every resource the rules name, plus the default resource', () => {
    expect(
      trackedResources([{ id: 'defaults' }, { id: 'resources.search' }, { id: 'tiers.pro.resources.upload' }, { id: 'clients.user:1.resources.a.b' }, { id: 'tiers.pro.defaults' }]),
    ).toEqual(['default', 'search', 'upload', 'a.b']);
  });
});
