/**
 * The JSON-over-HTTP calls the test harnesses make to nodes (`LocalCluster`, and the
 * scale tests' `ScaleCluster`): a request whose network failure comes back as status 0
 * with code `NETWORK`, a check retried with one idempotency id on retryable answers, and
 * a readiness probe.
 */

export interface HttpReply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** `url` with `body` as JSON (and a bearer `token`); never throws: a network failure is status 0. */
export async function requestJson(url: string, init: { readonly method?: string; readonly token?: string; readonly body?: unknown; readonly timeoutMs?: number } = {}): Promise<HttpReply> {
  try {
    const r = await fetch(url, {
      method: init.method ?? 'GET',
      headers: { 'content-type': 'application/json', ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }) },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      signal: AbortSignal.timeout(init.timeoutMs ?? 15_000),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  } catch (err) {
    return { status: 0, body: { error: { code: 'NETWORK', message: String(err) } } };
  }
}

/** Codes a check is retried on: the check may or may not have counted, so the retry carries the same idempotency id. */
const RETRYABLE = new Set(['RL_ERR_NOT_LEADER', 'RL_ERR_NO_QUORUM', 'RL_ERR_UNAVAILABLE', 'RL_ERR_TIMEOUT']);

/** Sends `body` with `idempotencyId` through `check` until a non-retryable answer, at most `attempts` times, `pauseMs` apart. */
export async function checkRetrying(check: (body: Record<string, unknown>) => Promise<HttpReply>, body: Record<string, unknown>, idempotencyId: string, attempts: number, pauseMs: number): Promise<HttpReply> {
  let last: HttpReply = { status: 0, body: {} };
  for (let i = 0; i < attempts; i++) {
    last = await check({ ...body, idempotencyId });
    const code = (last.body['error'] as { code?: string } | undefined)?.code;
    if (last.status !== 0 && (code === undefined || !RETRYABLE.has(code))) return last;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  return last;
}

/** True when every `/readyz` URL answers 200 within 500 ms each (for a bounded wait loop around it). */
export async function allReady(readyzUrls: readonly string[]): Promise<boolean> {
  for (const url of readyzUrls) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(500) });
      if (r.status !== 200) return false;
    } catch {
      return false;
    }
  }
  return true;
}
