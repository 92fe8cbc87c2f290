/**
 * Small HTTP helpers shared by every route module of the client API (checks, admin,
 * stats): bounded body reading, JSON answers, and error answers with the status code that
 * belongs to each stable error code.
 */
import type uws from 'uWebSockets.js';
import { RateLimiterError, type ErrorCode } from '../../protocol/errors.js';
import type { WireError } from '../../protocol/ws.js';

/** Set by uWS's onAborted: the response may no longer be touched. */
export interface Liveness {
  aborted: boolean;
}

export interface ApiLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** The HTTP status of each error code. */
export const STATUS: Record<ErrorCode, string> = {
  RL_ERR_BAD_REQUEST: '400 Bad Request',
  RL_ERR_CONFIG_INVALID: '400 Bad Request',
  RL_ERR_UNKNOWN_RESOURCE: '400 Bad Request',
  RL_ERR_NOT_LEADER: '421 Misdirected Request',
  RL_ERR_NO_QUORUM: '503 Service Unavailable',
  RL_ERR_UNAVAILABLE: '503 Service Unavailable',
  RL_ERR_STORAGE_CORRUPT: '503 Service Unavailable',
  RL_ERR_STATE_FULL: '503 Service Unavailable',
  RL_ERR_TIMEOUT: '504 Gateway Timeout',
  RL_ERR_CONFLICT: '412 Precondition Failed',
  RL_ERR_UNAUTHORIZED: '401 Unauthorized',
  RL_ERR_FORBIDDEN: '403 Forbidden',
  RL_ERR_UNKNOWN_NODE: '404 Not Found',
  RL_ERR_NODE_EXISTS: '409 Conflict',
  RL_ERR_NODE_NOT_DRAINED: '409 Conflict',
  RL_ERR_QUORUM_AT_RISK: '409 Conflict',
  RL_ERR_NOT_ADAPTIVE: '409 Conflict',
  RL_ERR_SPLIT_REFUSED: '409 Conflict',
};

/** Turns anything thrown by a service into a wire error; unknown errors are logged and hidden. */
export function toWireError(err: unknown, logger: ApiLogger | null): WireError {
  if (err instanceof RateLimiterError) {
    // The leader hint: a node id (the SDK maps it to an address through /v1/cluster).
    const hint = err.details?.['leaderHint'] ?? err.details?.['leader'];
    return typeof hint === 'string' ? { code: err.code, message: err.message, leaderHint: hint } : { code: err.code, message: err.message };
  }
  logger?.error({ err }, 'unexpected error in request');
  return { code: 'RL_ERR_UNAVAILABLE', message: 'internal error; see the node log' };
}

/** Writes a JSON answer (call inside `res.cork` when answering after an await). */
export function sendJson(res: uws.HttpResponse, status: string, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  res.writeStatus(status).writeHeader('Content-Type', 'application/json');
  for (const [k, v] of Object.entries(headers)) res.writeHeader(k, v);
  res.end(JSON.stringify(body));
}

/** Writes `{ error }` with the code's status (or `status`); 503s carry `Retry-After`. `close` ends the connection too. */
export function sendError(res: uws.HttpResponse, error: WireError, status?: string, close = false): void {
  const s = status ?? STATUS[error.code];
  res.writeStatus(s).writeHeader('Content-Type', 'application/json');
  if (s.startsWith('503')) res.writeHeader('Retry-After', '1');
  res.end(JSON.stringify({ error }), close);
}

/**
 * Reads a body of at most `maxBytes` (over it: 400 and the connection closes), then calls
 * `handle` with the raw bytes. `live.aborted` tells whether the client went away.
 */
export function readBody(res: uws.HttpResponse, maxBytes: number, handle: (raw: Buffer, live: Liveness) => void): void {
  const live: Liveness = { aborted: false };
  res.onAborted(() => {
    live.aborted = true;
  });
  const chunks: Buffer[] = [];
  let size = 0;
  let rejected = false;
  res.onData((chunk, isLast) => {
    if (rejected) return;
    size += chunk.byteLength;
    if (size > maxBytes) {
      rejected = true;
      if (!live.aborted) sendError(res, { code: 'RL_ERR_BAD_REQUEST', message: `body is over ${maxBytes} bytes` }, undefined, true);
      return;
    }
    chunks.push(Buffer.from(chunk.slice(0)));
    if (isLast) handle(Buffer.concat(chunks), live);
  });
}

/** `readBody`, then JSON.parse (malformed JSON: 400). */
export function readJsonBody(res: uws.HttpResponse, maxBytes: number, handle: (body: unknown, live: Liveness) => void): void {
  readBody(res, maxBytes, (raw, live) => {
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      if (!live.aborted) sendError(res, { code: 'RL_ERR_BAD_REQUEST', message: 'body is not valid JSON' });
      return;
    }
    handle(body, live);
  });
}

/** Answers a GET from a promise: JSON on success, the error's status on failure, nothing after an abort. */
export function answerAsync(res: uws.HttpResponse, logger: ApiLogger | null, work: () => Promise<{ status: string; body: unknown; headers?: Readonly<Record<string, string>> }>): void {
  const live: Liveness = { aborted: false };
  res.onAborted(() => {
    live.aborted = true;
  });
  work().then(
    (r) => {
      if (!live.aborted) res.cork(() => sendJson(res, r.status, r.body, r.headers ?? {}));
    },
    (err: unknown) => {
      if (!live.aborted) res.cork(() => sendError(res, toWireError(err, logger)));
    },
  );
}

/** A module of extra routes (admin, stats, dashboard), registered before the catch-all 404. */
export type RouteModule = (app: uws.TemplatedApp) => void;
