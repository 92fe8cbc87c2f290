/**
 * Concurrency limit: at most `limit` units held at once. An acquire takes `cost` units
 * under a lease that lasts `leaseMs`; release frees it early by lease id; a lease that is
 * never released expires, so a crashed caller cannot leak a slot forever.
 *
 * Unlike the rate algorithms this keeps one record per held lease, so state is
 * O(held leases) <= limit, which configuration caps at 10,000. Leases are kept sorted by
 * expiry, so expired ones are dropped from the front.
 */
import { checkCost, checkNowMs } from './checks.js';
import { RETRY_NEVER_MS, type AlgorithmResult, type CompiledRule, type TimestampMs } from './types.js';

export interface Lease {
  /** `<acquiredAtMs>.<seq>`: unique per key, even after the key's state expired and was dropped. */
  readonly id: string;
  readonly expiresAtMs: TimestampMs;
  readonly units: number;
}

export interface ConcurrencyState {
  /** Held leases, sorted by `expiresAtMs` ascending. Invariant: total units <= limit when written. */
  readonly leases: readonly Lease[];
  /** Sequence for the next lease id. */
  readonly nextSeq: number;
}

export interface ConcurrencyResult extends AlgorithmResult<ConcurrencyState> {
  /** The id to release the acquired lease with; null unless an acquire was allowed. */
  readonly leaseId: string | null;
}

/**
 * Acquires `cost` units at `nowMs` (cost 0 peeks). Negative costs are a caller mistake:
 * concurrency units are given back by `concurrencyRelease`, never by a refund.
 *
 * @example
 * ```ts
 * const r = concurrencyAcquire(undefined, { ...rule, algorithm: 'concurrency', limit: 2, leaseMs: 30_000 }, 1, 1000);
 * // r.allowed === true, r.leaseId === '1000.0', r.remaining === 1
 * ```
 */
export function concurrencyAcquire(
  state: ConcurrencyState | undefined,
  rule: CompiledRule,
  cost: number,
  nowMs: TimestampMs,
): ConcurrencyResult {
  checkNowMs(nowMs);
  checkCost(cost);
  if (cost < 0) {
    throw new RangeError(`'cost' must not be negative for a concurrency rule (got ${cost}); release the lease instead`);
  }
  const L = rule.limit;
  const leases = state === undefined ? [] : state.leases;
  const first = firstLive(leases, nowMs);
  let used = 0;
  for (let i = first; i < leases.length; i++) used += (leases[i] as Lease).units;
  const lastExpiryMs = leases.length > first ? (leases[leases.length - 1] as Lease).expiresAtMs : nowMs;
  if (used + cost <= L) {
    if (cost === 0) return decision(true, L, L - used, lastExpiryMs - nowMs, 0, null, null);
    const seq = state === undefined ? 0 : state.nextSeq;
    const lease: Lease = { id: `${nowMs}.${seq}`, expiresAtMs: nowMs + rule.leaseMs, units: cost };
    const live = leases.slice(first);
    insertSorted(live, lease);
    const resetMs = (live[live.length - 1] as Lease).expiresAtMs - nowMs;
    return decision(true, L, L - used - cost, resetMs, 0, { leases: live, nextSeq: seq + 1 }, lease.id);
  }
  let retryAfterMs = RETRY_NEVER_MS;
  if (cost <= L) {
    // Walk leases in expiry order until enough units would be free.
    let freed = 0;
    for (let i = first; i < leases.length; i++) {
      const lease = leases[i] as Lease;
      freed += lease.units;
      if (used - freed + cost <= L) {
        retryAfterMs = lease.expiresAtMs - nowMs;
        break;
      }
    }
  }
  return decision(false, L, Math.max(0, L - used), lastExpiryMs - nowMs, retryAfterMs, null, null);
}

/**
 * Releases lease `leaseId`. Returns the next state, or null when nothing changes (the
 * lease is unknown, already expired or already released: releasing twice is harmless).
 */
export function concurrencyRelease(
  state: ConcurrencyState | undefined,
  leaseId: string,
  nowMs: TimestampMs,
): ConcurrencyState | null {
  checkNowMs(nowMs);
  if (state === undefined) return null;
  const first = firstLive(state.leases, nowMs);
  for (let i = first; i < state.leases.length; i++) {
    if ((state.leases[i] as Lease).id === leaseId) {
      const live = state.leases.slice(first);
      live.splice(i - first, 1);
      return { leases: live, nextSeq: state.nextSeq };
    }
  }
  return null;
}

/** The instant after which `state` holds no lease, the same as no state at all. */
export function concurrencyExpiresAtMs(state: ConcurrencyState): TimestampMs {
  const last = state.leases[state.leases.length - 1];
  return last === undefined ? 0 : last.expiresAtMs;
}

/** Index of the first lease still held at `nowMs` (a lease is over once now >= expiresAtMs). */
function firstLive(leases: readonly Lease[], nowMs: number): number {
  let i = 0;
  while (i < leases.length && (leases[i] as Lease).expiresAtMs <= nowMs) i++;
  return i;
}

function insertSorted(leases: Lease[], lease: Lease): void {
  let i = leases.length;
  while (i > 0 && (leases[i - 1] as Lease).expiresAtMs > lease.expiresAtMs) i--;
  leases.splice(i, 0, lease);
}

function decision(
  allowed: boolean,
  limit: number,
  remaining: number,
  resetMs: number,
  retryAfterMs: number,
  next: ConcurrencyState | null,
  leaseId: string | null,
): ConcurrencyResult {
  return { allowed, limit, remaining, resetMs: Math.max(0, resetMs), retryAfterMs, next, leaseId };
}
