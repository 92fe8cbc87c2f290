// Proves the simulated network drops, duplicates, delays and reorders deterministically, and that its links are directed (asymmetric partitions).
import { describe, expect, it } from 'vitest';
import { NETWORK_RELIABLE, SimNetwork } from '../../chaos/sim/network.js';
import type { NetworkOptions } from '../../chaos/sim/network.js';
import { Prng } from '../../chaos/sim/prng.js';

function drain<M>(net: SimNetwork<M>): { timeMs: number; from: number; to: number; message: M; blocked: boolean }[] {
  const out = [];
  for (;;) {
    const d = net.popNext();
    if (d === undefined) return out;
    out.push({ timeMs: d.timeMs, from: d.delivery.from, to: d.delivery.to, message: d.delivery.message, blocked: d.blocked });
  }
}

const LOSSY: NetworkOptions = {
  ...NETWORK_RELIABLE,
  dropProbability: 0.3,
  duplicateProbability: 0.2,
  reorderProbability: 0.5,
  delayMsMax: 10,
  reorderDelayMsMax: 50,
};

describe('SimNetwork', () => {
  it('delivers every message once within the delay bounds when reliable', () => {
    const net = new SimNetwork<number>(new Prng(1), { ...NETWORK_RELIABLE, delayMsMin: 2, delayMsMax: 6 });
    for (let i = 0; i < 100; i++) net.send(1, 2, i, 0);
    const got = drain(net);
    expect(got.map((d) => d.message).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    for (const d of got) {
      expect(d.timeMs).toBeGreaterThanOrEqual(2);
      expect(d.timeMs).toBeLessThanOrEqual(6);
    }
  });

  it('drops, duplicates and reorders under a lossy profile, the same way for the same seed', () => {
    const run = (): number[] => {
      const net = new SimNetwork<number>(new Prng(42), LOSSY);
      for (let i = 0; i < 500; i++) net.send(1, 2, i, i);
      return drain(net).map((d) => d.message);
    };
    const a = run();
    expect(run()).toEqual(a);
    const unique = new Set(a);
    expect(unique.size).toBeLessThan(500); // some dropped
    expect(a.length).toBeGreaterThan(unique.size); // some duplicated
    const reordered = a.some((m, i) => i > 0 && m < (a[i - 1] as number));
    expect(reordered).toBe(true);
  });

  it('blocks one direction only: an asymmetric partition', () => {
    const net = new SimNetwork<string>(new Prng(3), NETWORK_RELIABLE);
    net.block(1, 2);
    expect(net.send(1, 2, 'a', 0)).toBe('dropped-partition');
    expect(net.send(2, 1, 'b', 0)).toBe('queued');
    expect(drain(net).map((d) => d.message)).toEqual(['b']);
  });

  it('loses messages in flight when a link is cut before they arrive', () => {
    const net = new SimNetwork<string>(new Prng(3), NETWORK_RELIABLE);
    net.send(1, 2, 'x', 0);
    net.partition([1], [2, 3]);
    const got = drain(net);
    expect(got).toHaveLength(1);
    expect(got[0]?.blocked).toBe(true);
    net.healAll();
    net.send(1, 2, 'y', 10);
    expect(drain(net).map((d) => [d.message, d.blocked])).toEqual([['y', false]]);
  });

  it('bounds messages in flight', () => {
    const net = new SimNetwork<number>(new Prng(1), { ...NETWORK_RELIABLE, inflightMessagesMax: 3 });
    const outcomes = [0, 1, 2, 3, 4].map((i) => net.send(1, 2, i, 0));
    expect(outcomes.filter((o) => o === 'dropped-overflow')).toHaveLength(2);
    expect(net.inflightCount).toBe(3);
  });

  it('rejects invalid options naming the option', () => {
    expect(() => new SimNetwork<number>(new Prng(1), { ...NETWORK_RELIABLE, dropProbability: 2 })).toThrow(/dropProbability/);
    expect(() => new SimNetwork<number>(new Prng(1), { ...NETWORK_RELIABLE, delayMsMin: 5, delayMsMax: 1 })).toThrow(/delayMs/);
  });
});
