/**
 * Which slots a shard group serves, as its Raft log says (control entries, control.ts):
 * every slot is served until a split fences it (the source stops admitting for it), and
 * a group made by a split serves only the slots it was seeded with. Replicated state:
 * changed only by applied entries and restored from snapshots, so every replica agrees at
 * every index, and a leader's answer for a slot never depends on which replica leads.
 *
 * Invariant: a slot fenced or gone here is never admitted here (the check path reads
 * `states[slot]`, an array index, before deciding).
 */
import { SLOT_COUNT } from '../protocol/slot.js';
import { CodecError } from './codec.js';
import { decodeTaggedMap, encodeTagged } from './control.js';

/** The slot is this group's. */
export const SLOT_SERVED = 0;
/** A split holds the slot: state kept (for the seed or an abort), nothing admitted. */
export const SLOT_FENCED = 1;
/** Not this group's (moved away, or never given to it): nothing admitted, state dropped by sweeps. */
export const SLOT_GONE = 2;

export class SlotOwnership {
  /** Per slot: SLOT_SERVED, SLOT_FENCED or SLOT_GONE. */
  readonly states = new Uint8Array(SLOT_COUNT);
  /** Source side: the slots each split fenced here and still holds fenced. At most one split at a time, so tiny. */
  private readonly fences = new Map<number, number[]>();
  /** Target side: the split being seeded (0: none) and its slots; the last split seeded here (0: none). */
  private seeding = 0;
  private seedingSlots: readonly number[] = [];
  private seeded = 0;
  private goneCount = 0;

  /** Slots gone from this group (sweeps drop their state while there are any). */
  get gone(): number {
    return this.goneCount;
  }

  /** The slots split `splitId` holds fenced here, or undefined. */
  fencedBy(splitId: number): readonly number[] | undefined {
    return this.fences.get(splitId);
  }

  /** Splits holding slots fenced here. */
  fenceIds(): number[] {
    return [...this.fences.keys()];
  }

  /** The last split whose seed completed here (0: none). */
  get seededSplit(): number {
    return this.seeded;
  }

  /** True while split `splitId` is being seeded here (its seed chunks apply). */
  seedingFor(splitId: number): boolean {
    return this.seeding === splitId;
  }

  /** Fences every listed slot this group serves (a slot already gone stays gone, so a late duplicate fence fences nothing). */
  fence(splitId: number, slots: readonly number[]): void {
    const held = this.fences.get(splitId) ?? [];
    for (const s of slots) {
      if (this.states[s] !== SLOT_SERVED) continue;
      this.states[s] = SLOT_FENCED;
      held.push(s);
    }
    if (held.length > 0) this.fences.set(splitId, held);
  }

  /** The split was aborted: its fenced slots are served again. */
  unfence(splitId: number): void {
    for (const s of this.fences.get(splitId) ?? []) if (this.states[s] === SLOT_FENCED) this.states[s] = SLOT_SERVED;
    this.fences.delete(splitId);
  }

  /** The split switched: its fenced slots belong to the new group for good. */
  release(splitId: number): void {
    for (const s of this.fences.get(splitId) ?? []) {
      if (this.states[s] !== SLOT_FENCED) continue;
      this.states[s] = SLOT_GONE;
      this.goneCount++;
    }
    this.fences.delete(splitId);
  }

  /** A new group starts its seed: it refuses every slot, and holds the split's. Ignored once that split's seed completed. */
  seedBegin(splitId: number, slots: readonly number[]): void {
    if (this.seeded === splitId) return;
    this.states.fill(SLOT_GONE);
    for (const s of slots) this.states[s] = SLOT_FENCED;
    this.goneCount = SLOT_COUNT - new Set(slots).size;
    this.fences.clear();
    this.seeding = splitId;
    this.seedingSlots = [...slots];
  }

  /** The seed is complete: the split's slots are served. */
  seedEnd(splitId: number): void {
    if (this.seeding !== splitId) return;
    for (const s of this.seedingSlots) if (this.states[s] === SLOT_FENCED) this.states[s] = SLOT_SERVED;
    this.seeded = splitId;
    this.seeding = 0;
    this.seedingSlots = [];
  }

  /** True when nothing was ever fenced, seeded or given away (snapshots then carry no ownership chunk). */
  get isDefault(): boolean {
    return this.fences.size === 0 && this.seeding === 0 && this.seeded === 0 && this.goneCount === 0 && this.states.every((x) => x === SLOT_SERVED);
  }

  /** A snapshot chunk holding this state (starts with the control tag, which no batch chunk does). */
  encode(): Uint8Array {
    return encodeTagged({ t: 'slots', states: this.states, fences: [...this.fences], seeding: this.seeding, seedingSlots: this.seedingSlots, seeded: this.seeded });
  }

  /** Replaces this state with an `encode`d chunk; throws CodecError on a malformed one. */
  restore(bytes: Uint8Array): void {
    const o = decodeTaggedMap(bytes, 'slot ownership chunk');
    const states = o['states'];
    if (o['t'] !== 'slots' || !(states instanceof Uint8Array) || states.byteLength !== SLOT_COUNT) {
      throw new CodecError(`slot ownership chunk must hold ${SLOT_COUNT} slot states`);
    }
    const ids = (v: unknown, what: string): number[] => {
      if (!Array.isArray(v) || v.length > SLOT_COUNT || !v.every((s) => Number.isSafeInteger(s) && (s as number) >= 0 && (s as number) < SLOT_COUNT)) throw new CodecError(`slot ownership ${what} must be slots`);
      return v as number[];
    };
    const int = (v: unknown, what: string): number => {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new CodecError(`slot ownership ${what} must be a non-negative integer`);
      return v;
    };
    if (!Array.isArray(o['fences'])) throw new CodecError('slot ownership fences must be a list');
    const fences = (o['fences'] as unknown[]).map((f, i): [number, number[]] => {
      if (!Array.isArray(f) || f.length !== 2) throw new CodecError(`slot ownership fences[${i}] must be [splitId, slots]`);
      return [int(f[0], `fences[${i}][0]`), ids(f[1], `fences[${i}][1]`)];
    });
    this.states.set(states);
    for (const x of this.states) if (x > SLOT_GONE) throw new CodecError(`slot ownership state ${x} is not known`);
    this.fences.clear();
    for (const [id, slots] of fences) this.fences.set(id, slots);
    this.seeding = int(o['seeding'], 'seeding');
    this.seedingSlots = ids(o['seedingSlots'], 'seedingSlots');
    this.seeded = int(o['seeded'], 'seeded');
    this.goneCount = this.states.reduce((n, x) => n + (x === SLOT_GONE ? 1 : 0), 0);
  }

  /** Back to serving every slot (a snapshot without an ownership chunk). */
  reset(): void {
    this.states.fill(SLOT_SERVED);
    this.fences.clear();
    this.seeding = 0;
    this.seedingSlots = [];
    this.seeded = 0;
    this.goneCount = 0;
  }
}
