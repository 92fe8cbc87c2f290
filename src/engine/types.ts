/**
 * Types shared by the rate-limit algorithms, the compiled configuration and the state
 * store. Everything here is pure data: time only ever arrives as an argument (`nowMs`),
 * stamped by the caller (on a cluster, by the group leader into each Raft entry).
 */

/** Milliseconds since the Unix epoch, an integer. */
export type TimestampMs = number;
/** A length of time in milliseconds, a non-negative integer. */
export type DurationMs = number;

export type AlgorithmName = 'gcra' | 'sliding_window' | 'fixed_window' | 'concurrency';
export type Consistency = 'strict' | 'fast';

/** `retryAfterMs` when no wait can help: the cost exceeds capacity, or the client is blocked. */
export const RETRY_NEVER_MS = -1;
/** `limit` and `remaining` of a decision made by an `unlimited` rule. */
export const UNLIMITED = -1;

/**
 * A rule after validation and compilation. Immutable; one object per rule in the
 * configuration, shared by every key it governs.
 */
export interface CompiledRule {
  /** Where the rule stands in the config, e.g. `tiers.pro.resources.search`. */
  readonly id: string;
  readonly algorithm: AlgorithmName;
  /** Units admitted per `periodMs` (gcra, windows) or concurrent units held (concurrency). */
  readonly limit: number;
  /** Length of the rate period, or of a window. 0 for concurrency rules. */
  readonly periodMs: DurationMs;
  /** GCRA bucket capacity in units; equals `limit` for every other algorithm. */
  readonly burst: number;
  /** Concurrency only: how long an unreleased lease holds its slot. 0 otherwise. */
  readonly leaseMs: DurationMs;
  /** Decide and count as usual, but always answer allowed. */
  readonly shadow: boolean;
  readonly consistency: Consistency;
  /** Every check is denied with `retryAfterMs = RETRY_NEVER_MS`; state never changes. */
  readonly blocked: boolean;
  /** Every check is allowed with `limit = remaining = UNLIMITED`; state never changes. */
  readonly unlimited: boolean;
  /**
   * States are interchangeable between two rules exactly when their `stateShape` is
   * equal (same algorithm; same window length for the windows). A state of another
   * shape is treated as absent, so a config change never misreads old state.
   */
  readonly stateShape: string;
}

/** The outcome of one check of one rule. A denial is a normal result, never an error. */
export interface Decision {
  readonly allowed: boolean;
  /** The rule's limit (`UNLIMITED` for unlimited rules). */
  readonly limit: number;
  /** Units that a check at the same instant could still take (after this one, if allowed). */
  readonly remaining: number;
  /** Time until `remaining` is back at its maximum, absent other traffic. */
  readonly resetMs: DurationMs;
  /**
   * 0 when allowed. When denied: the exact wait after which the same check is allowed,
   * absent other traffic (1 ms earlier it is still denied); `RETRY_NEVER_MS` if no wait helps.
   */
  readonly retryAfterMs: number;
}

/**
 * What an algorithm returns: the decision and the next state, `null` when the state does
 * not change (denials, peeks, no-op refunds). Algorithms never mutate their input state.
 */
export interface AlgorithmResult<S> extends Decision {
  readonly next: S | null;
}

/** Resolves the rule for a check in O(1): a few map look-ups, never a scan over rules. */
export interface RuleResolver {
  /** The configuration version this resolver was compiled from. */
  readonly version: number;
  /**
   * The most specific rule for `(key, resource, tier)`, or null when nothing matches
   * (no rule for the resource and no default at any level on the chain).
   */
  resolve(key: string, resource: string, tier: string | undefined): CompiledRule | null;
}
