// Proves the SDK against a real 3-process cluster: checks go straight to leaders (>=99% unforwarded, from node metrics), the deny cache hits, expires exactly and is invalidated by a config version change, the http middleware answers 429 with headers, retries are never double-counted, and a killed leader costs no over-admission and no hung check.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, waitUntil, type ClusterNode } from '../../chaos/harness/local-cluster.js';
import { createClient, httpRateLimit, realDeps, type CheckResult } from '../../client/index.js';
import { LIMITS } from '../e2e/limits.js';

const cluster = new LocalCluster({ nodes: 3, limitsYaml: LIMITS });
const seeds = (): string[] => cluster.nodes.map((n) => `127.0.0.1:${n.apiPort}`);

async function forwardedTotal(): Promise<number> {
  let sum = 0;
  for (const n of cluster.nodes) {
    if (n.process === null) continue;
    const text = await (await fetch(cluster.url(n, '/metrics'), { signal: AbortSignal.timeout(2000) })).text();
    const m = /^rl_checks_forwarded_total (\d+(?:\.\d+)?)/m.exec(text);
    sum += Number(m?.[1] ?? 0);
  }
  return sum;
}

/** Every group has a leader and it is the group's first replica (the balancer's target), as every node sees it. */
async function leadersSettled(): Promise<boolean> {
  try {
    const views = await Promise.all(cluster.nodes.filter((n) => n.process !== null).map((n) => fetch(cluster.url(n, '/v1/cluster')).then((r) => r.json() as Promise<{ groups: { leader: string | null; replicas: string[] }[] }>)));
    return views.every((v) => v.groups.every((g) => g.leader !== null && g.leader === g.replicas[0]));
  } catch {
    return false;
  }
}

beforeAll(async () => {
  await cluster.start();
  await waitUntil('leaders on their preferred replicas', 30_000, leadersSettled);
}, 60_000);

afterAll(async () => {
  await cluster.stop();
}, 30_000);

describe('SDK against a local cluster', () => {
  it('sends at least 99% of checks straight to the leader after warm-up', async () => {
    const client = createClient({ seeds: seeds(), timeoutMs: 3000, pollIntervalMs: 200 });
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => client.check(`warm:${i}`, { resource: 'gcra' })));
      const before = await forwardedTotal();
      const N = 2000;
      let allowed = 0;
      for (let round = 0; round < 10; round++) {
        const rs = await Promise.all(Array.from({ length: N / 10 }, (_, i) => client.check(`route:${round}:${i}`, { resource: 'gcra' })));
        allowed += rs.filter((r) => r.allowed && r.source === 'cluster').length;
      }
      const forwarded = (await forwardedTotal()) - before;
      process.stdout.write(`routing: ${N} checks, ${forwarded} forwarded by nodes, ${client.stats.retries} retries\n`);
      expect(allowed).toBe(N);
      expect(forwarded / N).toBeLessThanOrEqual(0.01);
    } finally {
      await client.close();
    }
  });

  it('deny cache: hits until exactly retryAfterMs, then asks the cluster again (fake clock)', async () => {
    let nowMs = 1_000_000;
    const client = createClient({ seeds: seeds(), timeoutMs: 3000 }, { clock: { nowMs: () => nowMs } });
    try {
      const key = 'deny:1';
      for (let i = 0; i < 5; i++) expect(await client.check(key, { resource: 'small' })).toMatchObject({ allowed: true, source: 'cluster' });
      const denied = await client.check(key, { resource: 'small' });
      expect(denied).toMatchObject({ allowed: false, source: 'cluster' });
      expect(denied.retryAfterMs).toBeGreaterThan(0);
      const sent = client.stats.sent;
      const hit = await client.check(key, { resource: 'small' });
      expect(hit).toMatchObject({ allowed: false, source: 'denyCache', retryAfterMs: denied.retryAfterMs });
      nowMs += denied.retryAfterMs - 1;
      expect(await client.check(key, { resource: 'small' })).toMatchObject({ source: 'denyCache', retryAfterMs: 1 });
      expect(await client.check(key, { resource: 'small', cost: 2 })).toMatchObject({ source: 'denyCache' });
      expect(client.stats.sent).toBe(sent);
      nowMs += 1;
      // At exactly now + retryAfterMs the cache no longer answers: the cluster does (still denied: its clock did not move).
      expect(await client.check(key, { resource: 'small' })).toMatchObject({ allowed: false, source: 'cluster' });
      expect(client.stats.sent).toBe(sent + 1);
      expect(client.stats.cacheHits).toBe(3);
    } finally {
      await client.close();
    }
  });

  it('deny cache: a changed config version in /v1/cluster clears it', async () => {
    let bump = 0;
    const real = realDeps().fetch;
    const fetchBumped: typeof fetch = async (input, init) => {
      const r = await real(input, init);
      if (!String(input).endsWith('/v1/cluster')) return r;
      const view = (await r.json()) as Record<string, unknown>;
      return new Response(JSON.stringify({ ...view, configVersion: Number(view['configVersion']) + bump }), { status: r.status });
    };
    const client = createClient({ seeds: seeds(), timeoutMs: 3000, pollIntervalMs: 100 }, { fetch: fetchBumped });
    try {
      const key = 'deny:2';
      for (let i = 0; i < 6; i++) await client.check(key, { resource: 'small' });
      expect(await client.check(key, { resource: 'small' })).toMatchObject({ source: 'denyCache' });
      bump = 1;
      await waitUntil('the client sees the new config version', 10_000, async () => (await client.check(key, { resource: 'small' })).source === 'cluster');
    } finally {
      await client.close();
    }
  });

  it('a retry with the same idempotency id after a dropped reply is not double-counted', async () => {
    const client = createClient({ seeds: seeds(), timeoutMs: 3000, clientId: 'idem' });
    try {
      const key = 'idem:1';
      const first = await client.check(key, { resource: 'small' });
      expect(first).toMatchObject({ allowed: true, remaining: 4 });
      // The SDK numbered that check idem:0; the same id again (as a retry after a lost reply would send it) gets the first answer.
      const leader = await cluster.leaderOfKey(cluster.nodes[0] as ClusterNode, key);
      const again = await cluster.check(leader as ClusterNode, { key, resource: 'small', idempotencyId: 'idem:0' });
      expect(again.body).toMatchObject({ allowed: true, remaining: 4 });
      expect(await client.check(key, { resource: 'small' })).toMatchObject({ allowed: true, remaining: 3 });
    } finally {
      await client.close();
    }
  });

  it('http middleware: 200 with RateLimit headers, then 429 with Retry-After', async () => {
    const client = createClient({ seeds: seeds(), timeoutMs: 3000 });
    const limit = httpRateLimit({ client, keyOf: (req) => String(req.headers['x-api-key'] ?? 'anon'), checkOf: () => ({ resource: 'small' }), windowMs: 3_600_000 });
    const server: Server = createServer((req, res) => {
      void limit(req, res).then((go) => {
        if (go) res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    const url = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}/`;
    try {
      const statuses: number[] = [];
      let last: Response | null = null;
      for (let i = 0; i < 6; i++) {
        last = await fetch(url, { headers: { 'x-api-key': 'mw:1' } });
        statuses.push(last.status);
        if (i === 0) {
          expect(last.headers.get('ratelimit-policy')).toBe('"resources.small";q=5;w=3600');
          expect(last.headers.get('ratelimit')).toMatch(/^"resources\.small";r=4;t=\d+$/);
          expect(await last.text()).toBe('ok');
        }
      }
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
      expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(last?.headers.get('ratelimit')).toMatch(/;r=0;/);
    } finally {
      await new Promise((r) => server.close(r));
      await client.close();
    }
  });

  it('kill -9 of a leader under load: checks resume, no over-admission, none past its deadline', async () => {
    const TIMEOUT_MS = 1500;
    const client = createClient({ seeds: seeds(), timeoutMs: TIMEOUT_MS, pollIntervalMs: 200 });
    const key = 'sdk-failover:1';
    const leader = await cluster.leaderOfKey(cluster.nodes[0] as ClusterNode, key);
    if (leader === undefined) throw new Error('no leader for the key');
    let allowed = 0;
    let answered = 0;
    let answeredAfterKill = 0;
    let killedAt = 0;
    let slowestMs = 0;
    const errors = new Map<string, number>();
    let running = true;
    const worker = async (): Promise<void> => {
      for (let i = 0; running && i < 2000; i++) {
        const t0 = performance.now();
        let r: CheckResult | undefined;
        try {
          r = await client.check(key, { resource: 'failover' });
        } catch (err) {
          const code = String((err as { code?: string }).code);
          errors.set(code, (errors.get(code) ?? 0) + 1);
        }
        slowestMs = Math.max(slowestMs, performance.now() - t0);
        if (r === undefined) continue;
        answered++;
        if (r.allowed && r.source === 'cluster') allowed++;
        if (killedAt > 0 && t0 >= killedAt && r.source !== 'denyCache') answeredAfterKill++;
      }
    };
    try {
      const workers = Array.from({ length: 4 }, () => worker());
      await waitUntil('load is flowing', 10_000, () => answered > 20);
      killedAt = performance.now();
      cluster.kill(leader);
      await waitUntil('checks answered after the kill', 20_000, () => answeredAfterKill > 10);
      running = false;
      await Promise.all(workers);
      process.stdout.write(`sdk failover: allowed ${allowed}, answered ${answered}, retries ${client.stats.retries}, slowest ${slowestMs.toFixed(0)} ms, errors ${JSON.stringify([...errors])}\n`);
      expect(allowed).toBeLessThanOrEqual(100);
      // No check hangs: each settles by its deadline (plus scheduling slack on a loaded machine).
      expect(slowestMs).toBeLessThan(TIMEOUT_MS + 1000);
      for (const code of errors.keys()) expect(code).toBe('RL_ERR_TIMEOUT');
    } finally {
      running = false;
      await client.close();
      cluster.restart(leader);
    }
  });
});
