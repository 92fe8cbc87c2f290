// Proves the in-process Limiter: resolution errors, blocked/unlimited/shadow answers,
// atomic multi-resource checks, a clock that never runs backwards, and state expiry.
import { describe, expect, it } from 'vitest';
import { Limiter } from '../../src/engine/limiter.js';
import { RETRY_NEVER_MS, UNLIMITED, type CompiledRule, type RuleResolver } from '../../src/engine/types.js';
import { RateLimiterError } from '../../src/protocol/errors.js';
import { ruleOf } from '../support/rules.js';

function resolverOf(rules: Record<string, CompiledRule>, version = 1): RuleResolver {
  return { version, resolve: (_key, resource) => rules[resource] ?? null };
}

const T0 = 1_700_000_000_000;

describe('Limiter', () => {
  it('check throws RL_ERR_UNKNOWN_RESOURCE when no rule matches', () => {
    const limiter = new Limiter({ resolver: resolverOf({}) });
    try {
      limiter.check('k', 'nope', 1, undefined, T0);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(RateLimiterError);
      expect((err as RateLimiterError).code).toBe('RL_ERR_UNKNOWN_RESOURCE');
    }
  });

  it('rejects unknown options by name', () => {
    expect(() => new Limiter({ resolver: resolverOf({}), slotMax: 3 } as never)).toThrow(/Unknown Limiter option 'slotMax'/);
  });

  it('blocked rules deny with RETRY_NEVER and unlimited rules allow, neither keeping state', () => {
    const limiter = new Limiter({
      resolver: resolverOf({
        b: ruleOf({ algorithm: 'gcra', limit: 1, blocked: true, id: 'clients["ip:1"]' }),
        u: ruleOf({ algorithm: 'gcra', limit: 1, unlimited: true }),
      }),
    });
    expect(limiter.check('k', 'b', 1, undefined, T0)).toMatchObject({ allowed: false, retryAfterMs: RETRY_NEVER_MS, rule: 'clients["ip:1"]' });
    for (let i = 0; i < 5; i++) {
      expect(limiter.check('k', 'u', 1, undefined, T0)).toMatchObject({ allowed: true, limit: UNLIMITED, remaining: UNLIMITED });
    }
    expect(limiter.stateCount).toBe(0);
  });

  it('shadow rules count as usual but always answer allowed, flagging what they would deny', () => {
    const limiter = new Limiter({ resolver: resolverOf({ s: ruleOf({ algorithm: 'gcra', limit: 2, periodMs: 1000, shadow: true }) }) });
    const answers = [1, 2, 3].map(() => limiter.check('k', 's', 1, undefined, T0));
    expect(answers.map((a) => a.allowed)).toEqual([true, true, true]);
    expect(answers.map((a) => a.shadowDenied)).toEqual([false, false, true]);
    expect(answers.map((a) => a.remaining)).toEqual([1, 0, 0]);
  });

  it('a clock going backwards counts as no time passed', () => {
    const limiter = new Limiter({ resolver: resolverOf({ r: ruleOf({ algorithm: 'gcra', limit: 1, periodMs: 1000 }) }) });
    expect(limiter.check('k', 'r', 1, undefined, T0 + 5_000).allowed).toBe(true);
    // Stamped 10 s earlier: decided at T0 + 5000, where the bucket is empty.
    const back = limiter.check('k', 'r', 1, undefined, T0 - 5_000);
    expect(back).toMatchObject({ allowed: false, retryAfterMs: 1000 });
    expect(limiter.clockMs).toBe(T0 + 5_000);
  });

  it('checkMulti counts against every resource only when all allow', () => {
    const limiter = new Limiter({
      resolver: resolverOf({
        search: ruleOf({ algorithm: 'gcra', limit: 5, periodMs: 1000, id: 'resources.search' }),
        global: ruleOf({ algorithm: 'fixed_window', limit: 2, periodMs: 1000, id: 'resources.global' }),
      }),
    });
    const t = T0 - (T0 % 1000);
    expect(limiter.checkMulti('k', ['search', 'global'], 1, undefined, t).allowed).toBe(true);
    expect(limiter.checkMulti('k', ['search', 'global'], 1, undefined, t).allowed).toBe(true);
    const denied = limiter.checkMulti('k', ['search', 'global'], 1, undefined, t);
    expect(denied).toMatchObject({ allowed: false, rule: 'resources.global', retryAfterMs: 1000 });
    // The denial counted nothing against search: 3 of its 5 remain.
    expect(limiter.check('k', 'search', 0, undefined, t).remaining).toBe(3);
    expect(denied.results.map((r) => r.allowed)).toEqual([true, false]);
  });

  it('checkMulti answers the largest retryAfterMs among denying rules', () => {
    const limiter = new Limiter({
      resolver: resolverOf({
        a: ruleOf({ algorithm: 'gcra', limit: 1, periodMs: 100 }),
        b: ruleOf({ algorithm: 'gcra', limit: 1, periodMs: 700 }),
      }),
    });
    limiter.checkMulti('k', ['a', 'b'], 1, undefined, T0);
    expect(limiter.checkMulti('k', ['a', 'b'], 1, undefined, T0).retryAfterMs).toBe(700);
    expect(limiter.checkMulti('k', ['a', 'b'], 1, undefined, T0 + 699).allowed).toBe(false);
    expect(limiter.checkMulti('k', ['a', 'b'], 1, undefined, T0 + 700).allowed).toBe(true);
  });

  it('state of another shape is ignored after a config change, kept when the shape is equal', () => {
    const limiter = new Limiter({ resolver: resolverOf({ r: ruleOf({ algorithm: 'gcra', limit: 1, periodMs: 1000 }) }) });
    limiter.check('k', 'r', 1, undefined, T0);
    limiter.setResolver(resolverOf({ r: ruleOf({ algorithm: 'gcra', limit: 2, periodMs: 2000 }) }, 2));
    // Same shape (gcra): the TAT carries over, so only one more unit fits.
    expect(limiter.check('k', 'r', 2, undefined, T0).allowed).toBe(false);
    limiter.setResolver(resolverOf({ r: ruleOf({ algorithm: 'fixed_window', limit: 2, periodMs: 1000 }) }, 3));
    expect(limiter.check('k', 'r', 2, undefined, T0).allowed).toBe(true);
  });

  it('sweep drops expired state in bounded steps and keeps live state', () => {
    const limiter = new Limiter({ resolver: resolverOf({ r: ruleOf({ algorithm: 'gcra', limit: 10, periodMs: 1000 }) }) });
    for (let i = 0; i < 100; i++) limiter.check(`k${i}`, 'r', 1, undefined, T0 + (i < 50 ? 0 : 10_000));
    expect(limiter.stateCount).toBe(100);
    let dropped = 0;
    for (let pass = 0; pass < 20; pass++) dropped += limiter.sweep(T0 + 10_000, 10);
    expect(dropped).toBe(50);
    expect(limiter.stateCount).toBe(50);
  });

  it('concurrency leases are released by id', () => {
    const limiter = new Limiter({ resolver: resolverOf({ c: ruleOf({ algorithm: 'concurrency', limit: 1, leaseMs: 60_000 }) }) });
    const a = limiter.check('k', 'c', 1, undefined, T0);
    expect(a.leaseId).not.toBeNull();
    expect(limiter.check('k', 'c', 1, undefined, T0 + 1).allowed).toBe(false);
    expect(limiter.release('k', 'c', a.leaseId ?? '', T0 + 2)).toBe(true);
    expect(limiter.release('k', 'c', a.leaseId ?? '', T0 + 2)).toBe(false);
    expect(limiter.check('k', 'c', 1, undefined, T0 + 3).allowed).toBe(true);
  });

  it('the store refuses states beyond slotsMax with RL_ERR_STATE_FULL', () => {
    const limiter = new Limiter({ resolver: resolverOf({ r: ruleOf({ algorithm: 'gcra', limit: 1 }) }), slotsMax: 2 });
    limiter.check('a', 'r', 1, undefined, T0);
    limiter.check('b', 'r', 1, undefined, T0);
    expect(() => limiter.check('c', 'r', 1, undefined, T0)).toThrow(expect.objectContaining({ code: 'RL_ERR_STATE_FULL' }));
  });
});
