// Proves explain() lists the chain resolve() walks, says where the tier came from and which level decided, and always agrees with resolve().
import { describe, expect, it } from 'vitest';
import { formatExplanation } from '../../src/config/index.js';
import { compiled, fixture } from './fixtures/config-helpers.js';

const config = compiled(fixture('config-example.yaml'));

describe('explain', () => {
  it('lists every level with its path, whether it exists, and its rule', () => {
    const e = config.explain('user:42', 'search', 'free');
    expect(e.tier).toBe('pro');
    expect(e.tierSource).toBe('client');
    expect(e.tierNote).toBe('tier "pro" from clients["user:42"].tier (request tier "free" ignored)');
    expect(e.levels.map((l) => [l.level, l.path, l.exists])).toEqual([
      ['client', 'clients["user:42"]', false],
      ['client_resource', 'clients["user:42"].resources.search', true],
      ['client_defaults', 'clients["user:42"].defaults', false],
      ['tier_resource', 'tiers.pro.resources.search', true],
      ['tier_defaults', 'tiers.pro.defaults', false],
      ['resource', 'resources.search', true],
      ['defaults', 'defaults', true],
    ]);
    for (const level of e.levels) expect(level.rule?.id ?? null).toBe(level.exists ? level.path : null);
    expect(e.decidedBy).toBe('clients["user:42"].resources.search');
    expect(e.rule?.limit).toBe(500);
    expect(e.verdict).toBe('decided by clients["user:42"].resources.search');
  });

  it('takes the tier from the request when the client names none', () => {
    const e = config.explain('user:7', 'search', 'free');
    expect([e.tier, e.tierSource, e.tierNote]).toEqual(['free', 'request', 'tier "free" from the request']);
    expect(e.decidedBy).toBe('tiers.free.resources.search');
  });

  it('says so when the request tier is not configured, and skips tier levels', () => {
    const e = config.explain('user:7', 'search', 'gold');
    expect([e.tier, e.tierSource, e.tierNote]).toEqual([null, 'request_unknown', 'request tier "gold" is not configured; no tier']);
    expect(e.levels.some((l) => l.path.startsWith('tiers.'))).toBe(false);
    expect(e.decidedBy).toBe('resources.search');
  });

  it('says no tier when none is given', () => {
    const e = config.explain('user:7', 'search');
    expect([e.tier, e.tierSource, e.tierNote]).toEqual([null, 'none', 'no tier (none in the client config or the request)']);
  });

  it('shows a blocked client deciding at the client level', () => {
    const e = config.explain('ip:203.0.113.9', 'search');
    expect(e.levels[0]).toMatchObject({ level: 'client', path: 'clients["ip:203.0.113.9"]', exists: true });
    expect(e.decidedBy).toBe('clients["ip:203.0.113.9"]');
    expect(e.rule?.blocked).toBe(true);
  });

  it('says the resource is unknown when no level decides', () => {
    const bare = compiled({ resources: { search: { limit: 1, period: '1s' } } });
    const e = bare.explain('user:7', 'upload');
    expect(e.levels.every((l) => !l.exists)).toBe(true);
    expect(e.decidedBy).toBeNull();
    expect(e.rule).toBeNull();
    expect(e.verdict).toBe('no level has a rule: resource "upload" is unknown');
  });

  it('agrees with resolve() for every key, resource and tier combination', () => {
    const keys = ['user:42', 'ip:203.0.113.9', 'svc:backup', 'user:7', ''];
    const resources = ['search', 'upload', ''];
    const tiers = [undefined, 'free', 'pro', 'gold', ''];
    let checked = 0;
    for (const key of keys) {
      for (const resource of resources) {
        for (const tier of tiers) {
          expect(config.explain(key, resource, tier).rule).toBe(config.resolve(key, resource, tier));
          checked += 1;
        }
      }
    }
    expect(checked).toBe(75);
  });
});

describe('formatExplanation', () => {
  it('prints one line per level and marks the deciding one', () => {
    expect(formatExplanation(config.explain('user:42', 'search', 'free'))).toBe(
      [
        'key "user:42", resource "search"',
        'tier "pro" from clients["user:42"].tier (request tier "free" ignored)',
        '  -  clients["user:42"]',
        '  ✓  clients["user:42"].resources.search: gcra 500 per 1000ms, burst 500  <- decides',
        '  -  clients["user:42"].defaults',
        '  ✓  tiers.pro.resources.search: gcra 50 per 1000ms, burst 100',
        '  -  tiers.pro.defaults',
        '  ✓  resources.search: gcra 10 per 1000ms, burst 10',
        '  ✓  defaults: gcra 100 per 1000ms, burst 200',
        'decided by clients["user:42"].resources.search',
      ].join('\n'),
    );
  });

  it('prints the unknown-resource verdict', () => {
    const bare = compiled({ tiers: { free: { resources: { search: { limit: 1, period: '1s', shadow: true } } } } });
    expect(formatExplanation(bare.explain('ip:1', 'upload', 'free'))).toBe(
      [
        'key "ip:1", resource "upload"',
        'tier "free" from the request',
        '  -  clients["ip:1"]',
        '  -  clients["ip:1"].resources.upload',
        '  -  clients["ip:1"].defaults',
        '  -  tiers.free.resources.upload',
        '  -  tiers.free.defaults',
        '  -  resources.upload',
        '  -  defaults',
        'no level has a rule: resource "upload" is unknown',
      ].join('\n'),
    );
  });
});
