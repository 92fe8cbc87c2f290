// Proves resolve() picks the rule of the most specific level that has one, for every combination of levels and tier sources, against a naive reference; and that it is a bounded number of Map look-ups, never a scan.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CompiledConfig } from '../../src/config/index.js';
import { compiled, fixture } from './fixtures/config-helpers.js';

const LEVELS = ['client', 'client_resource', 'client_defaults', 'tier_resource', 'tier_defaults', 'resource', 'defaults'] as const;
type Level = (typeof LEVELS)[number];

const KEY = 'user:42';
const ID: Record<Level, string> = {
  client: 'clients["user:42"]',
  client_resource: 'clients["user:42"].resources.search',
  client_defaults: 'clients["user:42"].defaults',
  tier_resource: 'tiers.pro.resources.search',
  tier_defaults: 'tiers.pro.defaults',
  resource: 'resources.search',
  defaults: 'defaults',
};

const rule = { limit: 10, period: '1s' };

/**
 * A config holding a rule for `search` at exactly `levels`, for client `user:42` in tier
 * `pro` (from its entry when `tierInClient`, else from the request). Distractors sit
 * everywhere else: other resources, another client, tier `free`, which must never decide.
 */
function configWith(levels: ReadonlySet<Level>, tierInClient: boolean): CompiledConfig {
  const has = (level: Level): boolean => levels.has(level);
  const scope = (resource: Level, defaults: Level): Record<string, unknown> => ({
    ...(has(defaults) ? { defaults: rule } : {}),
    resources: { upload: rule, ...(has(resource) ? { search: rule } : {}) },
  });
  return compiled({
    ...scope('resource', 'defaults'),
    tiers: {
      pro: scope('tier_resource', 'tier_defaults'),
      free: { defaults: rule, resources: { search: rule } },
    },
    clients: {
      [KEY]: {
        ...(tierInClient ? { tier: 'pro' } : {}),
        ...(has('client') ? { blocked: true } : {}),
        ...scope('client_resource', 'client_defaults'),
      },
      'user:43': { blocked: true, defaults: rule, resources: { search: rule } },
    },
  });
}

/** The naive reference: the first level, most specific first, that holds a rule. */
function expectedId(levels: ReadonlySet<Level>): string | null {
  const first = LEVELS.find((level) => levels.has(level));
  return first === undefined ? null : ID[first];
}

const pairs = LEVELS.flatMap((winner, i) => LEVELS.slice(i + 1).map((loser) => [winner, loser] as const));

describe('precedence', () => {
  it.each(pairs)('%s wins over %s', (winner, loser) => {
    const levels = new Set<Level>([winner, loser]);
    expect(configWith(levels, true).resolve(KEY, 'search', 'free')?.id).toBe(ID[winner]);
    expect(configWith(levels, false).resolve(KEY, 'search', 'pro')?.id).toBe(ID[winner]);
  });

  it('every subset of levels resolves to its most specific level (all 128, both tier sources)', () => {
    for (let mask = 0; mask < 1 << LEVELS.length; mask += 1) {
      const levels = new Set(LEVELS.filter((_, bit) => (mask & (1 << bit)) !== 0));
      const want = expectedId(levels);
      expect(configWith(levels, true).resolve(KEY, 'search', 'free')?.id ?? null, `mask ${mask}`).toBe(want);
      expect(configWith(levels, false).resolve(KEY, 'search', 'pro')?.id ?? null, `mask ${mask}`).toBe(want);
    }
  });

  it('takes the rule whole from the deciding level, never field by field', () => {
    const config = compiled({
      defaults: { algorithm: 'sliding_window', limit: 100, period: '1m', shadow: true, consistency: 'fast' },
      resources: { search: { limit: 10, period: '1s' } },
    });
    expect(config.resolve('k', 'search', undefined)).toMatchObject({
      id: 'resources.search',
      algorithm: 'gcra',
      limit: 10,
      periodMs: 1000,
      burst: 10,
      shadow: false,
      consistency: 'strict',
    });
  });
});

describe('tier source', () => {
  const config = compiled(fixture('config-example.yaml'));

  it('uses the tier of the client entry and ignores the request tier', () => {
    const config2 = compiled({
      defaults: rule,
      tiers: { pro: { defaults: rule }, free: { defaults: rule } },
      clients: { 'user:1': { tier: 'pro' } },
    });
    expect(config2.resolve('user:1', 'search', 'free')?.id).toBe('tiers.pro.defaults');
    expect(config2.resolve('user:1', 'search', undefined)?.id).toBe('tiers.pro.defaults');
  });

  it('uses the request tier for a client entry without a tier', () => {
    const config2 = compiled({ tiers: { free: { defaults: rule } }, clients: { 'user:1': { resources: { upload: rule } } } });
    expect(config2.resolve('user:1', 'search', 'free')?.id).toBe('tiers.free.defaults');
  });

  it('uses the request tier for a client without an entry', () => {
    expect(config.resolve('user:7', 'search', 'free')?.id).toBe('tiers.free.resources.search');
    expect(config.resolve('user:7', 'upload', 'free')?.id).toBe('tiers.free.defaults');
    expect(config.resolve('user:7', 'search', 'pro')?.id).toBe('tiers.pro.resources.search');
    expect(config.resolve('user:7', 'upload', 'pro')?.id).toBe('defaults');
  });

  it('treats a request tier that is not configured as no tier', () => {
    expect(config.resolve('user:7', 'search', 'gold')?.id).toBe('resources.search');
    expect(config.resolve('user:7', 'upload', 'gold')?.id).toBe('defaults');
    expect(config.resolve('user:7', 'search', '')?.id).toBe('resources.search');
  });

  it('uses no tier when neither the entry nor the request names one', () => {
    expect(config.resolve('user:7', 'search', undefined)?.id).toBe('resources.search');
  });
});

describe('blocked and unlimited clients', () => {
  const config = compiled({
    resources: { search: rule },
    clients: {
      'ip:203.0.113.9': { blocked: true, resources: { search: { unlimited: true } } },
      'svc:backup': { unlimited: true, tier: 'free' },
      'user:9': { resources: { search: { blocked: true } } },
    },
    tiers: { free: { defaults: rule } },
  });

  it('a blocked client is blocked for every resource, known or not, before its own rules', () => {
    for (const resource of ['search', 'never-configured']) {
      const got = config.resolve('ip:203.0.113.9', resource, 'free');
      expect(got).toMatchObject({ id: 'clients["ip:203.0.113.9"]', blocked: true, unlimited: false });
    }
  });

  it('an unlimited client is unlimited for every resource, before its tier', () => {
    expect(config.resolve('svc:backup', 'search', undefined)).toMatchObject({ id: 'clients["svc:backup"]', unlimited: true, blocked: false });
    expect(config.resolve('svc:backup', 'anything', undefined)?.unlimited).toBe(true);
  });

  it('a client blocked for one resource only keeps the others', () => {
    expect(config.resolve('user:9', 'search', undefined)).toMatchObject({ id: 'clients["user:9"].resources.search', blocked: true });
    expect(config.resolve('user:9', 'upload', 'free')?.id).toBe('tiers.free.defaults');
  });

  it('returns null for a resource no level knows', () => {
    expect(config.resolve('user:7', 'upload', undefined)).toBeNull();
  });
});

describe('resolve cost', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** Map.get calls made by one resolve(); fails on any iteration over a Map. */
  function lookupsOf(config: CompiledConfig, key: string, resource: string, tier: string | undefined): number {
    const proto = Map.prototype;
    const get = vi.spyOn(proto, 'get');
    const scans = [
      vi.spyOn(proto, 'forEach'),
      vi.spyOn(proto, 'entries'),
      vi.spyOn(proto, 'keys'),
      vi.spyOn(proto, 'values'),
      vi.spyOn(proto, Symbol.iterator),
    ];
    config.resolve(key, resource, tier);
    const lookups = get.mock.calls.length;
    const scanned = scans.reduce((n, spy) => n + spy.mock.calls.length, 0);
    vi.restoreAllMocks();
    expect(scanned).toBe(0);
    return lookups;
  }

  function sized(count: number): CompiledConfig {
    const resources: Record<string, unknown> = {};
    const clients: Record<string, unknown> = {};
    for (let i = 0; i < count; i += 1) {
      resources[`r${i}`] = rule;
      clients[`user:${i}`] = { resources: { [`r${i}`]: rule } };
    }
    return compiled({ resources, clients, tiers: { pro: { resources: { r0: rule } } } });
  }

  it('does the same few Map look-ups with 10,000 resources and clients as with 1, and never iterates', () => {
    const small = sized(1);
    const large = sized(10_000);
    const cases: [string, string, string | undefined][] = [
      ['user:0', 'missing', 'pro'], // the worst case: client hit, tier from the request, every level missed
      ['stranger', 'missing', 'pro'], // client miss, tier from request, every level missed
      ['stranger', 'missing', undefined],
      ['stranger', 'r0', undefined],
    ];
    for (const [key, resource, tier] of cases) {
      const inSmall = lookupsOf(small, key, resource, tier);
      const inLarge = lookupsOf(large, key, resource, tier);
      expect(inLarge).toBe(inSmall);
      expect(inLarge).toBeGreaterThan(0);
      expect(inLarge).toBeLessThanOrEqual(5);
    }
    expect(lookupsOf(large, 'user:0', 'missing', 'pro')).toBe(5);
  });
});
