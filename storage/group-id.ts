/**
 * The identifier of a Raft group on a node's storage: an unsigned 32-bit integer, which is
 * what the LevelDB key prefix holds (4 bytes, big-endian, so one group's records sort
 * together). Made only by `toGroupId`.
 */

declare const groupIdBrand: unique symbol;

export type GroupId = number & { readonly [groupIdBrand]: true };

/** Largest group id: the key holds it in 4 bytes. */
export const GROUP_ID_MAX = 0xffff_ffff;

/**
 * The one constructor of `GroupId`.
 * @throws RangeError when `value` is not an integer in [0, 2^32 - 1].
 * @example
 * ```ts
 * const g = toGroupId(7);
 * ```
 */
export function toGroupId(value: number): GroupId {
  if (!Number.isInteger(value) || value < 0 || value > GROUP_ID_MAX) {
    throw new RangeError(`Invalid GroupId: must be an integer from 0 to ${GROUP_ID_MAX} (got ${String(value)})`);
  }
  return value as GroupId;
}
