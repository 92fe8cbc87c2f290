/**
 * Small non-cryptographic hashes for the invariant checkers: 53-bit values (safe JS
 * integers) so that thousands of entries per run do not collide in practice. A collision
 * could only hide a difference, never report a false one.
 */

/** cyrb53 over bytes, seeded. */
export function hashBytes(bytes: Uint8Array, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < bytes.length; i++) {
    const ch = bytes[i] as number;
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  return finish(h1, h2);
}

/** cyrb53 over a string's UTF-16 code units. */
export function hashString(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  return finish(h1, h2);
}

/** Combines a running hash with two more numbers (e.g. a chain hash with an entry's term and hash). */
export function mixHash(prev: number, a: number, b: number): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (const v of [prev, a, b]) {
    // Split each safe integer into two 32-bit halves so no bit is lost.
    const lo = v >>> 0;
    const hi = Math.floor(v / 4294967296) >>> 0;
    h1 = Math.imul(h1 ^ lo, 2654435761);
    h2 = Math.imul(h2 ^ lo, 1597334677);
    h1 = Math.imul(h1 ^ hi, 2654435761);
    h2 = Math.imul(h2 ^ hi, 1597334677);
  }
  return finish(h1, h2);
}

function finish(h1In: number, h2In: number): number {
  let h1 = h1In;
  let h2 = h2In;
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
