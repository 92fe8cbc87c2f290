/**
 * The rate-limit configuration: parse and validate a versioned YAML/JSON document, compile
 * it to O(1) look-up tables, resolve and explain the rule for a check.
 */
export { ADAPTIVE_DEFAULTS, clampFactor, describeTarget, scaleRule, type AdaptiveSpec, type AdaptiveTarget } from './adaptive.js';
export { CompiledConfig } from './compiled-config.js';
export { parseDurationMs, readDuration, type DurationReading } from './duration.js';
export {
  describeRule,
  formatExplanation,
  type AdaptiveExplanation,
  type ExplainLevel,
  type ExplainLevelName,
  type Explanation,
  type TierSource,
} from './explain.js';
export { formatIssue, type ConfigIssue } from './issue.js';
export {
  ADAPTIVE_FACTOR_MAX,
  ADAPTIVE_FACTOR_MIN,
  ADAPTIVE_INTERVAL_MS_MAX,
  ADAPTIVE_INTERVAL_MS_MIN,
  ADAPTIVE_RESOURCES_MAX,
  CLIENT_KEY_BYTES_MAX,
  CONCURRENCY_LIMIT_MAX,
  DURATION_MAX_MS,
  LEASE_DEFAULT_MS,
  NAME_PATTERN,
  RATE_MAX,
} from './limits.js';
export { loadConfigOrThrow } from './load-config.js';
export { parseConfig, type ConfigFormat } from './parse-config.js';
export { validateConfig, type ConfigResult } from './validate-config.js';
