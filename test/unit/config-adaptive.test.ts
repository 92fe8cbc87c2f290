// Proves the `adaptive` block of a resource: it is read with its defaults and every mistake
// reported with its path; it stands only at resources.<name>; a factor scales every rule
// that governs the resource's checks (its own, tiers', clients', and the defaults standing
// in for them) to round(limit × factor), at least 1, never outside the engine's bounds,
// with counters kept (same stateShape); other resources and exempt rules are untouched;
// factors are clamped into the bounds; resolve and explain agree.
import { describe, expect, it } from 'vitest';
import { CONCURRENCY_LIMIT_MAX, formatExplanation, scaleRule } from '../../src/config/index.js';
import { compiled, errorLines } from './fixtures/config-helpers.js';

const CONFIG = compiled(`
defaults: { limit: 100, period: 1s }
resources:
  search: { limit: 100, period: 1s, burst: 150, adaptive: { target: { latencyP99Ms: 200 } } }
  upload: { algorithm: concurrency, limit: 8, adaptive: { minFactor: 0.5, maxFactor: 2, target: { errorRate: 0.01 }, intervalMs: 500 } }
  other: { limit: 40, period: 1s }
tiers:
  pro:
    defaults: { limit: 1000, period: 1s }
  free:
    resources: { search: { algorithm: fixed_window, limit: 10, period: 1m } }
clients:
  "vip": { tier: pro }
  "own": { defaults: { limit: 7, period: 1s } }
  "blocked": { blocked: true }
  "free-user": { tier: free }
`);

describe('the adaptive block', () => {
  it('reads settings and fills defaults (minFactor 0.1, maxFactor 1.5, intervalMs 1000)', () => {
    expect(CONFIG.adaptive.get('search')).toEqual({ resource: 'search', minFactor: 0.1, maxFactor: 1.5, target: { kind: 'latencyP99Ms', value: 200 }, intervalMs: 1000 });
    expect(CONFIG.adaptive.get('upload')).toEqual({ resource: 'upload', minFactor: 0.5, maxFactor: 2, target: { kind: 'errorRate', value: 0.01 }, intervalMs: 500 });
    expect(CONFIG.adaptive.has('other')).toBe(false);
    expect(CONFIG.factors.size).toBe(0);
  });

  it('reports every mistake with its path', () => {
    const lines = errorLines(`
resources:
  a: { limit: 1, period: 1s, adaptive: { minFactor: 0, maxFactor: 0.9, maxFactr: 2, target: { latencyP99Ms: 1, errorRate: 0.1 }, intervalMs: 99 } }
  b: { blocked: true, adaptive: { target: { errorRate: 1 } } }
  c: { limit: 1, period: 1s, adaptive: {} }
  d: { limit: 1, period: 1s, adaptive: 3 }
  e: { limit: 1, period: 1s, adaptive: { target: { latencyP99Ms: -5, p50: 1 }, intervalMs: 1.5 } }
tiers: { t: { resources: { a: { limit: 1, period: 1s, adaptive: { target: { errorRate: 0.1 } } } } } }
defaults: { limit: 1, period: 1s, adaptive: { target: { errorRate: 0.1 } } }
`);
    expect(lines).toEqual([
      'defaults.adaptive: unknown field "adaptive" (adaptive is set once per resource, at resources.<name>.adaptive, and scales every rule of the resource)',
      'resources.a.adaptive.maxFactr: unknown field "maxFactr" (did you mean "maxFactor"?)',
      'resources.a.adaptive.minFactor: 0 is not a factor from 0.01 to 1 (1.0 is where stale signals return to)',
      'resources.a.adaptive.maxFactor: 0.9 is not a factor from 1 to 10 (1.0 is where stale signals return to)',
      'resources.a.adaptive.intervalMs: 99 is not a whole number of ms from 100 to 600000',
      'resources.a.adaptive.target: a target has exactly one of latencyP99Ms or errorRate (got both)',
      'resources.b.adaptive.target.errorRate: 1 is not an error rate above 0 and below 1 (0.01 is 1%)',
      'resources.b.adaptive: adaptive does not apply to a blocked rule (it never counts)',
      'resources.c.adaptive.target: missing: use { latencyP99Ms: 200 } or { errorRate: 0.01 }',
      'resources.d.adaptive: expected a map with target (and optionally minFactor, maxFactor, intervalMs), got 3',
      'resources.e.adaptive.intervalMs: 1.5 is not a whole number of ms from 100 to 600000',
      'resources.e.adaptive.target.p50: unknown field "p50" (use latencyP99Ms or errorRate)',
      'resources.e.adaptive.target.latencyP99Ms: -5 is not a latency in ms above 0 and at most 600000',
      'tiers.t.resources.a.adaptive: unknown field "adaptive" (adaptive is set once per resource, at resources.<name>.adaptive, and scales every rule of the resource)',
    ]);
  });

  it('refuses more than 64 adaptive resources', () => {
    const resources = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`r${i}`, { limit: 1, period: '1s', adaptive: { target: { errorRate: 0.1 } } }]));
    expect(errorLines({ resources })).toEqual(['resources: 65 resources are adaptive; at most 64 may be (each costs signal aggregation on every node)']);
  });
});

describe('factors', () => {
  const half = CONFIG.withFactors(new Map([['search', 0.5]]));

  it('scale every rule that governs the resource, and nothing else', () => {
    expect(half.resolve('anyone', 'search', undefined)).toMatchObject({ id: 'resources.search', limit: 50, burst: 75 });
    // A tier's defaults stand in for its rule of the resource: scaled for this resource only.
    expect(half.resolve('vip', 'search', undefined)).toMatchObject({ id: 'tiers.pro.defaults', limit: 500 });
    expect(half.resolve('vip', 'other', undefined)).toMatchObject({ id: 'tiers.pro.defaults', limit: 1000 });
    expect(half.resolve('someone', 'search', 'pro')).toMatchObject({ limit: 500 });
    expect(half.resolve('free-user', 'search', undefined)).toMatchObject({ id: 'tiers.free.resources.search', limit: 5 });
    expect(half.resolve('own', 'search', undefined)).toMatchObject({ id: 'clients["own"].defaults', limit: 4 });
    expect(half.resolve('own', 'other', undefined)).toMatchObject({ limit: 7 });
    expect(half.resolve('blocked', 'search', undefined)).toMatchObject({ blocked: true });
    expect(half.resolve('anyone', 'other', undefined)).toMatchObject({ limit: 40 });
    expect(half.resolve('anyone', 'unknown', undefined)).toMatchObject({ id: 'defaults', limit: 100 });
  });

  it('keep counters: algorithm, period and stateShape never change', () => {
    for (const key of ['anyone', 'vip', 'free-user', 'own']) {
      const before = CONFIG.resolve(key, 'search', undefined);
      const after = half.resolve(key, 'search', undefined);
      expect(after?.stateShape).toBe(before?.stateShape);
      expect(after?.periodMs).toBe(before?.periodMs);
      expect(after?.algorithm).toBe(before?.algorithm);
    }
  });

  it('are clamped into the bounds, ignored for resources that are not adaptive, and 1.0 changes nothing', () => {
    const c = CONFIG.withFactors(new Map([['search', 9], ['upload', 0.01], ['other', 0.5], ['nope', 2]]));
    expect([...c.factors]).toEqual([['search', 1.5], ['upload', 0.5]]);
    expect(c.resolve('anyone', 'search', undefined)?.limit).toBe(150);
    expect(c.resolve('anyone', 'upload', undefined)?.limit).toBe(4);
    expect(c.resolve('anyone', 'other', undefined)?.limit).toBe(40);
    const one = CONFIG.withFactors(new Map([['search', 1]]));
    expect(one.resolve('vip', 'search', undefined)).toBe(CONFIG.resolve('vip', 'search', undefined));
    // Factors replace, never compound: the written rules are always the base.
    expect(half.withFactors(new Map([['search', 0.5]])).resolve('anyone', 'search', undefined)?.limit).toBe(50);
    expect(half.rules).toEqual(CONFIG.rules);
  });

  it('round, stay at least 1, and stay within the engine bounds', () => {
    const rule = CONFIG.resolve('anyone', 'search', undefined);
    if (rule === null) throw new Error('no rule');
    expect(scaleRule({ ...rule, limit: 3, burst: 3 }, 0.1)).toMatchObject({ limit: 1, burst: 1 });
    expect(scaleRule({ ...rule, limit: 5, burst: 5 }, 0.5)).toMatchObject({ limit: 3 }); // round(2.5) = 3
    expect(scaleRule({ ...rule, algorithm: 'concurrency', limit: 9000, burst: 9000, periodMs: 0 }, 2).limit).toBe(CONCURRENCY_LIMIT_MAX);
    const longPeriod = { ...rule, limit: 200_000, burst: 200_000, periodMs: 365 * 24 * 3_600_000 };
    const scaled = scaleRule(longPeriod, 10);
    expect(scaled.burst * scaled.periodMs).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
  });

  it('explain shows the written levels, the scaled rule resolve answers, and the factor', () => {
    for (const key of ['anyone', 'vip', 'own', 'blocked', 'free-user']) {
      const e = half.explain(key, 'search');
      expect(e.rule).toBe(half.resolve(key, 'search', undefined));
      expect(e.adaptive?.factor).toBe(0.5);
    }
    const e = half.explain('vip', 'search');
    expect(e.levels.find((l) => l.path === 'tiers.pro.defaults')?.rule?.limit).toBe(1000);
    expect(e.adaptive).toMatchObject({ baseLimit: 1000, effectiveLimit: 500, applies: true });
    expect(formatExplanation(e)).toContain('adaptive: factor 0.5 in [0.1, 1.5], target p99 200ms, every 1000ms: limit 1000 -> 500');
    expect(half.explain('blocked', 'search').adaptive?.applies).toBe(false);
    expect(half.explain('anyone', 'other').adaptive).toBeUndefined();
  });
});
