// Proves the clock-skew monitor measures a peer's offset from one ping/pong within half
// the round trip, and flags this node as skewed only when every peer disagrees with it.
import { describe, expect, it } from 'vitest';
import { CLOCK_CHANNEL, ClockSkewMonitor } from '../../src/node/clock-skew.js';

/** Two monitors wired back to back; `b`'s wall clock runs `offsetMs` ahead; each hop takes `hopMs`. */
function pair(offsetMs: number, hopMs: number): { a: ClockSkewMonitor; run: () => void } {
  let mono = 0;
  const wallA = (): number => 1_000_000 + mono;
  const wallB = (): number => 1_000_000 + mono + offsetMs;
  const queue: (() => void)[] = [];
  let a: ClockSkewMonitor | null = null;
  let b: ClockSkewMonitor | null = null;
  a = new ClockSkewMonitor({ send: (_to, ch, m) => queue.push(() => { expect(ch).toBe(CLOCK_CHANNEL); mono += hopMs; b?.receive('a', m); }), onMessage: () => undefined }, { wallNowMs: wallA, monoNowMs: () => mono });
  b = new ClockSkewMonitor({ send: (_to, _ch, m) => queue.push(() => { mono += hopMs; a?.receive('b', m); }), onMessage: () => undefined }, { wallNowMs: wallB, monoNowMs: () => mono });
  return {
    a,
    run: () => {
      while (queue.length > 0) (queue.shift() as () => void)();
    },
  };
}

describe('ClockSkewMonitor', () => {
  it('measures a peer running 300 ms ahead, within half the round trip', () => {
    const { a, run } = pair(300, 4);
    a.probe(['b']);
    run();
    expect(a.offsetMs('b')).toBeCloseTo(300, 0);
  });

  it('flags this node only when it disagrees with every peer', () => {
    const { a, run } = pair(900, 1);
    a.probe(['b']);
    run();
    expect(a.selfSkewed(500)).toBe(true);
    expect(a.selfSkewed(1000)).toBe(false);
  });

  it('ignores malformed probes', () => {
    const { a } = pair(0, 1);
    a.receive('x', { t: 'pong', mono: 'no' });
    a.receive('x', null);
    expect(a.all().size).toBe(0);
  });
});
