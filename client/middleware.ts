/**
 * HTTP middleware for Node's `http`, Express and Fastify, typed structurally (no
 * dependency on either framework): map the request to a key and resource, check, then
 * either answer 429 with `Retry-After`, `RateLimit` and `RateLimit-Policy`, or go on with
 * the RateLimit headers set. When the SDK fails (no policy, deadline passed) the request
 * is answered 503 with `Retry-After: 1`, unless `onError: 'allow'`.
 */
import { rateLimitHeaders } from '../src/protocol/check.js';
import type { CheckOptions, CheckResult, Client } from './client.js';

/** The parts of a request the key functions usually read. */
export interface RequestLike {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly socket?: { readonly remoteAddress?: string | undefined } | undefined;
}

/** What a Node `ServerResponse` (and Express's `res`) offers. */
export interface ResponseLike {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
  readonly headersSent?: boolean;
}

export interface RateLimitMiddlewareOptions<Req> {
  readonly client: Pick<Client, 'check'>;
  /** The client key for this request, e.g. an API key or user id. Return undefined to skip limiting. */
  keyOf(req: Req): string | undefined;
  /** Resource(s) and cost of this request [resource "default", cost 1]. */
  checkOf?(req: Req): CheckOptions;
  /** Rate window of the rule in ms, for the `w=` parameter of RateLimit-Policy (unknown to the SDK otherwise). */
  readonly windowMs?: number;
  /** When the check itself fails: answer 503 ['deny'] or let the request through ('allow'). */
  readonly onError?: 'deny' | 'allow';
}

type Verdict = { readonly go: true; readonly headers: Record<string, string> } | { readonly go: false; readonly status: number; readonly headers: Record<string, string>; readonly body: string };

async function decide<Req>(o: RateLimitMiddlewareOptions<Req>, req: Req): Promise<Verdict> {
  const key = o.keyOf(req);
  if (key === undefined) return { go: true, headers: {} };
  let r: CheckResult;
  try {
    r = await o.client.check(key, o.checkOf?.(req) ?? {});
  } catch (err) {
    if (o.onError === 'allow') return { go: true, headers: {} };
    const code = (err as { code?: unknown }).code;
    return { go: false, status: 503, headers: { 'Retry-After': '1', 'Content-Type': 'application/json' }, body: JSON.stringify({ error: { code: typeof code === 'string' ? code : 'RL_ERR_UNAVAILABLE', message: 'rate limiter unavailable' } }) };
  }
  const headers = rateLimitHeaders(r, o.windowMs);
  if (r.allowed) return { go: true, headers };
  headers['Content-Type'] = 'application/json';
  return { go: false, status: 429, headers, body: JSON.stringify({ error: 'rate limited', retryAfterMs: r.retryAfterMs, rule: r.rule }) };
}

function apply(res: ResponseLike, v: Verdict): void {
  if (res.headersSent === true) return;
  for (const [k, val] of Object.entries(v.headers)) res.setHeader(k, val);
  if (!v.go) {
    res.statusCode = v.status;
    res.end(v.body);
  }
}

/**
 * For `node:http`: resolves true when the handler should go on, false when it already answered.
 * Never rejects (a throwing `keyOf`/`checkOf` answers 500).
 *
 * @example
 * ```ts
 * const limit = httpRateLimit({ client, keyOf: (req) => String(req.headers['x-api-key'] ?? 'anon') });
 * http.createServer(async (req, res) => { if (await limit(req, res)) res.end('ok'); });
 * ```
 */
export function httpRateLimit<Req extends RequestLike>(options: RateLimitMiddlewareOptions<Req>): (req: Req, res: ResponseLike) => Promise<boolean> {
  return async (req, res) => {
    let v: Verdict;
    try {
      v = await decide(options, req);
    } catch {
      // keyOf/checkOf threw: a bug in the caller's mapping; answer rather than reject unobserved.
      v = { go: false, status: 500, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ error: { code: 'RL_ERR_BAD_REQUEST', message: 'rate-limit key mapping failed' } }) };
    }
    apply(res, v);
    return v.go;
  };
}

/**
 * Express-style middleware `(req, res, next)`. Never rejects; a throwing key function goes to `next(err)`.
 *
 * @example
 * ```ts
 * app.use(expressRateLimit({ client, keyOf: (req) => req.ip, checkOf: () => ({ resource: 'api' }) }));
 * ```
 */
export function expressRateLimit<Req extends RequestLike>(options: RateLimitMiddlewareOptions<Req>): (req: Req, res: ResponseLike, next: (err?: unknown) => void) => void {
  return (req, res, next) => {
    decide(options, req).then(
      (v) => {
        apply(res, v);
        if (v.go) next();
      },
      (err: unknown) => next(err),
    );
  };
}

/** What a Fastify `reply` offers. */
export interface FastifyReplyLike {
  code(status: number): FastifyReplyLike;
  header(name: string, value: string): FastifyReplyLike;
  send(body?: string): unknown;
}

/**
 * A Fastify `onRequest` hook (async form): answers 429 itself, else returns with headers set.
 *
 * @example
 * ```ts
 * fastify.addHook('onRequest', fastifyRateLimit({ client, keyOf: (req) => req.ip }));
 * ```
 */
export function fastifyRateLimit<Req>(options: RateLimitMiddlewareOptions<Req>): (request: Req, reply: FastifyReplyLike) => Promise<void> {
  return async (request, reply) => {
    const v = await decide(options, request);
    for (const [k, val] of Object.entries(v.headers)) reply.header(k, val);
    if (!v.go) {
      reply.code(v.status);
      await reply.send(v.body);
    }
  };
}
