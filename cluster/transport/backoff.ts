/**
 * Reconnect delays: jittered exponential backoff, a pure function of the attempt number
 * and a PRNG, so a seeded PRNG gives the same delays on every run.
 */
import { randomInt } from 'node:crypto';
import type { TransportPrng } from './types.js';

/**
 * Attempts past this one all use the top band; it also keeps `2 ** attempt` exact.
 * 2^30 × 1 ms already exceeds any allowed `reconnectDelayMsMax` (1 h).
 */
const ATTEMPT_EXPONENT_MAX = 30;

/**
 * The delay before reconnect attempt `attempt` (0 for the first retry after a failure):
 * uniform in [c/2, c] where c = min(max, min × 2^(attempt+1)), then clamped to [min, max].
 * So attempt 0 waits in [min, 2·min], each further attempt doubles the band until it
 * reaches [max/2, max]. Jitter keeps nodes that lost the same peer from dialing it in step.
 * @example
 * ```ts
 * reconnectDelayMs(0, 50, 5000, prng); // in [50, 100]
 * reconnectDelayMs(20, 50, 5000, prng); // in [2500, 5000]
 * ```
 */
export function reconnectDelayMs(attempt: number, delayMsMin: number, delayMsMax: number, prng: TransportPrng): number {
  const exponent = Math.min(Math.max(attempt, 0), ATTEMPT_EXPONENT_MAX) + 1;
  const ceiling = Math.min(delayMsMax, delayMsMin * 2 ** exponent);
  const floor = Math.max(delayMsMin, Math.floor(ceiling / 2));
  const low = Math.min(floor, ceiling);
  const delay = low + prng.nextInt(ceiling - low + 1);
  // Invariant: every delay lies in [delayMsMin, delayMsMax].
  if (delay < delayMsMin || delay > delayMsMax) {
    throw new Error(`reconnectDelayMs: delay ${delay} escaped [${delayMsMin}, ${delayMsMax}] (prng out of range?)`);
  }
  return delay;
}

/** A PRNG from the OS's CSPRNG, used when no seeded one is injected. */
export function systemPrng(): TransportPrng {
  return { nextInt: (maxExclusive: number): number => (maxExclusive <= 1 ? 0 : randomInt(maxExclusive)) };
}
