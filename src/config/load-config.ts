/**
 * `loadConfigOrThrow`: for callers that cannot go on without a valid configuration
 * (node start-up, the CLI), the parse result as a value or a `RateLimiterError`.
 */
import { RateLimiterError } from '../protocol/errors.js';
import type { CompiledConfig } from './compiled-config.js';
import { formatIssue } from './issue.js';
import { parseConfig, type ConfigFormat } from './parse-config.js';

/**
 * Parses and validates configuration text, or throws `RL_ERR_CONFIG_INVALID` with every
 * issue in `details.issues` and one line per issue in the message.
 *
 * @throws {RateLimiterError} code `RL_ERR_CONFIG_INVALID` when the text is not a valid configuration.
 * @example
 * ```ts
 * try {
 *   loadConfigOrThrow('defaults: { limit: 0, period: 1s }');
 * } catch (error) {
 *   // error.code === 'RL_ERR_CONFIG_INVALID'
 *   // error.message === 'invalid configuration (1 issue):\ndefaults.limit: 0 is not positive (...)'
 * }
 * ```
 */
export function loadConfigOrThrow(text: string, format: ConfigFormat = 'yaml'): CompiledConfig {
  const result = parseConfig(text, format);
  if (result.ok) return result.config;
  const count = result.errors.length;
  const lines = result.errors.map(formatIssue).join('\n');
  throw new RateLimiterError('RL_ERR_CONFIG_INVALID', `invalid configuration (${count} issue${count === 1 ? '' : 's'}):\n${lines}`, {
    details: { issues: result.errors },
  });
}
