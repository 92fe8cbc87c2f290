/**
 * Key → slot: the one function the SDK and every node use to place a key, so they can
 * never disagree on where a key lives. Like Redis Cluster's hash slots, but hashing the
 * whole client key (all resources of one key share a slot, so multi-resource checks of a
 * key are decided atomically in one group), unless the key has a hash tag: the part
 * between the first `{` and the next `}`, when non-empty, is hashed instead, so
 * `{tenant:7}:user:1` and `{tenant:7}:user:2` land in the same slot on purpose.
 */

/** Fixed number of slots. A power of two so `hash & (SLOTS - 1)` is the slot; 4096 is
 * enough to spread load over ~1000 groups yet small enough to ship the whole map. */
export const SLOT_COUNT = 4096;

declare const slotBrand: unique symbol;
/** A slot number in [0, SLOT_COUNT). */
export type SlotId = number & { readonly [slotBrand]: true };

/**
 * The slot of `key`: FNV-1a over the UTF-8 bytes of the key (or of its hash tag), then
 * a murmur3 finalizer so the low bits mix well. Allocates nothing.
 *
 * @example
 * ```ts
 * slotOf('user:42') === slotOf('user:42'); // always
 * slotOf('{t1}:a') === slotOf('{t1}:b');    // hash tag
 * ```
 */
export function slotOf(key: string): SlotId {
  let start = 0;
  let end = key.length;
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    let c = key.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, 0x01000193);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) {
      const lo = key.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    } else if (c >= 0xd800 && c <= 0xdfff) {
      c = 0xfffd; // a lone surrogate encodes as U+FFFD, as TextEncoder does
    }
    if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), 0x01000193);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), 0x01000193);
    } else if (c < 0x10000) {
      h = Math.imul(h ^ (0xe0 | (c >> 12)), 0x01000193);
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), 0x01000193);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), 0x01000193);
    } else {
      h = Math.imul(h ^ (0xf0 | (c >> 18)), 0x01000193);
      h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), 0x01000193);
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), 0x01000193);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), 0x01000193);
    }
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return ((h >>> 0) & (SLOT_COUNT - 1)) as SlotId;
}
