/**
 * The data-frame format. A frame is a 4-byte big-endian body length, then a msgpack body:
 * an array of `[groupId, message]` pairs, where `groupId` is an unsigned 32-bit integer
 * and `message` a msgpack map. Pairs are encoded once, at `send`, so their size is known
 * before they are queued; a frame body is an array header followed by the encoded pairs
 * copied back to back (a msgpack array is exactly that), so nothing is encoded twice.
 *
 * Plain msgpack only (`useRecords: false`): no msgpackr record extension, whose shared
 * structures would make one frame's meaning depend on earlier frames.
 */
import { Packr, Unpackr } from 'msgpackr';
import { FRAME_PREFIX_BYTES } from './frame-reader.js';

/** Largest group id: the same unsigned 32-bit range as storage's `GroupId`. */
export const GROUP_ID_MAX = 0xffff_ffff;

/** Bytes of the largest msgpack array header (0xdd + u32 count); used to reserve room in a frame. */
export const ARRAY_HEADER_BYTES_MAX = 5;

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false });

/** Encodes any value as plain msgpack (also used for handshake frames). */
export function encodeValue(value: unknown): Buffer {
  return packr.pack(value);
}

/**
 * Decodes one msgpack value that must span the whole buffer.
 * @throws Error (from msgpackr) on malformed or truncated input or trailing bytes.
 */
export function decodeValue(body: Buffer): unknown {
  return unpackr.unpack(body);
}

/**
 * Encodes one `[groupId, message]` pair. The result may share a slab with other msgpackr
 * output; `sealFrames` copies it into an exactly sized frame before it is kept longer
 * than one event-loop turn.
 */
export function encodePair(groupId: number, message: object): Buffer {
  return packr.pack([groupId, message]);
}

/** True for a plain object: what a msgpack map decodes to, and what `send` accepts. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** True for a group id in [0, 2^32 - 1]. */
export function isGroupId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= GROUP_ID_MAX;
}

function arrayHeaderBytes(count: number): number {
  if (count < 16) return 1;
  if (count < 0x1_0000) return 3;
  return 5;
}

function writeArrayHeader(target: Buffer, offset: number, count: number): number {
  if (count < 16) return target.writeUInt8(0x90 | count, offset);
  if (count < 0x1_0000) {
    target.writeUInt8(0xdc, offset);
    return target.writeUInt16BE(count, offset + 1);
  }
  target.writeUInt8(0xdd, offset);
  return target.writeUInt32BE(count, offset + 1);
}

/**
 * Builds one complete frame (prefix included) from encoded pairs, in an exactly sized
 * buffer of its own, so a queued frame retains nothing beyond its bytes.
 * Caller guarantees the body fits the frame limit.
 */
export function buildFrame(pairs: readonly Buffer[], pairBytes: number): Buffer {
  const bodyBytes = arrayHeaderBytes(pairs.length) + pairBytes;
  const frame = Buffer.allocUnsafeSlow(FRAME_PREFIX_BYTES + bodyBytes);
  frame.writeUInt32BE(bodyBytes, 0);
  let offset = writeArrayHeader(frame, FRAME_PREFIX_BYTES, pairs.length);
  for (const pair of pairs) offset += pair.copy(frame, offset);
  // Invariant: the prefix announces exactly the bytes written.
  if (offset !== frame.length) throw new Error(`buildFrame: wrote ${offset} of ${frame.length} bytes (broken invariant)`);
  return frame;
}

/** A decoded data frame: group ids and messages, index-aligned. */
export interface DataFrame {
  readonly groupIds: number[];
  readonly messages: Record<string, unknown>[];
}

/**
 * Decodes and checks a data-frame body. The whole frame is checked before anything is
 * returned, so a malformed frame delivers nothing.
 * @returns the frame, or a string saying what is wrong with it.
 */
export function parseDataFrame(body: Buffer): DataFrame | string {
  let value: unknown;
  try {
    value = decodeValue(body);
  } catch (err) {
    return `bad msgpack: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (!Array.isArray(value)) return 'body is not an array';
  const groupIds: number[] = [];
  const messages: Record<string, unknown>[] = [];
  for (let i = 0; i < value.length; i++) {
    const pair: unknown = value[i];
    if (!Array.isArray(pair) || pair.length !== 2) return `pair ${i} is not a [groupId, message] array`;
    const groupId: unknown = pair[0];
    const message: unknown = pair[1];
    if (!isGroupId(groupId)) return `pair ${i} has a group id that is not an integer in [0, ${GROUP_ID_MAX}]`;
    if (!isPlainObject(message)) return `pair ${i} has a message that is not a msgpack map`;
    groupIds.push(groupId);
    messages.push(message);
  }
  return { groupIds, messages };
}
