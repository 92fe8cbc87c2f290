/**
 * A small seeded PRNG (mulberry32) implementing the core's `Prng` dependency, for tests,
 * the benchmark and shells that want a deterministic source. Each call to
 * `createSeededPrng` returns an independent generator; there is no shared state.
 */
import type { Prng } from './types.js';

/**
 * A deterministic `Prng` from a 32-bit integer seed.
 * @example
 * ```ts
 * const prng = createSeededPrng(42);
 * prng.nextInt(10); // the same value for the same seed, every run
 * ```
 */
export function createSeededPrng(seed: number): Prng {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`createSeededPrng: 'seed' must be a safe integer (got ${String(seed)})`);
  let state = seed >>> 0;
  const next32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    nextInt(maxExclusive: number): number {
      if (!Number.isSafeInteger(maxExclusive) || maxExclusive < 1 || maxExclusive > 0x1_0000_0000) {
        throw new RangeError(`Prng.nextInt: 'maxExclusive' must be an integer in [1, 2^32] (got ${String(maxExclusive)})`);
      }
      return next32() % maxExclusive;
    },
  };
}
