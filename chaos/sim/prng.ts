import type { Prng as RaftPrng } from '../../raft/index.js';

/**
 * Seeded pseudo-random source for the simulator: sfc32 (Small Fast Counter, 32-bit),
 * seeded through splitmix32 so that neighbouring seeds give unrelated streams.
 *
 * Every random choice inside a simulation comes from one of these, so a run is a pure
 * function of its seed. Independent concerns (network, faults, workload, each node)
 * draw from their own `fork()`ed stream, so adding a draw in one place does not shift
 * every other choice of the same seed. It is also the core's injected `Prng` (each node
 * gets a fork per incarnation).
 *
 * @example
 * ```ts
 * const prng = new Prng(42);
 * const die = prng.intBetween(1, 6);
 * const coin = prng.chance(0.5);
 * ```
 */
export class Prng implements RaftPrng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) {
      throw new RangeError(`Cannot seed Prng: 'seed' must be an integer (got ${String(seed)})`);
    }
    let s = seed >>> 0;
    const next = (): number => {
      // splitmix32: a bijective mixer, so distinct seeds start from distinct states.
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    // Discard the first outputs: sfc32's state needs a few rounds to mix.
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** A uniform integer in [0, 2^32). */
  nextU32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A uniform float in [0, 1). */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }

  /** A uniform integer in [0, maxExclusive). `maxExclusive` must be a positive integer. */
  nextInt(maxExclusive: number): number {
    if (!Number.isInteger(maxExclusive) || maxExclusive <= 0 || maxExclusive > 4294967296) {
      throw new RangeError(`Cannot draw: 'maxExclusive' must be an integer in [1, 2^32] (got ${maxExclusive})`);
    }
    return Math.floor(this.nextFloat() * maxExclusive);
  }

  /** A uniform integer in [min, max], both inclusive. */
  intBetween(min: number, max: number): number {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) {
      throw new RangeError(`Cannot draw: need integers 'min' <= 'max' (got ${min} and ${max})`);
    }
    return min + this.nextInt(max - min + 1);
  }

  /** A uniform float in [min, max). */
  floatBetween(min: number, max: number): number {
    return min + this.nextFloat() * (max - min);
  }

  /** True with probability `p` (clamped to [0, 1]). Draws even when `p` is 0 or 1, so streams stay aligned. */
  chance(p: number): boolean {
    return this.nextFloat() < p;
  }

  /** One element of a non-empty array, uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Cannot pick from an empty array');
    const item = items[this.nextInt(items.length)];
    if (item === undefined) throw new Error('unreachable: index within bounds');
    return item;
  }

  /** Fisher-Yates shuffle of a copy of `items`. */
  shuffled<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = out[i] as T;
      out[i] = out[j] as T;
      out[j] = tmp;
    }
    return out;
  }

  /** An independent stream seeded from this one. */
  fork(): Prng {
    return new Prng(this.nextU32());
  }
}
