/**
 * Stable error codes shared by every node and the SDK. Clients match on `code`, never on
 * messages. Every code is listed, with its meaning and whether a retry can help, in
 * docs/errors.md; a test keeps the two lists equal.
 */
export const ERROR_CODES = [
  'RL_ERR_BAD_REQUEST',
  'RL_ERR_CONFIG_INVALID',
  'RL_ERR_UNKNOWN_RESOURCE',
  'RL_ERR_NOT_LEADER',
  'RL_ERR_NO_QUORUM',
  'RL_ERR_UNAVAILABLE',
  'RL_ERR_STORAGE_CORRUPT',
  'RL_ERR_TIMEOUT',
  'RL_ERR_STATE_FULL',
  'RL_ERR_CONFLICT',
  'RL_ERR_UNAUTHORIZED',
  'RL_ERR_FORBIDDEN',
  'RL_ERR_UNKNOWN_NODE',
  'RL_ERR_NODE_EXISTS',
  'RL_ERR_NODE_NOT_DRAINED',
  'RL_ERR_QUORUM_AT_RISK',
  'RL_ERR_NOT_ADAPTIVE',
  'RL_ERR_SPLIT_REFUSED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'RL_ERR_NOT_LEADER',
  'RL_ERR_NO_QUORUM',
  'RL_ERR_UNAVAILABLE',
  'RL_ERR_TIMEOUT',
  'RL_ERR_STORAGE_CORRUPT',
  'RL_ERR_STATE_FULL',
]);

/** True when the same request may succeed if sent again later (or elsewhere). */
export function isRetryableCode(code: ErrorCode): boolean {
  return RETRYABLE.has(code);
}

/**
 * An operating condition (not a bug, not a denial): a stable `code`, a message that says
 * what, why and the current value, optional typed `details`, and the `cause` if any.
 *
 * @example
 * ```ts
 * throw new RateLimiterError('RL_ERR_UNKNOWN_RESOURCE', 'no rule matches resource "export"', {
 *   details: { resource: 'export' },
 * });
 * ```
 */
export class RateLimiterError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Readonly<Record<string, unknown>> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RateLimiterError';
    this.code = code;
    this.retryable = isRetryableCode(code);
    this.details = options.details;
  }
}
