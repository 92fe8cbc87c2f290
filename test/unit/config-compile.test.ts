// Proves what a valid configuration compiles to: rule ids are paths, missing fields take built-in defaults (never another level's), state shapes separate incompatible states, and everything is frozen.
import { describe, expect, it } from 'vitest';
import type { CompiledRule } from '../../src/engine/types.js';
import { compiled, fixture } from './fixtures/config-helpers.js';

function rule(overrides: Partial<CompiledRule> & Pick<CompiledRule, 'id'>): CompiledRule {
  const base = {
    algorithm: 'gcra' as const,
    limit: 0,
    periodMs: 0,
    burst: 0,
    leaseMs: 0,
    shadow: false,
    consistency: 'strict' as const,
    blocked: false,
    unlimited: false,
    ...overrides,
  };
  // The shape of a GCRA rule names its period (a period change resets counters).
  return { stateShape: `gcra:${base.periodMs}`, ...base };
}

describe('the example configuration', () => {
  const config = compiled(fixture('config-example.yaml'));

  it('compiles to one rule per level that has one, in document order, ids being paths', () => {
    expect(config.version).toBe(3);
    expect(config.rules).toEqual([
      rule({ id: 'defaults', limit: 100, periodMs: 1000, burst: 200 }),
      rule({ id: 'resources.search', limit: 10, periodMs: 1000, burst: 10 }),
      rule({ id: 'tiers.free.defaults', limit: 50, periodMs: 60_000, burst: 50 }),
      rule({ id: 'tiers.free.resources.search', limit: 5, periodMs: 1000, burst: 5 }),
      rule({ id: 'tiers.pro.resources.search', limit: 50, periodMs: 1000, burst: 100 }),
      rule({ id: 'clients["user:42"].resources.search', limit: 500, periodMs: 1000, burst: 500 }),
      rule({ id: 'clients["ip:203.0.113.9"]', blocked: true }),
      rule({ id: 'clients["svc:backup"]', unlimited: true }),
    ]);
  });

  it('freezes every rule, the rule list and the config', () => {
    expect(config.rules.every((r) => Object.isFrozen(r))).toBe(true);
    expect(Object.isFrozen(config.rules)).toBe(true);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('returns the same rule object to every key it governs', () => {
    expect(config.resolve('user:1', 'search', undefined)).toBe(config.resolve('user:2', 'search', undefined));
  });
});

describe('built-in defaults', () => {
  it('fill a rule without reading any other level', () => {
    const config = compiled({
      defaults: { algorithm: 'fixed_window', limit: 7, period: '1h', shadow: true, consistency: 'fast' },
      resources: { search: { limit: 10, period: '1s' } },
    });
    expect(config.resolve('k', 'search', undefined)).toEqual(
      rule({ id: 'resources.search', limit: 10, periodMs: 1000, burst: 10 }),
    );
  });

  it('changing defaults never changes a tuned rule', () => {
    const before = compiled({ defaults: { limit: 100, period: '1s' }, resources: { search: { limit: 10, period: '1s' } } });
    const after = compiled({ defaults: { limit: 1, period: '1d', burst: 5 }, resources: { search: { limit: 10, period: '1s' } } });
    expect(after.resolve('k', 'search', undefined)).toEqual(before.resolve('k', 'search', undefined));
  });

  it('version defaults to 1', () => {
    expect(compiled({}).version).toBe(1);
    expect(compiled({}).rules).toEqual([]);
  });
});

describe('per algorithm', () => {
  const config = compiled({
    resources: {
      g: { algorithm: 'gcra', limit: 10, period: '1m', burst: 30 },
      s: { algorithm: 'sliding_window', limit: 10, period: '1m' },
      f: { algorithm: 'fixed_window', limit: 10, period: '1m' },
      f2: { algorithm: 'fixed_window', limit: 10, period: '2m' },
      c: { algorithm: 'concurrency', limit: 4 },
      c2: { algorithm: 'concurrency', limit: 4, lease: '5s' },
    },
  });
  const get = (name: string): CompiledRule | null => config.resolve('k', name, undefined);

  it('gcra keeps its burst; state shape "gcra"', () => {
    expect(get('g')).toEqual(rule({ id: 'resources.g', limit: 10, periodMs: 60_000, burst: 30, stateShape: 'gcra:60000' }));
  });

  it('windows take burst = limit and carry the window length in their state shape', () => {
    expect(get('s')).toEqual(
      rule({ id: 'resources.s', algorithm: 'sliding_window', limit: 10, periodMs: 60_000, burst: 10, stateShape: 'sliding_window:60000' }),
    );
    expect(get('f')?.stateShape).toBe('fixed_window:60000');
    expect(get('f2')?.stateShape).toBe('fixed_window:120000');
  });

  it('concurrency has periodMs 0, a 30s lease by default, burst = limit', () => {
    expect(get('c')).toEqual(
      rule({ id: 'resources.c', algorithm: 'concurrency', limit: 4, burst: 4, leaseMs: 30_000, stateShape: 'concurrency' }),
    );
    expect(get('c2')?.leaseMs).toBe(5000);
  });
});

describe('flags', () => {
  it('carries shadow and consistency as given', () => {
    const config = compiled({ defaults: { limit: 1, period: '1s', shadow: true, consistency: 'fast', description: 'ignored' } });
    expect(config.resolve('k', 'x', undefined)).toMatchObject({ shadow: true, consistency: 'fast' });
    expect(config.resolve('k', 'x', undefined)).not.toHaveProperty('description');
  });

  it('compiles a blocked or unlimited rule without limit or period to zeros', () => {
    const config = compiled({ resources: { b: { blocked: true }, u: { unlimited: true, algorithm: 'concurrency' } } });
    expect(config.resolve('k', 'b', undefined)).toEqual(rule({ id: 'resources.b', blocked: true }));
    expect(config.resolve('k', 'u', undefined)).toEqual(
      rule({ id: 'resources.u', algorithm: 'concurrency', unlimited: true, leaseMs: 30_000, stateShape: 'concurrency' }),
    );
  });

  it('keeps the limits of a blocked rule that has them, so unblocking restores it', () => {
    const config = compiled({ resources: { b: { blocked: true, limit: 10, period: '1s' } } });
    expect(config.resolve('k', 'b', undefined)).toEqual(rule({ id: 'resources.b', blocked: true, limit: 10, periodMs: 1000, burst: 10 }));
  });

  it('names client-level rules by their path', () => {
    const config = compiled({
      tiers: { free: { defaults: { limit: 1, period: '1s' } } },
      clients: { 'user:42': { defaults: { limit: 2, period: '1s' } }, 'a.b c': { resources: { 'x.y': { limit: 3, period: '1s' } } } },
    });
    expect(config.rules.map((r) => r.id)).toEqual(['tiers.free.defaults', 'clients["user:42"].defaults', 'clients["a.b c"].resources.x.y']);
  });
});
