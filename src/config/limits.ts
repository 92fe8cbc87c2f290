/**
 * The bounds a configuration must respect, each with the reason for its number. The
 * validator cites these; docs/config.md lists them.
 */
import type { DurationMs } from '../engine/types.js';

/**
 * Largest `limit` (and `burst`) of a rate rule: a billion units per period is beyond any
 * real quota, and keeping rates small keeps the engine's integer products far from 2^53.
 */
export const RATE_MAX = 1_000_000_000;

/** Largest `limit` of a concurrency rule: leases are tracked one by one in the state. */
export const CONCURRENCY_LIMIT_MAX = 10_000;

/** Longest period, window or lease: a year. Longer quotas belong to billing, not here. */
export const DURATION_MAX_MS: DurationMs = 365 * 24 * 60 * 60 * 1000;

/** Lease of a concurrency rule that does not set one: long enough for a slow request. */
export const LEASE_DEFAULT_MS: DurationMs = 30_000;

/**
 * The engine computes with exact integers in doubles, so every product it forms
 * (`burst × periodMs`, `limit × periodMs`) must stay at or under 2^53 - 1.
 */
export const EXACT_INTEGER_MAX = Number.MAX_SAFE_INTEGER;

/** Resource and tier names, and client keys: the wire protocol's bounds, so both agree. */
export { KEY_BYTES_MAX as CLIENT_KEY_BYTES_MAX, NAME_PATTERN } from '../protocol/limits.js';

/** Aliases a YAML document may expand: stops "billion laughs" documents. */
export const YAML_ALIASES_MAX = 100;

/**
 * Smallest `adaptive.minFactor`: 1% of the base limit. A factor of 0 would block every
 * caller of the resource; that is `blocked: true`, written on purpose, not a controller's call.
 */
export const ADAPTIVE_FACTOR_MIN = 0.01;
/** Largest `adaptive.maxFactor`: ten times the base limit. A limit that needs more is a wrong base limit. */
export const ADAPTIVE_FACTOR_MAX = 10;
/**
 * Shortest `adaptive.intervalMs`: each interval may write one meta-log entry, and signals
 * travel caller → node → meta leader in a few hundred ms; 100 ms keeps both meaningful.
 */
export const ADAPTIVE_INTERVAL_MS_MIN = 100;
/** Longest `adaptive.intervalMs`: ten minutes; slower than that, an operator is the controller. */
export const ADAPTIVE_INTERVAL_MS_MAX = 600_000;
/** Adaptive resources in one configuration at most: bounds the signals every node aggregates and the factor metric's labels. */
export const ADAPTIVE_RESOURCES_MAX = 64;
/** Largest `adaptive.target.latencyP99Ms`: ten minutes, beyond any request a limiter protects. */
export const ADAPTIVE_LATENCY_TARGET_MS_MAX = 600_000;
