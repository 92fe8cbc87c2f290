/**
 * The SDK's own failures: a `RateLimiterError` (stable `code`, matched by callers) with a
 * `reason` that says which SDK condition it was. Codes come from src/protocol/errors.ts so
 * one `switch (err.code)` serves both node and SDK errors.
 */
import { RateLimiterError, type ErrorCode } from '../src/protocol/errors.js';

/**
 * - `deadline`: no answer within the check's deadline and no degradation policy (RL_ERR_TIMEOUT).
 * - `waitDeadline`: `waitFor` could not be allowed before its deadline (RL_ERR_TIMEOUT).
 * - `never`: `waitFor` was told `retryAfterMs = -1`: no wait helps at this cost (RL_ERR_BAD_REQUEST).
 * - `queueFull`: the connection's send queue is at its bound (RL_ERR_UNAVAILABLE).
 * - `closed`: the client was closed (RL_ERR_UNAVAILABLE).
 * - `invalid`: the check itself is malformed (RL_ERR_BAD_REQUEST).
 * - `server`: the cluster answered with a non-retryable error (the node's code).
 */
export type ClientErrorReason = 'deadline' | 'waitDeadline' | 'never' | 'queueFull' | 'closed' | 'invalid' | 'server';

/**
 * @example
 * ```ts
 * try { await client.waitFor('user:1', { resource: 'export', deadlineMs: 2000 }); }
 * catch (err) { if (err instanceof ClientError && err.reason === 'waitDeadline') respond429(); }
 * ```
 */
export class ClientError extends RateLimiterError {
  readonly reason: ClientErrorReason;

  constructor(code: ErrorCode, reason: ClientErrorReason, message: string, options: { cause?: unknown; details?: Readonly<Record<string, unknown>> } = {}) {
    super(code, message, options);
    this.name = 'ClientError';
    this.reason = reason;
  }
}
