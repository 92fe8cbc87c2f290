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
