/**
 * Bearer-token checks for the admin and check endpoints. Tokens are compared in constant
 * time over their SHA-256 digests (equal length whatever the input), so neither the
 * content nor the length of the expected token leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { RateLimiterError } from '../../protocol/errors.js';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** True when `presented` equals `expected`, in time independent of both. */
export function tokenMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The token of an `Authorization: Bearer <token>` header value, or null. */
export function bearerToken(header: string): string | null {
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  return m === null ? null : (m[1] as string);
}

/**
 * Checks an Authorization header against `expected`. Returns null when it passes, else
 * the error to answer: 401 when no bearer token came, 403 when it is wrong or the
 * endpoint is disabled (`expected` undefined).
 */
export function checkBearer(header: string, expected: string | undefined, what: string): RateLimiterError | null {
  if (expected === undefined) {
    return new RateLimiterError('RL_ERR_FORBIDDEN', `the ${what} API is disabled on this node: start it with --admin-token or RL_ADMIN_TOKEN`);
  }
  const token = bearerToken(header);
  if (token === null) return new RateLimiterError('RL_ERR_UNAUTHORIZED', `the ${what} API needs an 'Authorization: Bearer <token>' header`);
  if (!tokenMatches(token, expected)) return new RateLimiterError('RL_ERR_FORBIDDEN', `the bearer token is not valid for the ${what} API`);
  return null;
}
