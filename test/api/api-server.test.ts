// Proves the client API on real sockets: HTTP check and batch answers with RateLimit
// headers, every bad input gets RL_ERR_BAD_REQUEST while the node keeps serving others,
// operating errors map to their status codes, and WebSocket frames carry batches.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfigOrThrow } from '../../src/config/index.js';
import { Limiter } from '../../src/engine/limiter.js';
import { ApiServer } from '../../src/node/api/server.js';
import type { CheckService } from '../../src/node/api/service.js';
import type { CheckInput, CheckOutput } from '../../src/protocol/check.js';
import { RateLimiterError } from '../../src/protocol/errors.js';
import { decodeReplyFrame, encodeRequestFrame, type WireReply } from '../../src/protocol/ws.js';

const config = loadConfigOrThrow(`
resources:
  search: { limit: 2, period: 1s }
  slow: { limit: 100, period: 1s }
  broken: { limit: 100, period: 1s }
`);

/** An in-process service over one Limiter; resource "broken" fails like a group without quorum. */
class LocalService implements CheckService {
  readonly limiter = new Limiter({ resolver: config });
  async check(input: CheckInput): Promise<CheckOutput> {
    if (input.resources[0] === 'broken') throw new RateLimiterError('RL_ERR_NO_QUORUM', 'group 7 has 1 of 3 replicas');
    const r =
      input.resources.length === 1
        ? this.limiter.check(input.key, input.resources[0] as string, input.cost, input.tier, 1_700_000_000_000)
        : this.limiter.checkMulti(input.key, input.resources, input.cost, input.tier, 1_700_000_000_000);
    return { allowed: r.allowed, limit: r.limit, remaining: r.remaining, resetMs: r.resetMs, retryAfterMs: r.retryAfterMs, rule: r.rule };
  }
  ruleWindowMs(): number {
    return 1000;
  }
  isReady(): boolean {
    return true;
  }
  clusterView(): unknown {
    return { nodes: ['n1'] };
  }
  async metricsText(): Promise<{ contentType: string; body: string }> {
    return { contentType: 'text/plain; version=0.0.4', body: 'rl_checks_total 0\n' };
  }
}

let api: ApiServer;
let base: string;
let port: number;

beforeAll(async () => {
  api = new ApiServer({ host: '127.0.0.1', port: 0 }, { service: new LocalService(), logger: null });
  port = (await api.start()).port;
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await api.close();
});

async function post(path: string, body: string): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const r = await fetch(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  return { status: r.status, json: (await r.json()) as Record<string, unknown>, headers: r.headers };
}

describe('HTTP API', () => {
  it('answers a check with the decision, the rule and RateLimit headers', async () => {
    const r = await post('/v1/check', JSON.stringify({ key: 'h:1', resource: 'search' }));
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ allowed: true, limit: 2, remaining: 1, resetMs: 500, retryAfterMs: 0, rule: 'resources.search' });
    expect(r.headers.get('ratelimit-policy')).toBe('"resources.search";q=2;w=1');
    expect(r.headers.get('ratelimit')).toBe('"resources.search";r=1;t=1');
  });

  it('answers a denial with 200, allowed false and Retry-After', async () => {
    await post('/v1/check', JSON.stringify({ key: 'h:2', resource: 'search', cost: 2 }));
    const r = await post('/v1/check', JSON.stringify({ key: 'h:2', resource: 'search' }));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ allowed: false, retryAfterMs: 500 });
    expect(r.headers.get('retry-after')).toBe('1');
  });

  it('answers a batch in order, with per-check errors', async () => {
    const r = await post('/v1/check/batch', JSON.stringify({ checks: [{ key: 'b:1', resource: 'search' }, { key: '' }, { key: 'b:1', resource: 'broken' }] }));
    expect(r.status).toBe(200);
    const results = r.json['results'] as Record<string, unknown>[];
    expect(results[0]).toMatchObject({ allowed: true });
    expect(results[1]).toMatchObject({ error: { code: 'RL_ERR_BAD_REQUEST' } });
    expect(results[2]).toMatchObject({ error: { code: 'RL_ERR_NO_QUORUM' } });
  });

  const bad: [string, string][] = [
    ['malformed JSON', '{"key":'],
    ['missing key', '{"resource":"search"}'],
    ['key over 256 bytes', JSON.stringify({ key: 'k'.repeat(257) })],
    ['negative cost', JSON.stringify({ key: 'k', cost: -1 })],
    ['non-integer cost', JSON.stringify({ key: 'k', cost: 0.5 })],
    ['unknown field', JSON.stringify({ key: 'k', colour: 'red' })],
    ['body over 64 KiB', JSON.stringify({ key: 'k', pad: 'x'.repeat(70_000) })],
  ];
  for (const [what, body] of bad) {
    it(`rejects ${what} with 400 RL_ERR_BAD_REQUEST and keeps serving`, async () => {
      const r = await post('/v1/check', body);
      expect(r.status).toBe(400);
      expect((r.json['error'] as { code: string }).code).toBe('RL_ERR_BAD_REQUEST');
      const ok = await post('/v1/check', JSON.stringify({ key: `after:${what}`, resource: 'slow' }));
      expect(ok.status).toBe(200);
    });
  }

  it('maps an unknown resource to 400 and no quorum to 503 with Retry-After', async () => {
    const unknown = await post('/v1/check', JSON.stringify({ key: 'k', resource: 'nope' }));
    expect(unknown.status).toBe(400);
    expect(unknown.json).toMatchObject({ error: { code: 'RL_ERR_UNKNOWN_RESOURCE' } });
    const noQuorum = await post('/v1/check', JSON.stringify({ key: 'k', resource: 'broken' }));
    expect(noQuorum.status).toBe(503);
    expect(noQuorum.headers.get('retry-after')).toBe('1');
    expect(noQuorum.json).toMatchObject({ error: { code: 'RL_ERR_NO_QUORUM' } });
  });

  it('serves health, readiness, cluster view and metrics, and 404 for other routes', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ ready: true });
    expect(await (await fetch(`${base}/v1/cluster`)).json()).toEqual({ nodes: ['n1'] });
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('rl_checks_total');
    const nf = await fetch(`${base}/v2/nothing`);
    expect(nf.status).toBe(404);
  });
});

describe('WebSocket API', () => {
  function connect(): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`);
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  }
  /** Sends a frame and collects replies (possibly over several frames) until `expected` ids are answered. */
  function exchange(ws: WebSocket, frame: Uint8Array, expected: number): Promise<WireReply[]> {
    return new Promise((resolve) => {
      const got: WireReply[] = [];
      const onMessage = (data: Buffer): void => {
        got.push(...decodeReplyFrame(new Uint8Array(data)));
        if (got.length >= expected) {
          ws.off('message', onMessage);
          resolve(got.sort((a, b) => a.id - b.id));
        }
      };
      ws.on('message', onMessage);
      ws.send(frame);
    });
  }

  it('answers a batch frame by request id, bad checks individually', async () => {
    const ws = await connect();
    const replies = await exchange(
      ws,
      encodeRequestFrame([
        [1, { key: 'w:1', resource: 'search' }],
        [2, { key: 'w:1', resource: 'search' }],
        [3, { key: 'w:1', resource: 'search' }],
        [4, { key: 'w:1', cost: -5 }],
      ]),
      4,
    );
    expect(replies.map((r) => [r.id, r.ok && r.output.allowed])).toEqual([
      [1, true],
      [2, true],
      [3, false],
      [4, false],
    ]);
    expect(replies[3]).toMatchObject({ ok: false, error: { code: 'RL_ERR_BAD_REQUEST' } });
    // The message names the check by its request id (built only when validation fails).
    expect(replies[3]?.ok === false && replies[3].error.message).toMatch(/^check 4\.cost must be an integer/);
    ws.close();
  });

  it('answers an unreadable frame with an error for id 0 and keeps the connection', async () => {
    const ws = await connect();
    const bad = await exchange(ws, new Uint8Array([0xc1, 0x00]), 1);
    expect(bad).toEqual([{ id: 0, ok: false, error: { code: 'RL_ERR_BAD_REQUEST', message: 'frame is not valid msgpack' } }]);
    const good = await exchange(ws, encodeRequestFrame([[9, { key: 'w:2', resource: 'slow' }]]), 1);
    expect(good[0]).toMatchObject({ id: 9, ok: true });
    ws.close();
  });
});
