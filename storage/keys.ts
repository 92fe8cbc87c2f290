/**
 * LevelDB key layout. Keys are binary and big-endian so that LevelDB's bytewise order
 * keeps each group's records together and its log in index order:
 *
 *   [0x00]                                                   node meta (format version)
 *   [0x01][group u32][0x01]                                  group state: hard state and log bounds
 *                                                            (compaction point, last index/term)
 *   [0x01][group u32][0x03]                                  snapshot meta
 *   [0x01][group u32][0x04]                                  applied index
 *   [0x01][group u32][0x05][index u64]                       log entry
 *   [0x01][group u32][0x06][generation u32][chunk u32]       snapshot data chunk
 *   [0x02][group u32]                                        corrupt marker (outside the group's
 *                                                            range, so wiping the range keeps it)
 */
import { GROUP_ID_MAX, type GroupId } from './group-id.js';

export const PREFIX_NODE = 0x00;
export const PREFIX_GROUP = 0x01;
export const PREFIX_CORRUPT = 0x02;

/** Record types: the byte after the group id in a key, and byte 1 of every record value. */
export const RecordType = {
  /** Hard state and log bounds in one record: every persist writes one small record, not two. (0x02 is unused.) */
  state: 0x01,
  snapshotMeta: 0x03,
  applied: 0x04,
  entry: 0x05,
  snapshotChunk: 0x06,
  /** Value types only (their keys have other prefixes). */
  nodeMeta: 0x10,
  corruptMarker: 0x11,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

const TWO_32 = 2 ** 32;

export function writeU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, Math.floor(value / TWO_32));
  view.setUint32(offset + 4, value >>> 0);
}

/** Reads a u64 written by `writeU64`; returns -1 when it exceeds 2^53 - 1 (never written by us). */
export function readU64(view: DataView, offset: number): number {
  const hi = view.getUint32(offset);
  if (hi >= 2 ** 21) return -1;
  return hi * TWO_32 + view.getUint32(offset + 4);
}

export const NODE_META_KEY = new Uint8Array([PREFIX_NODE]);

function groupKey(groupId: GroupId, type: RecordType, suffixBytes: number): { key: Uint8Array; view: DataView } {
  const key = new Uint8Array(6 + suffixBytes);
  const view = new DataView(key.buffer);
  key[0] = PREFIX_GROUP;
  view.setUint32(1, groupId);
  key[5] = type;
  return { key, view };
}

/** Writes `value` (a safe integer) big-endian into key[at, at + 8). */
function putU64(key: Uint8Array, at: number, value: number): void {
  let hi = Math.floor(value / TWO_32);
  let lo = value >>> 0;
  for (let k = 3; k >= 0; k--) {
    key[at + k] = hi & 0xff;
    hi >>>= 8;
    key[at + 4 + k] = lo & 0xff;
    lo >>>= 8;
  }
}

export function stateKey(groupId: GroupId): Uint8Array {
  return groupKey(groupId, RecordType.state, 0).key;
}

export function snapshotMetaKey(groupId: GroupId): Uint8Array {
  return groupKey(groupId, RecordType.snapshotMeta, 0).key;
}

export function appliedKey(groupId: GroupId): Uint8Array {
  return groupKey(groupId, RecordType.applied, 0).key;
}

/** The hot path (one per entry written or read): bytes set directly, no DataView. */
export function entryKey(groupId: GroupId, index: number): Uint8Array {
  const key = new Uint8Array(14);
  key[0] = PREFIX_GROUP;
  key[1] = groupId >>> 24;
  key[2] = (groupId >>> 16) & 0xff;
  key[3] = (groupId >>> 8) & 0xff;
  key[4] = groupId & 0xff;
  key[5] = RecordType.entry;
  putU64(key, 6, index);
  return key;
}

export function snapshotChunkKey(groupId: GroupId, generation: number, chunk: number): Uint8Array {
  const { key, view } = groupKey(groupId, RecordType.snapshotChunk, 8);
  view.setUint32(6, generation);
  view.setUint32(10, chunk);
  return key;
}

export function corruptMarkerKey(groupId: GroupId): Uint8Array {
  const key = new Uint8Array(5);
  key[0] = PREFIX_CORRUPT;
  new DataView(key.buffer).setUint32(1, groupId);
  return key;
}

/** [gte, lt) bounds of every key of one record type of a group. */
export function typeRange(groupId: GroupId, type: RecordType): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: groupKey(groupId, type, 0).key, lt: groupKey(groupId, (type + 1) as RecordType, 0).key };
}

/** [gte, lt) bounds of every key in a group's range (not its corrupt marker). */
export function groupRange(groupId: GroupId): { gte: Uint8Array; lt: Uint8Array } {
  const gte = new Uint8Array(5);
  gte[0] = PREFIX_GROUP;
  new DataView(gte.buffer).setUint32(1, groupId);
  if (groupId === GROUP_ID_MAX) return { gte, lt: new Uint8Array([PREFIX_GROUP + 1]) };
  const lt = new Uint8Array(5);
  lt[0] = PREFIX_GROUP;
  new DataView(lt.buffer).setUint32(1, groupId + 1);
  return { gte, lt };
}

/** [gte, lt) bounds of all group records, or of all corrupt markers. */
export function prefixRange(prefix: typeof PREFIX_GROUP | typeof PREFIX_CORRUPT): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: new Uint8Array([prefix]), lt: new Uint8Array([prefix + 1]) };
}

/** The group id in a key with prefix PREFIX_GROUP or PREFIX_CORRUPT; -1 when too short. */
export function groupIdOfKey(key: Uint8Array): number {
  if (key.length < 5) return -1;
  return new DataView(key.buffer, key.byteOffset, key.byteLength).getUint32(1);
}

/** The log index in an entry key; -1 when the key is not one. */
export function indexOfEntryKey(key: Uint8Array): number {
  if (key.length !== 14 || key[5] !== RecordType.entry) return -1;
  return readU64(new DataView(key.buffer, key.byteOffset, key.byteLength), 6);
}

/** Generation and chunk number in a snapshot chunk key; null when the key is not one. */
export function parseChunkKey(key: Uint8Array): { generation: number; chunk: number } | null {
  if (key.length !== 14 || key[5] !== RecordType.snapshotChunk) return null;
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  return { generation: view.getUint32(6), chunk: view.getUint32(10) };
}
