/**
 * Bounds of the client-facing protocol, shared by nodes, the SDK and the configuration
 * validator, so a key or name accepted in one place is accepted everywhere.
 */

/** Client keys are opaque, 1 to 256 bytes of UTF-8: long enough for composite ids, short enough to index. */
export const KEY_BYTES_MAX = 256;

/** Resource and tier names: short, printable, safe in paths, metrics labels and logs. */
export const NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Resources one check may name: a multi-resource check counts against all atomically. */
export const CHECK_RESOURCES_MAX = 16;

/** Largest cost of one check; the same bound as a rule's limit, so any allowed cost fits. */
export const COST_MAX = 1_000_000_000;

/** Idempotency ids (client id + sequence): bounded so remembered answers stay small. */
export const IDEMPOTENCY_ID_BYTES_MAX = 128;

/** Largest HTTP request body: a batch of a few hundred checks; anything bigger is a mistake or an attack. */
export const HTTP_BODY_BYTES_MAX = 64 * 1024;

/** Checks in one batch request (HTTP `/v1/check/batch` or one WebSocket frame). */
export const BATCH_CHECKS_MAX = 1000;

/** UTF-8 length of `s` without allocating. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}
