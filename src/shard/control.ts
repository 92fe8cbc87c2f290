/**
 * Control entries of a shard group's Raft log: the steps of a group split (docs/scale.md,
 * "Group split"), next to the batches. A control entry starts with the byte 3, which no
 * batch starts with (format 2 starts with 2, format 1 with a msgpack array header), then
 * a msgpackr map, validated field by field on decode like every other entry.
 *
 * On the group that gives slots away (the source):
 *   fence   the slots stop being served (state kept, for the seed and a possible abort)
 *   unfence the split was aborted: the slots fenced by it are served again
 *   release the split switched: the fenced slots are gone for good (state dropped by sweeps)
 * On the new group (the target):
 *   seedBegin  every slot refused; the split's slots held (not served) while seeding
 *   seedChunk  states of the split's slots, a format-2 batch (absolute sets: idempotent)
 *   seedEnd    the split's slots are served
 */
import { Packr } from 'msgpackr';
import { SLOT_COUNT } from '../protocol/slot.js';
import { CodecError } from './codec.js';

/** First byte of every control entry. */
export const CONTROL_TAG = 3;

export type ControlEntry =
  | { readonly t: 'fence'; readonly splitId: number; readonly slots: readonly number[] }
  | { readonly t: 'unfence'; readonly splitId: number }
  | { readonly t: 'release'; readonly splitId: number }
  | { readonly t: 'seedBegin'; readonly splitId: number; readonly slots: readonly number[]; readonly nowMs: number }
  | { readonly t: 'seedChunk'; readonly splitId: number; readonly batch: Uint8Array }
  | { readonly t: 'seedEnd'; readonly splitId: number };

const packr = new Packr({ useRecords: false, moreTypes: false });

/** True when the entry payload `data` is a control entry (not a batch). */
export function isControl(data: Uint8Array): boolean {
  return data.byteLength > 0 && data[0] === CONTROL_TAG;
}

export function encodeControl(c: ControlEntry): Uint8Array {
  return encodeTagged(c);
}

/** `CONTROL_TAG`, then `value` as msgpack: control entries and slot-ownership snapshot chunks. */
export function encodeTagged(value: unknown): Uint8Array {
  const body = packr.pack(value);
  const out = new Uint8Array(1 + body.byteLength);
  out[0] = CONTROL_TAG;
  out.set(body, 1);
  return out;
}

/** The msgpack map after the tag byte of an `encodeTagged` value; throws CodecError naming `what`. */
export function decodeTaggedMap(bytes: Uint8Array, what: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = packr.unpack(bytes.subarray(1));
  } catch (err) {
    throw new CodecError(`${what} is not valid msgpack`, { cause: err });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CodecError(`${what} must be a map`);
  return raw as Record<string, unknown>;
}

function int(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new CodecError(`control.${what} must be an integer from ${min} to ${max} (got ${String(v)})`);
  return v;
}

function slots(v: unknown): number[] {
  if (!Array.isArray(v) || v.length > SLOT_COUNT) throw new CodecError(`control.slots must be a list of at most ${SLOT_COUNT} slots`);
  return v.map((s, i) => int(s, `slots[${i}]`, 0, SLOT_COUNT - 1));
}

/** Decodes a control entry; throws CodecError naming the field that does not match. */
export function decodeControl(data: Uint8Array): ControlEntry {
  if (!isControl(data)) throw new CodecError('not a control entry');
  const o = decodeTaggedMap(data, 'control entry');
  const splitId = int(o['splitId'], 'splitId', 1, Number.MAX_SAFE_INTEGER);
  switch (o['t']) {
    case 'fence':
      return { t: 'fence', splitId, slots: slots(o['slots']) };
    case 'unfence':
      return { t: 'unfence', splitId };
    case 'release':
      return { t: 'release', splitId };
    case 'seedBegin':
      return { t: 'seedBegin', splitId, slots: slots(o['slots']), nowMs: int(o['nowMs'], 'nowMs', 0, Number.MAX_SAFE_INTEGER) };
    case 'seedChunk': {
      const batch = o['batch'];
      if (!(batch instanceof Uint8Array)) throw new CodecError('control.batch must be bytes');
      return { t: 'seedChunk', splitId, batch };
    }
    case 'seedEnd':
      return { t: 'seedEnd', splitId };
    default:
      throw new CodecError(`unknown control entry ${String(o['t'])}`);
  }
}
