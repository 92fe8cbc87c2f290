// Proves the table-driven CRC32C: the published check values (RFC 3720 B.4 and the
// "123456789" check), equality with the bitwise definition on random input, and chaining.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../storage/index.js';
import { fcParams } from '../support/fc-params.js';

/** The definition, one bit at a time: the naive reference the fast code is checked against. */
function crc32cBitwise(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('crc32c', () => {
  it('matches the published check values', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('equals the bitwise definition on any input at any alignment, and chains over any split', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(7), fc.nat(), (raw, skip, cut) => {
        // A view starting `skip` bytes into its buffer exercises the word path's alignment.
        const bytes = raw.subarray(Math.min(skip, raw.length));
        const whole = crc32c(bytes);
        expect(whole).toBe(crc32cBitwise(bytes));
        const at = bytes.length === 0 ? 0 : cut % bytes.length;
        expect(crc32c(bytes, at, bytes.length, crc32c(bytes, 0, at))).toBe(whole);
      }),
      fcParams(400),
    );
  });
});
