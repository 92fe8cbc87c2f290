// Proves wire validation of a check names the bad field and value for each kind of bad
// input, applies the defaults, and that rate-limit headers follow the IETF draft syntax.
import { describe, expect, it } from 'vitest';
import { rateLimitHeaders, validateCheck } from '../../src/protocol/check.js';

describe('validateCheck', () => {
  it('applies defaults: resource "default", cost 1', () => {
    expect(validateCheck({ key: 'user:42' })).toEqual({
      ok: true,
      value: { key: 'user:42', resources: ['default'], cost: 1, tier: undefined, idempotencyId: undefined },
    });
  });

  it('accepts a multi-resource check', () => {
    const v = validateCheck({ key: 'k', resources: ['search', 'global'], cost: 2, tier: 'pro', idempotencyId: 'c1:9' });
    expect(v.ok && v.value.resources).toEqual(['search', 'global']);
  });

  const bad: [string, unknown, RegExp][] = [
    ['not an object', [1], /check must be a JSON object/],
    ['missing key', { resource: 'x' }, /check.key must be a non-empty string \(got undefined\)/],
    ['empty key', { key: '' }, /check.key must be a non-empty string/],
    ['key over 256 bytes', { key: 'é'.repeat(129) }, /check.key is 258 bytes; the most is 256/],
    ['negative cost', { key: 'k', cost: -1 }, /check.cost must be an integer from 0 to 1000000000 \(got -1\)/],
    ['fractional cost', { key: 'k', cost: 1.5 }, /check.cost must be an integer/],
    ['string cost', { key: 'k', cost: '1' }, /check.cost must be an integer/],
    ['unknown field', { key: 'k', costs: 1 }, /check.costs is not a known field/],
    ['bad resource name', { key: 'k', resource: 'a b' }, /check.resource "a b" is not a valid name/],
    ['both resource forms', { key: 'k', resource: 'a', resources: ['b'] }, /both resource and resources/],
    ['repeated resources', { key: 'k', resources: ['a', 'a'] }, /repeats a name/],
    ['too many resources', { key: 'k', resources: Array.from({ length: 17 }, (_, i) => `r${i}`) }, /array of 1 to 16/],
    ['bad tier', { key: 'k', tier: 7 }, /check.tier 7 is not a valid name/],
    ['long idempotency id', { key: 'k', idempotencyId: 'x'.repeat(129) }, /idempotencyId must be a string of 1 to 128 bytes/],
  ];
  for (const [what, body, message] of bad) {
    it(`rejects ${what}`, () => {
      const v = validateCheck(body);
      expect(v.ok).toBe(false);
      expect(v.ok ? '' : v.message).toMatch(message);
    });
  }

  it('names the check as told: a path string, or a request id as `check <id>`', () => {
    const byPath = validateCheck({ key: '' }, 'checks[3]');
    expect(byPath.ok ? '' : byPath.message).toMatch(/^checks\[3\]\.key must be a non-empty string/);
    const byId = validateCheck(7, 12);
    expect(byId.ok ? '' : byId.message).toBe('check 12 must be a JSON object (got 7)');
  });
});

describe('rateLimitHeaders', () => {
  it('writes RateLimit-Policy, RateLimit and Retry-After for a denial', () => {
    expect(
      rateLimitHeaders({ allowed: false, limit: 10, remaining: 0, resetMs: 900, retryAfterMs: 1100, rule: 'tiers.pro.resources.search' }, 1000),
    ).toEqual({
      'RateLimit-Policy': '"tiers.pro.resources.search";q=10;w=1',
      RateLimit: '"tiers.pro.resources.search";r=0;t=1',
      'Retry-After': '2',
    });
  });

  it('omits Retry-After when allowed or when no wait helps, and RateLimit when unlimited', () => {
    expect(rateLimitHeaders({ allowed: true, limit: 5, remaining: 4, resetMs: 200, retryAfterMs: 0, rule: 'defaults' }, 1000)).not.toHaveProperty('Retry-After');
    expect(rateLimitHeaders({ allowed: false, limit: 0, remaining: 0, resetMs: 0, retryAfterMs: -1, rule: 'clients["ip:1"]' }, undefined)).toEqual({
      'RateLimit-Policy': '"clients[\\"ip:1\\"]";q=0',
      RateLimit: '"clients[\\"ip:1\\"]";r=0;t=0',
    });
    expect(rateLimitHeaders({ allowed: true, limit: -1, remaining: -1, resetMs: 0, retryAfterMs: 0, rule: 'x' }, undefined)).toEqual({});
  });
});
