// Proves the admin HTTP API and token checks on real sockets (in-process server, fake
// admin backend): 401 without a token, 403 with a wrong one or when the admin API is
// disabled, If-Match parsing, error mapping (412 with the current version, 400 with every
// config issue), explain's query decoding, and the client token on check endpoints for
// HTTP and WebSocket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ConfigDocument, ConfigFormat } from '../../cluster/meta/index.js';
import { loadConfigOrThrow, parseConfig, type CompiledConfig, type Explanation } from '../../src/config/index.js';
import { adminRoutes, parseIfMatch, type AdminApi } from '../../src/node/api/admin-routes.js';
import { ApiServer } from '../../src/node/api/server.js';
import type { CheckService } from '../../src/node/api/service.js';
import { bearerToken, checkBearer, tokenMatches } from '../../src/node/meta/auth.js';
import type { ApplyResult, TransferResult, ValidateResult } from '../../src/node/meta/meta-service.js';
import { ruleChanges } from '../../src/node/meta/rule-changes.js';
import type { CheckOutput } from '../../src/protocol/check.js';
import { RateLimiterError } from '../../src/protocol/errors.js';
import { encodeRequestFrame } from '../../src/protocol/ws.js';

const ADMIN = 'admin-secret-0123456789';
const CLIENT = 'client-secret-0123456789';
const V1 = 'resources:\n  search: { limit: 2, period: 1s }\n';

/** A one-node admin backend: versions in memory, If-Match checked like the meta group does. */
class FakeAdmin implements AdminApi {
  doc: ConfigDocument = { version: 1, format: 'yaml', text: V1, index: 3 };
  config: CompiledConfig = loadConfigOrThrow(V1);
  served(): { version: number; config: CompiledConfig } {
    return { version: this.doc.version, config: this.config };
  }
  document(): ConfigDocument {
    return this.doc;
  }
  validate(text: string, format: ConfigFormat): ValidateResult {
    const r = parseConfig(text, format);
    return r.ok ? { ok: true, ruleCount: r.config.rules.length, changes: ruleChanges(this.config, r.config) } : { ok: false, issues: r.errors };
  }
  async applyConfig(text: string, format: ConfigFormat, ifMatch: number | null): Promise<ApplyResult> {
    const v = this.validate(text, format);
    if (!v.ok) throw new RateLimiterError('RL_ERR_CONFIG_INVALID', 'invalid configuration', { details: { issues: v.issues } });
    if (ifMatch !== null && ifMatch !== this.doc.version) {
      throw new RateLimiterError('RL_ERR_CONFLICT', 'version moved', { details: { currentVersion: this.doc.version } });
    }
    this.config = loadConfigOrThrow(text, format);
    this.doc = { version: this.doc.version + 1, format, text, index: this.doc.index + 1 };
    return Promise.resolve({ version: this.doc.version, index: this.doc.index, changes: v.changes });
  }
  explain(key: string, resource: string, tier: string | undefined): { version: number; explanation: Explanation; text: string } {
    return { version: this.doc.version, explanation: this.config.explain(key, resource, tier), text: 'explained' };
  }
  async transferLeader(groupId: number, to: string): Promise<TransferResult> {
    return Promise.resolve({ groupId, from: 'n1', to, status: 'started' });
  }
}

const checks: CheckService = {
  check: (): CheckOutput => ({ allowed: true, limit: 2, remaining: 1, resetMs: 500, retryAfterMs: 0, rule: 'resources.search' }),
  ruleWindowMs: () => 1000,
  isReady: () => true,
  clusterView: () => ({ node: 'n1' }),
  metricsText: async () => Promise.resolve({ contentType: 'text/plain', body: '' }),
};

const servers: ApiServer[] = [];
let base = '';
let wsUrl = '';
let disabledBase = '';
const admin = new FakeAdmin();

beforeAll(async () => {
  const api = new ApiServer({ host: '127.0.0.1', port: 0 }, { service: checks, logger: null, clientToken: CLIENT, routes: [adminRoutes({ admin, adminToken: ADMIN, logger: null })] });
  const off = new ApiServer({ host: '127.0.0.1', port: 0 }, { service: checks, logger: null, routes: [adminRoutes({ admin, adminToken: undefined, logger: null })] });
  servers.push(api, off);
  const port = (await api.start()).port;
  base = `http://127.0.0.1:${port}`;
  wsUrl = `ws://127.0.0.1:${port}/v1/ws`;
  disabledBase = `http://127.0.0.1:${(await off.start()).port}`;
});

afterAll(async () => {
  for (const s of servers) await s.close();
});

const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

async function call(url: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const r = await fetch(url, init);
  return { status: r.status, body: (await r.json()) as Record<string, unknown>, headers: r.headers };
}

describe('tokens', () => {
  it('compares in constant time over digests and reads only well-formed Bearer headers', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abc', 'abcd')).toBe(false);
    expect(bearerToken('Bearer  tok ')).toBe('tok');
    expect(bearerToken('bearer tok')).toBe('tok');
    expect(bearerToken('Basic tok')).toBeNull();
    expect(bearerToken('')).toBeNull();
    expect(checkBearer('', 'x', 'admin')?.code).toBe('RL_ERR_UNAUTHORIZED');
    expect(checkBearer('Bearer y', 'x', 'admin')?.code).toBe('RL_ERR_FORBIDDEN');
    expect(checkBearer('Bearer x', 'x', 'admin')).toBeNull();
  });

  it('parses If-Match versions and rejects anything else', () => {
    expect(parseIfMatch('"3"')).toBe(3);
    expect(parseIfMatch('3')).toBe(3);
    expect(parseIfMatch('W/"12"')).toBe(12);
    expect(parseIfMatch('*')).toBeNull();
    expect(parseIfMatch('')).toBeNull();
    expect(parseIfMatch('"v3"')).toBeUndefined();
  });
});

describe('admin API', () => {
  it('answers 401 without a token, 403 with a wrong one, 403 when disabled', async () => {
    const none = await call(`${base}/v1/config`);
    expect(none.status).toBe(401);
    expect(none.body['error']).toMatchObject({ code: 'RL_ERR_UNAUTHORIZED' });
    const wrong = await call(`${base}/v1/config`, { headers: auth('not-the-admin-token') });
    expect(wrong.status).toBe(403);
    expect(wrong.body['error']).toMatchObject({ code: 'RL_ERR_FORBIDDEN' });
    // The client token is not an admin token.
    expect((await call(`${base}/v1/config`, { headers: auth(CLIENT) })).status).toBe(403);
    const off = await call(`${disabledBase}/v1/config`, { headers: auth(ADMIN) });
    expect(off.status).toBe(403);
    expect(String((off.body['error'] as { message: string }).message)).toMatch(/--admin-token/);
    for (const [method, path] of [['PUT', '/v1/config'], ['POST', '/v1/config/validate'], ['GET', '/v1/config/explain?key=a&resource=b'], ['POST', '/v1/admin/leader-transfer']] as const) {
      expect((await fetch(`${base}${path}`, { method, ...(method === 'GET' ? {} : { body: '{}' }) })).status, path).toBe(401);
    }
  });

  it('GET returns the document with its version as ETag; PUT with a stale If-Match is 412 with the current version', async () => {
    const got = await call(`${base}/v1/config`, { headers: auth(ADMIN) });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ version: 1, format: 'yaml', text: V1 });
    expect(got.headers.get('etag')).toBe('"1"');
    const next = 'resources:\n  search: { limit: 3, period: 1s }\n';
    const ok = await call(`${base}/v1/config`, { method: 'PUT', headers: { ...auth(ADMIN), 'if-match': '"1"' }, body: next });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ version: 2, changed: ['resources.search'], resets: [] });
    const stale = await call(`${base}/v1/config`, { method: 'PUT', headers: { ...auth(ADMIN), 'if-match': '"1"' }, body: next });
    expect(stale.status).toBe(412);
    expect(stale.body['error']).toMatchObject({ code: 'RL_ERR_CONFLICT', currentVersion: 2 });
    const bad = await call(`${base}/v1/config`, { method: 'PUT', headers: { ...auth(ADMIN), 'if-match': 'latest' }, body: next });
    expect(bad.status).toBe(400);
  });

  it('an invalid document is 400 with every issue; validate reports them as a dry run; JSON bodies are read as JSON', async () => {
    const text = 'resources:\n  a: { limit: 0, period: 1s }\n  b: { limit: 1, period: 1x }\n';
    const put = await call(`${base}/v1/config`, { method: 'PUT', headers: auth(ADMIN), body: text });
    expect(put.status).toBe(400);
    expect(put.body['error']).toMatchObject({ code: 'RL_ERR_CONFIG_INVALID' });
    expect((put.body['error'] as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual(['resources.a.limit', 'resources.b.period']);
    const dry = await call(`${base}/v1/config/validate`, { method: 'POST', headers: auth(ADMIN), body: text });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ valid: false });
    expect((dry.body['issues'] as unknown[]).length).toBe(2);
    const json = await call(`${base}/v1/config/validate`, {
      method: 'POST',
      headers: { ...auth(ADMIN), 'content-type': 'application/json' },
      body: JSON.stringify({ resources: { search: { algorithm: 'fixed_window', limit: 3, period: '1s' } } }),
    });
    expect(json.body).toMatchObject({ valid: true, ruleCount: 1, resets: [{ rule: 'resources.search' }] });
    const notUtf8 = await fetch(`${base}/v1/config/validate`, { method: 'POST', headers: auth(ADMIN), body: new Uint8Array([0xff, 0xfe, 0x00]) });
    expect(notUtf8.status).toBe(400);
  });

  it('explain decodes its query and requires key and resource; leader-transfer validates its body', async () => {
    const e = await call(`${base}/v1/config/explain?key=${encodeURIComponent('user:42 x')}&resource=search`, { headers: auth(ADMIN) });
    expect(e.status).toBe(200);
    expect(e.body).toMatchObject({ key: 'user:42 x', resource: 'search', decidedBy: 'resources.search' });
    expect((await call(`${base}/v1/config/explain?resource=search`, { headers: auth(ADMIN) })).status).toBe(400);
    const t = await call(`${base}/v1/admin/leader-transfer`, { method: 'POST', headers: auth(ADMIN), body: JSON.stringify({ group: 2, node: 'n3' }) });
    expect(t.status).toBe(202);
    expect(t.body).toMatchObject({ groupId: 2, to: 'n3' });
    expect((await call(`${base}/v1/admin/leader-transfer`, { method: 'POST', headers: auth(ADMIN), body: '{"group":-1,"node":"n3"}' })).status).toBe(400);
  });
});

describe('client token on check endpoints', () => {
  it('HTTP checks need the client token when one is configured', async () => {
    const body = JSON.stringify({ key: 'k', resource: 'search' });
    expect((await call(`${base}/v1/check`, { method: 'POST', body })).status).toBe(401);
    expect((await call(`${base}/v1/check`, { method: 'POST', body, headers: auth(ADMIN) })).status).toBe(403);
    expect((await call(`${base}/v1/check/batch`, { method: 'POST', body: JSON.stringify({ checks: [{ key: 'k' }] }) })).status).toBe(401);
    const ok = await call(`${base}/v1/check`, { method: 'POST', body, headers: auth(CLIENT) });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ allowed: true });
    // Without a configured client token, checks stay open.
    expect((await fetch(`${disabledBase}/v1/check`, { method: 'POST', body })).status).toBe(200);
  });

  it('a WebSocket upgrade without the client token is refused; with it, checks flow', async () => {
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(wsUrl);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('error', () => undefined);
    });
    expect(refused).toBe(401);
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const ws = new WebSocket(wsUrl, { headers: auth(CLIENT) });
      ws.on('open', () => ws.send(encodeRequestFrame([[1, { key: 'k', resource: 'search' }]])));
      ws.on('message', (data: Buffer) => {
        ws.close();
        resolve(data);
      });
      ws.on('error', reject);
    });
    expect(reply.byteLength).toBeGreaterThan(0);
  });
});
