/**
 * The distributed-rate-limiter SDK: `createClient` plus middleware, errors and types.
 *
 * @example
 * ```ts
 * import { createClient, httpRateLimit } from 'distributed-rate-limiter/client';
 * const client = createClient({ seeds: ['127.0.0.1:7001'], timeoutMs: 250, onUnavailable: 'failOpen' });
 * const r = await client.check('user:42', { resource: 'search' });
 * ```
 */
export { createClient, type AnswerSource, type CheckManyItem, type CheckManyResult, type CheckOptions, type CheckResult, type Client, type ClientStats, type WaitForOptions } from './client.js';
export { ClientError, type ClientErrorReason } from './client-error.js';
export type { DegradePolicy } from './degrade.js';
export { realDeps, type ClientDeps } from './deps.js';
export { DenyCache } from './deny-cache.js';
export { expressRateLimit, fastifyRateLimit, httpRateLimit, type FastifyReplyLike, type RateLimitMiddlewareOptions, type RequestLike, type ResponseLike } from './middleware.js';
export type { ClientOptions, OnUnavailable } from './options.js';
export type { ReportSampleInput } from './reporter.js';
export { RateLimiterError, isRetryableCode, type ErrorCode } from '../src/protocol/errors.js';
