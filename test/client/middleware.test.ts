// Proves the Express and Fastify helpers (structural types, no framework installed) map a request to a check and answer 429 with Retry-After and RateLimit headers, go on when allowed, and answer 503 (or allow) when the SDK fails.
import { describe, expect, it } from 'vitest';
import { ClientError, expressRateLimit, fastifyRateLimit, type CheckOptions, type CheckResult, type FastifyReplyLike, type RequestLike } from '../../client/index.js';

const denied: CheckResult = { allowed: false, limit: 5, remaining: 0, resetMs: 4000, retryAfterMs: 1500, rule: 'resources.small', source: 'cluster' };
const allowed: CheckResult = { allowed: true, limit: 5, remaining: 3, resetMs: 1000, retryAfterMs: 0, rule: 'resources.small', source: 'cluster' };

function fakeClient(answer: CheckResult | Error): { check(key: string, o?: CheckOptions): Promise<CheckResult>; calls: [string, CheckOptions | undefined][] } {
  const calls: [string, CheckOptions | undefined][] = [];
  return {
    calls,
    check: (key, o) => {
      calls.push([key, o]);
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
  };
}

function fakeRes(): { statusCode: number; headers: Record<string, string>; body: string | undefined; ended: boolean; setHeader(n: string, v: string): void; end(b?: string): void } {
  return {
    statusCode: 200,
    headers: {},
    body: undefined,
    ended: false,
    setHeader(n, v) {
      this.headers[n] = v;
    },
    end(b) {
      this.body = b;
      this.ended = true;
    },
  };
}

const req: RequestLike = { method: 'GET', url: '/search', headers: { 'x-api-key': 'k1' } };

function runExpress(answer: CheckResult | Error, onError?: 'allow' | 'deny'): Promise<{ res: ReturnType<typeof fakeRes>; nextCalled: boolean; calls: [string, CheckOptions | undefined][] }> {
  const client = fakeClient(answer);
  const mw = expressRateLimit({ client, keyOf: (r: RequestLike) => String(r.headers['x-api-key']), checkOf: () => ({ resource: 'small' }), ...(onError === undefined ? {} : { onError }) });
  const res = fakeRes();
  return new Promise((resolve) => {
    mw(req, res, () => resolve({ res, nextCalled: true, calls: client.calls }));
    const wait = (): void => {
      if (res.ended) resolve({ res, nextCalled: false, calls: client.calls });
      else setImmediate(wait);
    };
    wait();
  });
}

describe('expressRateLimit', () => {
  it('denied: 429 with Retry-After and RateLimit headers, next not called', async () => {
    const { res, nextCalled, calls } = await runExpress(denied);
    expect(calls).toEqual([['k1', { resource: 'small' }]]);
    expect(nextCalled).toBe(false);
    expect(res.statusCode).toBe(429);
    expect(res.headers).toMatchObject({ 'Retry-After': '2', RateLimit: '"resources.small";r=0;t=4', 'RateLimit-Policy': '"resources.small";q=5' });
  });

  it('allowed: headers set, next called', async () => {
    const { res, nextCalled } = await runExpress(allowed);
    expect(nextCalled).toBe(true);
    expect(res.headers['RateLimit']).toBe('"resources.small";r=3;t=1');
    expect(res.headers['Retry-After']).toBeUndefined();
  });

  it('SDK failure: 503 with the error code, or next() with onError allow', async () => {
    const err = new ClientError('RL_ERR_TIMEOUT', 'deadline', 'no answer');
    const denyCase = await runExpress(err);
    expect(denyCase.res.statusCode).toBe(503);
    expect(JSON.parse(denyCase.res.body ?? '{}')).toMatchObject({ error: { code: 'RL_ERR_TIMEOUT' } });
    expect((await runExpress(err, 'allow')).nextCalled).toBe(true);
  });
});

describe('fastifyRateLimit', () => {
  it('denied: code 429, headers, body sent; allowed: headers only', async () => {
    const make = (): FastifyReplyLike & { status: number; headers: Record<string, string>; sent: boolean } => {
      const r = {
        status: 200,
        headers: {} as Record<string, string>,
        sent: false,
        code(s: number) {
          r.status = s;
          return r;
        },
        header(n: string, v: string) {
          r.headers[n] = v;
          return r;
        },
        send() {
          r.sent = true;
          return r;
        },
      };
      return r;
    };
    const hookDenied = fastifyRateLimit({ client: fakeClient(denied), keyOf: () => 'k' });
    const r1 = make();
    await hookDenied({}, r1);
    expect([r1.status, r1.sent, r1.headers['Retry-After']]).toEqual([429, true, '2']);
    const hookAllowed = fastifyRateLimit({ client: fakeClient(allowed), keyOf: () => 'k' });
    const r2 = make();
    await hookAllowed({}, r2);
    expect([r2.status, r2.sent, r2.headers['RateLimit']]).toEqual([200, false, '"resources.small";r=3;t=1']);
  });
});
