// Proves the simulator's PRNG is a pure function of its seed, stays in range and spreads its draws.
import { describe, expect, it } from 'vitest';
import { Prng } from '../../chaos/sim/prng.js';

describe('Prng', () => {
  it('same seed gives the same stream; different seeds differ', () => {
    const a = new Prng(7);
    const b = new Prng(7);
    const c = new Prng(8);
    const sa = Array.from({ length: 50 }, () => a.nextU32());
    const sb = Array.from({ length: 50 }, () => b.nextU32());
    const sc = Array.from({ length: 50 }, () => c.nextU32());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
  });

  it('nextInt stays within [0, n) and hits every value', () => {
    const p = new Prng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const v = p.nextInt(10);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(10);
      seen.add(v);
    }
    expect(seen.size).toBe(10);
  });

  it('chance(p) is roughly p', () => {
    const p = new Prng(3);
    let hits = 0;
    for (let i = 0; i < 10_000; i++) if (p.chance(0.3)) hits++;
    expect(hits).toBeGreaterThan(2700);
    expect(hits).toBeLessThan(3300);
  });

  it('fork gives an independent, reproducible stream', () => {
    const a = new Prng(5).fork();
    const b = new Prng(5).fork();
    expect(a.nextU32()).toBe(b.nextU32());
  });

  it('rejects bad arguments with a RangeError naming them', () => {
    expect(() => new Prng(1.5)).toThrow(/seed/);
    expect(() => new Prng(1).nextInt(0)).toThrow(/maxExclusive/);
    expect(() => new Prng(1).pick([])).toThrow(/empty/);
  });
});
