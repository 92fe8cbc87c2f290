// Proves key → slot is the byte-level hash it claims (checked against a reference over
// TextEncoder bytes), honours hash tags, and spreads keys evenly over the slots.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SLOT_COUNT, slotOf } from '../../src/protocol/slot.js';
import { fcParams } from '../support/fc-params.js';

/** Reference: the same hash over bytes from TextEncoder. */
function referenceSlot(key: string): number {
  const open = key.indexOf('{');
  const close = open >= 0 ? key.indexOf('}', open + 1) : -1;
  const part = close > open + 1 ? key.slice(open + 1, close) : key;
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(part)) h = Math.imul(h ^ byte, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) & (SLOT_COUNT - 1);
}

describe('slotOf', () => {
  it('equals the hash of the UTF-8 bytes for any string, including astral and lone surrogates', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (key) => slotOf(key) === referenceSlot(key)),
      fcParams(2000),
    );
  });

  it('hashes only a non-empty hash tag', () => {
    expect(slotOf('{tenant:7}:user:1')).toBe(slotOf('{tenant:7}:user:2'));
    expect(slotOf('{tenant:7}:user:1')).toBe(slotOf('tenant:7'));
    expect(slotOf('{}:a')).toBe(referenceSlot('{}:a'));
  });

  it('is stable across releases (pinned values)', () => {
    // Changing these moves every key in every deployed cluster: never do it by accident.
    expect([slotOf(''), slotOf('user:42'), slotOf('ip:203.0.113.9')]).toEqual([
      referenceSlot(''),
      referenceSlot('user:42'),
      referenceSlot('ip:203.0.113.9'),
    ]);
    expect(slotOf('user:42')).toMatchInlineSnapshot(`3090`);
  });

  it('spreads sequential keys evenly (no slot above 2x the mean over 400k keys)', () => {
    const counts = new Uint32Array(SLOT_COUNT);
    const n = 400_000;
    for (let i = 0; i < n; i++) counts[slotOf(`user:${i}`)]! += 1;
    const mean = n / SLOT_COUNT;
    expect(Math.max(...counts)).toBeLessThan(2 * mean);
    expect(Math.min(...counts)).toBeGreaterThan(mean / 2);
  });
});
