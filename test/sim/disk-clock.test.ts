// Proves the simulated disk loses exactly the unsynced writes in a crash (keeping an in-order prefix at most) and that drifting clocks stay monotonic within their bound.
import { describe, expect, it } from 'vitest';
import { DriftingClock, VirtualClock } from '../../chaos/sim/clock.js';
import { SimDisk } from '../../chaos/sim/disk.js';
import { TimedHeap } from '../../chaos/sim/heap.js';
import { Prng } from '../../chaos/sim/prng.js';

function newDisk(): SimDisk<number[], number> {
  return new SimDisk<number[], number>([], (img, w) => {
    img.push(w);
  });
}

describe('SimDisk', () => {
  it('keeps synced writes and loses unsynced ones in a crash', () => {
    const d = newDisk();
    const a = d.write(1);
    d.write(2);
    d.syncThrough(a);
    d.write(3);
    expect(d.persisted).toEqual([1]);
    expect(d.crash(0)).toBe(2);
    expect(d.persisted).toEqual([1]);
    expect(d.pendingCount).toBe(0);
  });

  it('a crash may keep an in-order prefix of unsynced writes, never a later one alone', () => {
    const d = newDisk();
    d.write(1);
    d.write(2);
    d.write(3);
    expect(d.crash(2)).toBe(1);
    expect(d.persisted).toEqual([1, 2]);
  });

  it('syncAll persists everything in order', () => {
    const d = newDisk();
    d.write(5);
    d.write(6);
    d.syncAll();
    expect(d.persisted).toEqual([5, 6]);
    expect(d.isSynced(d.lastWriteId)).toBe(true);
  });
});

describe('clocks', () => {
  it('virtual time never goes backwards', () => {
    const c = new VirtualClock();
    c.advanceTo(5);
    expect(() => c.advanceTo(4)).toThrow(/backwards/);
  });

  it('a drifting clock is continuous and monotonic across rate changes, and refuses rates beyond its bound', () => {
    const c = new DriftingClock({ driftMax: 0.05, startLocalMs: 100 });
    c.setRate(0, 1.05);
    expect(c.localAt(100)).toBeCloseTo(205);
    c.setRate(100, 0.95);
    expect(c.localAt(100)).toBeCloseTo(205);
    expect(c.localAt(200)).toBeCloseTo(300);
    expect(c.realWhen(300)).toBeCloseTo(200);
    expect(() => c.setRate(200, 1.2)).toThrow(/rate/);
  });
});

describe('TimedHeap', () => {
  it('pops in (time, insertion) order, like a stable sort', () => {
    const h = new TimedHeap<number>();
    const prng = new Prng(9);
    const items: { t: number; v: number }[] = [];
    for (let v = 0; v < 300; v++) {
      const t = prng.nextInt(20);
      items.push({ t, v });
      h.push(t, v);
    }
    const expected = items.slice().sort((a, b) => a.t - b.t || a.v - b.v).map((x) => x.v);
    const got: number[] = [];
    for (let x = h.pop(); x !== undefined; x = h.pop()) got.push(x.item);
    expect(got).toEqual(expected);
  });

  it('removeWhere keeps the order of the rest', () => {
    const h = new TimedHeap<number>();
    for (let v = 0; v < 10; v++) h.push(10 - v, v);
    expect(h.removeWhere((v) => v % 2 === 0)).toBe(5);
    const got: number[] = [];
    for (let x = h.pop(); x !== undefined; x = h.pop()) got.push(x.item);
    expect(got).toEqual([9, 7, 5, 3, 1]);
  });
});
