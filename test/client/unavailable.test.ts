// Proves the SDK without a reachable cluster: each degradation policy answers as specified and within the deadline, options are validated, and the deny cache expires exactly.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { freePorts } from '../../chaos/harness/local-cluster.js';
import { ClientError, createClient, DenyCache, type Client } from '../../client/index.js';

async function deadSeeds(): Promise<string[]> {
  return (await freePorts(3)).map((p) => `127.0.0.1:${p}`);
}

async function timed<T>(p: Promise<T>): Promise<{ value: T | undefined; error: unknown; ms: number }> {
  const t0 = performance.now();
  try {
    const value = await p;
    return { value, error: undefined, ms: performance.now() - t0 };
  } catch (error) {
    return { value: undefined, error, ms: performance.now() - t0 };
  }
}

describe('client with every seed unreachable', () => {
  const TIMEOUT_MS = 300;
  // Generous slack for a loaded 2-core machine; the point is "no hang", not precision.
  const SLACK_MS = 400;

  it('failClosed denies, within the deadline, marked failClosed', async () => {
    const client = createClient({ seeds: await deadSeeds(), timeoutMs: TIMEOUT_MS, onUnavailable: 'failClosed' });
    const r = await timed(Promise.all([client.check('k1'), client.check('k2', { resource: 'search' })]));
    expect(r.value?.map((x) => [x.allowed, x.source])).toEqual([
      [false, 'failClosed'],
      [false, 'failClosed'],
    ]);
    expect(r.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    expect(client.stats.degraded).toBe(2);
    await client.close();
  });

  it('counts degraded answers and checks by source in an injected prom-client registry', async () => {
    const registry = new Registry();
    const client = createClient({ seeds: await deadSeeds(), timeoutMs: 100, onUnavailable: 'failOpen', metrics: registry });
    await Promise.all([client.check('a'), client.check('b')]);
    const text = await registry.metrics();
    expect(text).toMatch(/rl_client_degraded_total\{policy="failOpen"\} 2/);
    expect(text).toMatch(/rl_client_checks_total\{decision="allowed",source="failOpen"\} 2/);
    expect(text).toMatch(/rl_client_check_latency_seconds_count 2/);
    await client.close();
  });

  it('failOpen allows, marked failOpen', async () => {
    const client = createClient({ seeds: await deadSeeds(), timeoutMs: TIMEOUT_MS, onUnavailable: 'failOpen' });
    const r = await timed(client.check('k1'));
    expect(r.value).toMatchObject({ allowed: true, source: 'failOpen' });
    expect(r.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    await client.close();
  });

  it('local admits share x limit per key, then denies with a retry hint', async () => {
    const client = createClient({
      seeds: await deadSeeds(),
      timeoutMs: 100,
      onUnavailable: { default: 'failClosed', resources: { search: { local: { limit: 20, periodMs: 60_000, share: 0.25 } } } },
    });
    const rs = await Promise.all(Array.from({ length: 8 }, () => client.check('k1', { resource: 'search' })));
    expect(rs.every((r) => r.source === 'local')).toBe(true);
    expect(rs.filter((r) => r.allowed).length).toBe(5);
    expect(rs.find((r) => !r.allowed)?.retryAfterMs).toBeGreaterThan(0);
    expect((await client.check('k1', { resource: 'other' })).source).toBe('failClosed');
    await client.close();
  });

  it('no policy rejects with RL_ERR_TIMEOUT (reason deadline) within the deadline', async () => {
    const client = createClient({ seeds: await deadSeeds(), timeoutMs: TIMEOUT_MS });
    const r = await timed(client.check('k1'));
    expect(r.error).toBeInstanceOf(ClientError);
    expect(r.error).toMatchObject({ code: 'RL_ERR_TIMEOUT', reason: 'deadline' });
    expect(r.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    await client.close();
  });

  it('waitFor rejects at once on a failClosed denial whose wait passes the deadline', async () => {
    const client = createClient({ seeds: await deadSeeds(), timeoutMs: 100, onUnavailable: 'failClosed' });
    const r = await timed(client.waitFor('k1', { deadlineMs: 500 }));
    expect(r.error).toMatchObject({ code: 'RL_ERR_TIMEOUT', reason: 'waitDeadline' });
    expect(r.ms).toBeLessThan(500 + SLACK_MS);
    await client.close();
  });

  it('close() settles open checks with reason closed and later checks reject', async () => {
    const client: Client = createClient({ seeds: await deadSeeds(), timeoutMs: 5000 });
    const p = timed(client.check('k1'));
    await client.close();
    const r = await p;
    expect(r.error).toMatchObject({ code: 'RL_ERR_UNAVAILABLE', reason: 'closed' });
    await expect(client.check('k2')).rejects.toMatchObject({ reason: 'closed' });
  });
});

describe('client options and input', () => {
  it('rejects unknown options by name, and missing timeoutMs', () => {
    expect(() => createClient({ seeds: ['127.0.0.1:1'], timeoutMs: 10, retries: 3 } as never)).toThrow(/unknown option 'retries'/);
    expect(() => createClient({ seeds: ['127.0.0.1:1'] } as never)).toThrow(/'timeoutMs' is required/);
    expect(() => createClient({ seeds: ['nohost'], timeoutMs: 10 })).toThrow(/not "host:port"/);
    expect(() => createClient({ seeds: ['127.0.0.1:1'], timeoutMs: 10, onUnavailable: 'maybe' as never })).toThrow(/onUnavailable/);
  });

  it('rejects a malformed check with RL_ERR_BAD_REQUEST, reason invalid', async () => {
    const client = createClient({ seeds: ['127.0.0.1:1'], timeoutMs: 50 });
    await expect(client.check('')).rejects.toMatchObject({ code: 'RL_ERR_BAD_REQUEST', reason: 'invalid' });
    await expect(client.check('k', { cost: -1 })).rejects.toMatchObject({ code: 'RL_ERR_BAD_REQUEST' });
    await expect(client.check('k', { colour: 'red' } as never)).rejects.toThrow(/unknown check option 'colour'/);
    await client.close();
  });
});

describe('DenyCache', () => {
  const denied = { allowed: false, limit: 5, remaining: 0, resetMs: 5000, retryAfterMs: 700, rule: 'resources.small' };

  it('answers until exactly now + retryAfterMs, for costs at least the denied one', () => {
    const c = new DenyCache(10);
    const k = DenyCache.keyOf('u', ['small'], undefined);
    c.remember(k, 2, denied, 1000);
    expect(c.lookup(k, 2, 1000)).toMatchObject({ allowed: false, retryAfterMs: 700 });
    expect(c.lookup(k, 1, 1000)).toBeUndefined();
    expect(c.lookup(k, 3, 1699)).toMatchObject({ retryAfterMs: 1 });
    expect(c.lookup(k, 2, 1700)).toBeUndefined();
  });

  it('keeps at most entriesMax entries, evicting the oldest', () => {
    const c = new DenyCache(2);
    for (const key of ['a', 'b', 'c']) c.remember(key, 1, denied, 0);
    expect(c.size).toBe(2);
    expect(c.lookup('a', 1, 1)).toBeUndefined();
    expect(c.lookup('c', 1, 1)).toBeDefined();
  });
});
