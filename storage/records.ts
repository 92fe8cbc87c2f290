/**
 * Record format: every value this layer writes starts with a 24-byte header carrying a
 * format version and a CRC32C, and repeats the identity its key gives it (group, type,
 * position), so a damaged value, a renamed key and a misdirected write all fail
 * verification instead of being served.
 *
 *   0  u8   format version (FORMAT_VERSION)
 *   1  u8   record type (RecordType)
 *   2  u16  reserved, 0
 *   4  u32  CRC32C of bytes [0, 4) and [8, end)
 *   8  u32  group id (0 for node-wide records)
 *   12 u32  payload length
 *   16 u64  position: entry index, snapshot index, 0 for single records
 *   24      payload (per type, below)
 *
 * Integers are big-endian; u64 values are safe integers (below 2^53).
 */
import type { ConfState, Entry, EntryType, HardState, LogIndex, NodeId, Term } from '../raft/index.js';
import { NODE_ID_LENGTH_MAX } from '../raft/index.js';
import { Buffer } from 'node:buffer';
import { crc32c } from './crc32c.js';
import { StorageCorruptionError, type CorruptionReason } from './errors.js';
import type { GroupId } from './group-id.js';
import { readU64, RecordType, writeU64 } from './keys.js';

/** The record format this build writes and reads. */
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 24;
/** Members of a ConfState we accept in a record: raft's CONF_MEMBERS_MAX is 64; 4096 leaves room without letting a damaged count allocate much. */
const CONF_MEMBERS_RECORD_MAX = 4096;
/** Longest message kept in a corrupt marker: enough for a sentence and a few numbers. */
export const MARKER_MESSAGE_BYTES_MAX = 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

const ENTRY_TYPE_CODES: Record<EntryType, number> = { normal: 0, confChange: 1 };
const ENTRY_TYPES: readonly EntryType[] = ['normal', 'confChange'];

function describe(type: number, position: number): string {
  switch (type) {
    case RecordType.entry:
      return `log entry ${position}`;
    case RecordType.state:
      return 'group state record (hard state and log bounds)';
    case RecordType.snapshotMeta:
      return 'snapshot meta record';
    case RecordType.applied:
      return 'applied index record';
    case RecordType.snapshotChunk:
      return `snapshot chunk (snapshot index ${position})`;
    case RecordType.nodeMeta:
      return 'node meta record';
    case RecordType.corruptMarker:
      return 'corrupt marker';
    default:
      return `record of type ${type}`;
  }
}

/**
 * Allocates a record with room for `payloadBytes` and fills the header except the CRC.
 * The memory is not zeroed (Buffer.allocUnsafe: a pooled slice, measured ~10% of the
 * persist path's CPU when zeroed): every encoder writes every payload byte.
 */
function allocate(type: RecordType, groupId: number, position: number, payloadBytes: number): { bytes: Uint8Array; view: DataView } {
  const bytes = Buffer.allocUnsafe(HEADER_BYTES + payloadBytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  bytes[0] = FORMAT_VERSION;
  bytes[1] = type;
  bytes[2] = 0;
  bytes[3] = 0;
  view.setUint32(8, groupId);
  view.setUint32(12, payloadBytes);
  writeU64(view, 16, position);
  return { bytes, view };
}

function seal(bytes: Uint8Array, view: DataView): Uint8Array {
  view.setUint32(4, crc32c(bytes, 8, bytes.length, crc32c(bytes, 0, 4)));
  return bytes;
}

/** What a reader expects of a record: the identity its key gives it. */
export interface Expected {
  readonly groupId: GroupId | null;
  readonly type: RecordType;
  /** The position the key implies; null when the key does not imply one. */
  readonly position: number | null;
}

/** A verified record: its header fields and a view of its payload. */
export interface OpenedRecord {
  readonly position: number;
  readonly payload: Uint8Array;
  readonly view: DataView;
}

function corrupt(expected: Expected, position: number | null, reason: CorruptionReason, message: string): StorageCorruptionError {
  const index = expected.type === RecordType.entry || expected.type === RecordType.snapshotChunk ? position : null;
  return new StorageCorruptionError({ groupId: expected.groupId, index, reason, message: `${describe(expected.type, position ?? 0)}: ${message}` });
}

/**
 * Verifies a record read from disk against the identity its key gives it.
 * @throws StorageCorruptionError naming the group and position when any check fails.
 */
export function openRecord(value: Uint8Array, expected: Expected): OpenedRecord {
  const pos = expected.position;
  if (value.length < HEADER_BYTES) throw corrupt(expected, pos, 'malformed', `${value.length} bytes, shorter than the ${HEADER_BYTES}-byte header`);
  if (value[0] !== FORMAT_VERSION) {
    throw corrupt(expected, pos, 'formatVersion', `format version ${String(value[0])} is not supported (this build reads version ${FORMAT_VERSION})`);
  }
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const stored = view.getUint32(4);
  const computed = crc32c(value, 8, value.length, crc32c(value, 0, 4));
  if (stored !== computed) {
    throw corrupt(expected, pos, 'checksum', `checksum mismatch (stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)})`);
  }
  if (value[1] !== expected.type) throw corrupt(expected, pos, 'keyMismatch', `holds a ${describe(value[1] as number, 0)}`);
  if (view.getUint16(2) !== 0) throw corrupt(expected, pos, 'malformed', `reserved header bytes are ${view.getUint16(2)}, not 0`);
  const groupId = view.getUint32(8);
  if (groupId !== (expected.groupId ?? 0)) throw corrupt(expected, pos, 'groupMismatch', `belongs to group ${groupId}`);
  const payloadBytes = view.getUint32(12);
  if (payloadBytes !== value.length - HEADER_BYTES) {
    throw corrupt(expected, pos, 'malformed', `header says ${payloadBytes} payload bytes, record holds ${value.length - HEADER_BYTES}`);
  }
  const position = readU64(view, 16);
  if (position < 0) throw corrupt(expected, pos, 'malformed', 'position beyond 2^53');
  if (pos !== null && position !== pos) throw corrupt(expected, pos, 'keyMismatch', `holds position ${position}`);
  // A plain Uint8Array view (LevelDB hands out Buffers): entries compare equal wherever they came from.
  const payload = new Uint8Array(value.buffer, value.byteOffset + HEADER_BYTES, value.byteLength - HEADER_BYTES);
  return { position, payload, view: new DataView(payload.buffer, payload.byteOffset, payload.byteLength) };
}

/** A payload reader that turns any out-of-range read into a `malformed` corruption. */
class PayloadReader {
  private offset = 0;
  constructor(
    private readonly rec: OpenedRecord,
    private readonly expected: Expected,
  ) {}

  private need(n: number): void {
    if (this.offset + n > this.rec.payload.length) {
      throw corrupt(this.expected, this.rec.position, 'malformed', `payload ends at byte ${this.rec.payload.length}, field needs ${this.offset + n}`);
    }
  }

  u8(): number {
    this.need(1);
    return this.rec.view.getUint8(this.offset++);
  }

  u16(): number {
    this.need(2);
    const v = this.rec.view.getUint16(this.offset);
    this.offset += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.rec.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }

  u64(): number {
    this.need(8);
    const v = readU64(this.rec.view, this.offset);
    if (v < 0) throw corrupt(this.expected, this.rec.position, 'malformed', `u64 field at byte ${this.offset} beyond 2^53`);
    this.offset += 8;
    return v;
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.rec.payload.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  rest(): Uint8Array {
    const out = this.rec.payload.subarray(this.offset);
    this.offset = this.rec.payload.length;
    return out;
  }

  string(n: number): string {
    const b = this.bytes(n);
    try {
      return decoder.decode(b);
    } catch (cause) {
      throw corrupt(this.expected, this.rec.position, 'malformed', `invalid UTF-8 in a string field (${String(cause)})`);
    }
  }

  nodeId(): NodeId {
    const n = this.u16();
    const s = this.string(n);
    if (s.length === 0 || s.length > NODE_ID_LENGTH_MAX) throw corrupt(this.expected, this.rec.position, 'malformed', `node id of length ${s.length}`);
    return s as NodeId;
  }

  end(): void {
    if (this.offset !== this.rec.payload.length) {
      throw corrupt(this.expected, this.rec.position, 'malformed', `${this.rec.payload.length - this.offset} trailing payload bytes`);
    }
  }

  fail(message: string): StorageCorruptionError {
    return corrupt(this.expected, this.rec.position, 'malformed', message);
  }
}

function reader(value: Uint8Array, expected: Expected): PayloadReader {
  return new PayloadReader(openRecord(value, expected), expected);
}

// ---------------------------------------------------------------------------------------
// Log entries: term u64, type u8, data
// ---------------------------------------------------------------------------------------

export const ENTRY_PAYLOAD_OVERHEAD = 9;

export function encodeEntry(groupId: GroupId, entry: Entry): Uint8Array {
  const { bytes, view } = allocate(RecordType.entry, groupId, entry.index, ENTRY_PAYLOAD_OVERHEAD + entry.data.byteLength);
  writeU64(view, HEADER_BYTES, entry.term);
  bytes[HEADER_BYTES + 8] = ENTRY_TYPE_CODES[entry.type];
  bytes.set(entry.data, HEADER_BYTES + ENTRY_PAYLOAD_OVERHEAD);
  return seal(bytes, view);
}

export function decodeEntry(groupId: GroupId, index: number, value: Uint8Array): Entry {
  const r = reader(value, { groupId, type: RecordType.entry, position: index });
  const term = r.u64();
  const code = r.u8();
  const type = ENTRY_TYPES[code];
  if (type === undefined) throw r.fail(`unknown entry type code ${code}`);
  return { term: term as Term, index: index as LogIndex, type, data: r.rest() };
}

// ---------------------------------------------------------------------------------------
// Group state: the hard state and the log bounds, rewritten in the same batch as every
// change of either. term u64, commit u64, offset index u64, offset term u64, last index
// u64, last term u64, vote (u16 length, UTF-8; length 0 = null).
// ---------------------------------------------------------------------------------------

/** The log's bounds: entries (offsetIndex, lastIndex] are stored; offsetTerm is the term at the compaction point. */
export interface LogMeta {
  readonly offsetIndex: LogIndex;
  readonly offsetTerm: Term;
  readonly lastIndex: LogIndex;
  readonly lastTerm: Term;
}

export interface GroupState {
  readonly hardState: HardState;
  readonly log: LogMeta;
}

export function encodeGroupState(groupId: GroupId, s: GroupState): Uint8Array {
  const hs = s.hardState;
  const vote = hs.vote === null ? new Uint8Array(0) : encoder.encode(hs.vote);
  const { bytes, view } = allocate(RecordType.state, groupId, 0, 50 + vote.length);
  const o = HEADER_BYTES;
  writeU64(view, o, hs.term);
  writeU64(view, o + 8, hs.commit);
  writeU64(view, o + 16, s.log.offsetIndex);
  writeU64(view, o + 24, s.log.offsetTerm);
  writeU64(view, o + 32, s.log.lastIndex);
  writeU64(view, o + 40, s.log.lastTerm);
  view.setUint16(o + 48, vote.length);
  bytes.set(vote, o + 50);
  return seal(bytes, view);
}

export function decodeGroupState(groupId: GroupId, value: Uint8Array): GroupState {
  const r = reader(value, { groupId, type: RecordType.state, position: 0 });
  const term = r.u64() as Term;
  const commit = r.u64() as LogIndex;
  const log: LogMeta = { offsetIndex: r.u64() as LogIndex, offsetTerm: r.u64() as Term, lastIndex: r.u64() as LogIndex, lastTerm: r.u64() as Term };
  const voteBytes = r.u16();
  let vote: NodeId | null = null;
  if (voteBytes > 0) {
    const s = r.string(voteBytes);
    if (s.length > NODE_ID_LENGTH_MAX) throw r.fail(`vote of length ${s.length}`);
    vote = s as NodeId;
  }
  r.end();
  if (log.lastIndex < log.offsetIndex) throw r.fail(`last index ${log.lastIndex} below offset ${log.offsetIndex}`);
  return { hardState: { term, vote, commit }, log };
}

// ---------------------------------------------------------------------------------------
// Snapshot meta: term u64, dataBytes u64, generation u32, chunkBytes u32, chunkCount u32,
// confState (voters then learners: u16 count, each u16 length + UTF-8)
// ---------------------------------------------------------------------------------------

export interface StoredSnapshotMeta {
  readonly index: LogIndex;
  readonly term: Term;
  readonly confState: ConfState;
  readonly dataBytes: number;
  /** Chunk keys of this snapshot carry this generation; others are garbage. */
  readonly generation: number;
  readonly chunkBytes: number;
  readonly chunkCount: number;
}

export function encodeSnapshotMeta(groupId: GroupId, m: StoredSnapshotMeta): Uint8Array {
  const voters = m.confState.voters.map((v) => encoder.encode(v));
  const learners = m.confState.learners.map((v) => encoder.encode(v));
  let confBytes = 4;
  for (const b of voters) confBytes += 2 + b.length;
  for (const b of learners) confBytes += 2 + b.length;
  const { bytes, view } = allocate(RecordType.snapshotMeta, groupId, m.index, 28 + confBytes);
  let o = HEADER_BYTES;
  writeU64(view, o, m.term);
  writeU64(view, o + 8, m.dataBytes);
  view.setUint32(o + 16, m.generation);
  view.setUint32(o + 20, m.chunkBytes);
  view.setUint32(o + 24, m.chunkCount);
  o += 28;
  for (const list of [voters, learners]) {
    view.setUint16(o, list.length);
    o += 2;
    for (const b of list) {
      view.setUint16(o, b.length);
      bytes.set(b, o + 2);
      o += 2 + b.length;
    }
  }
  return seal(bytes, view);
}

export function decodeSnapshotMeta(groupId: GroupId, value: Uint8Array): StoredSnapshotMeta {
  const r = reader(value, { groupId, type: RecordType.snapshotMeta, position: null });
  const index = readU64(new DataView(value.buffer, value.byteOffset, value.byteLength), 16) as LogIndex;
  const term = r.u64() as Term;
  const dataBytes = r.u64();
  const generation = r.u32();
  const chunkBytes = r.u32();
  const chunkCount = r.u32();
  const lists: NodeId[][] = [];
  for (let l = 0; l < 2; l++) {
    const n = r.u16();
    if (n > CONF_MEMBERS_RECORD_MAX) throw r.fail(`${n} members in a configuration`);
    const list: NodeId[] = [];
    for (let k = 0; k < n; k++) list.push(r.nodeId());
    lists.push(list);
  }
  r.end();
  if (chunkBytes === 0 && dataBytes > 0) throw r.fail('chunk size 0 with data');
  const expectedChunks = dataBytes === 0 ? 0 : Math.ceil(dataBytes / chunkBytes);
  if (chunkCount !== expectedChunks) throw r.fail(`${chunkCount} chunks for ${dataBytes} bytes of ${chunkBytes}-byte chunks`);
  return { index, term, confState: { voters: lists[0] ?? [], learners: lists[1] ?? [] }, dataBytes, generation, chunkBytes, chunkCount };
}

// ---------------------------------------------------------------------------------------
// Snapshot chunk: generation u32, chunk u32, data
// ---------------------------------------------------------------------------------------

export function encodeSnapshotChunk(groupId: GroupId, snapshotIndex: number, generation: number, chunk: number, data: Uint8Array): Uint8Array {
  const { bytes, view } = allocate(RecordType.snapshotChunk, groupId, snapshotIndex, 8 + data.byteLength);
  view.setUint32(HEADER_BYTES, generation);
  view.setUint32(HEADER_BYTES + 4, chunk);
  bytes.set(data, HEADER_BYTES + 8);
  return seal(bytes, view);
}

export function decodeSnapshotChunk(groupId: GroupId, snapshotIndex: number, generation: number, chunk: number, value: Uint8Array): Uint8Array {
  const r = reader(value, { groupId, type: RecordType.snapshotChunk, position: snapshotIndex });
  const g = r.u32();
  const c = r.u32();
  if (g !== generation || c !== chunk) {
    throw new StorageCorruptionError({
      groupId,
      index: snapshotIndex,
      reason: 'keyMismatch',
      message: `snapshot chunk ${generation}/${chunk} holds chunk ${g}/${c}`,
    });
  }
  return r.rest();
}

// ---------------------------------------------------------------------------------------
// Applied index: u64
// ---------------------------------------------------------------------------------------

export function encodeApplied(groupId: GroupId, index: LogIndex): Uint8Array {
  const { bytes, view } = allocate(RecordType.applied, groupId, 0, 8);
  writeU64(view, HEADER_BYTES, index);
  return seal(bytes, view);
}

export function decodeApplied(groupId: GroupId, value: Uint8Array): LogIndex {
  const r = reader(value, { groupId, type: RecordType.applied, position: 0 });
  const index = r.u64() as LogIndex;
  r.end();
  return index;
}

// ---------------------------------------------------------------------------------------
// Node meta: key layout version u32
// ---------------------------------------------------------------------------------------

/** The key layout (keys.ts) this build writes; a database with another is refused. */
export const LAYOUT_VERSION = 1;

export function encodeNodeMeta(): Uint8Array {
  const { bytes, view } = allocate(RecordType.nodeMeta, 0, 0, 4);
  view.setUint32(HEADER_BYTES, LAYOUT_VERSION);
  return seal(bytes, view);
}

export function decodeNodeMeta(value: Uint8Array): number {
  const r = reader(value, { groupId: null, type: RecordType.nodeMeta, position: 0 });
  const layout = r.u32();
  r.end();
  return layout;
}

// ---------------------------------------------------------------------------------------
// Corrupt marker: reason u8, hasIndex u8, index u64, message (UTF-8, rest)
// ---------------------------------------------------------------------------------------

const REASONS: readonly CorruptionReason[] = [
  'checksum',
  'formatVersion',
  'malformed',
  'groupMismatch',
  'keyMismatch',
  'gap',
  'invariant',
  'level',
  'levelLogDropped',
  'marked',
];

export interface MarkerDetail {
  readonly reason: CorruptionReason;
  readonly index: number | null;
  readonly message: string;
}

export function encodeCorruptMarker(groupId: GroupId, d: MarkerDetail): Uint8Array {
  let msg = encoder.encode(d.message);
  if (msg.length > MARKER_MESSAGE_BYTES_MAX) msg = encoder.encode(d.message.slice(0, MARKER_MESSAGE_BYTES_MAX / 4));
  const { bytes, view } = allocate(RecordType.corruptMarker, groupId, 0, 10 + msg.length);
  bytes[HEADER_BYTES] = REASONS.indexOf(d.reason);
  bytes[HEADER_BYTES + 1] = d.index === null ? 0 : 1;
  writeU64(view, HEADER_BYTES + 2, d.index ?? 0);
  bytes.set(msg, HEADER_BYTES + 10);
  return seal(bytes, view);
}

export function decodeCorruptMarker(groupId: GroupId, value: Uint8Array): MarkerDetail {
  const r = reader(value, { groupId, type: RecordType.corruptMarker, position: 0 });
  const reason = REASONS[r.u8()];
  if (reason === undefined) throw r.fail('unknown corruption reason');
  const hasIndex = r.u8();
  const index = r.u64();
  const rest = r.rest();
  let message: string;
  try {
    message = decoder.decode(rest);
  } catch {
    throw r.fail('invalid UTF-8 in the marker message');
  }
  return { reason, index: hasIndex === 1 ? index : null, message };
}
