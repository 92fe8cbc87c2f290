/**
 * The committed state of one shard group, the same code on every replica: applies
 * batches from the Raft log in order, keeps the group clock (`maxAppliedTimeMs`, which
 * never runs backwards), remembers recent idempotency records, expires idle state, and
 * writes and restores snapshots in chunks.
 */
import { DEFAULT_SLOTS_MAX, StateStore } from '../engine/store.js';
import type { TimestampMs } from '../engine/types.js';
import { slotOf } from '../protocol/slot.js';
import { BatchEncoder, decodeSnapshotChunk, encodeSnapshotChunk, readBatch, type BatchVisitor, type DedupRecord, type Mutation } from './codec.js';
import { decodeControl, isControl, type ControlEntry } from './control.js';
import { SLOT_FENCED, SLOT_GONE, SlotOwnership } from './slot-ownership.js';

export interface ShardReplicaOptions {
  /** Bound on (key, resource) states; see StateStore. */
  readonly slotsMax?: number;
  /**
   * Idempotency records kept at most. Beyond it the oldest go first, so a retry older
   * than that many newer idempotent checks may be counted again. 100k records of ~120
   * bytes is ~12 MB per group.
   */
  readonly dedupMax?: number;
  /**
   * How long state stays after it expired before a sweep drops it. Expired state equals
   * fresh state, so keeping it changes no answer; it spares a key used now and then the
   * cost of dropping and re-creating its slot at every use. [30 s]
   */
  readonly idleGraceMs?: number;
}

export const DEFAULT_IDLE_GRACE_MS = 30_000;

export const DEFAULT_DEDUP_MAX = 100_000;
/**
 * States per snapshot chunk: 5,000 encode in ~3-6 ms here, so writing a snapshot of
 * millions of keys never holds the event loop near the 20 ms the node allows itself.
 */
export const SNAPSHOT_STATES_PER_CHUNK = 5_000;

/**
 * @example
 * ```ts
 * const replica = new ShardReplica();
 * for (const entry of ready.committedEntries) replica.apply(entry.index, entry.data);
 * ```
 */
export class ShardReplica {
  readonly store: StateStore;
  /** Which slots this group serves (group splits); replicated like the states. */
  readonly ownership = new SlotOwnership();
  private readonly dedup = new Map<string, DedupRecord>();
  private readonly dedupMax: number;
  private readonly idleGraceMs: number;
  private applied = 0;
  private clock = 0;
  private readonly applier: BatchVisitor = {
    mutation: (key, resource, shape, algorithm, expiresAtMs, a, b, c, concurrency) => this.store.setRaw(key, resource, shape, algorithm, expiresAtMs, a, b, c, concurrency),
    dedup: (d) => this.remember(d),
  };
  /** Applies a split's seed: only states of slots this group holds for the seed. */
  private readonly seeder: BatchVisitor = {
    mutation: (key, resource, shape, algorithm, expiresAtMs, a, b, c, concurrency) => {
      if (this.ownership.states[slotOf(key)] === SLOT_FENCED) this.store.setRaw(key, resource, shape, algorithm, expiresAtMs, a, b, c, concurrency);
    },
    dedup: () => undefined,
  };

  constructor(options: ShardReplicaOptions = {}) {
    this.store = new StateStore({ slotsMax: options.slotsMax ?? DEFAULT_SLOTS_MAX });
    this.dedupMax = options.dedupMax ?? DEFAULT_DEDUP_MAX;
    this.idleGraceMs = options.idleGraceMs ?? DEFAULT_IDLE_GRACE_MS;
    if (!Number.isSafeInteger(this.idleGraceMs) || this.idleGraceMs < 0) {
      throw new RangeError(`'idleGraceMs' must be a non-negative integer (got ${this.idleGraceMs})`);
    }
    if (!Number.isSafeInteger(this.dedupMax) || this.dedupMax < 0) {
      throw new RangeError(`'dedupMax' must be a non-negative integer (got ${this.dedupMax})`);
    }
  }

  /** Index of the last applied entry. */
  get appliedIndex(): number {
    return this.applied;
  }

  /** The group clock: the latest batch time applied. Group time never runs backwards. */
  get maxAppliedTimeMs(): TimestampMs {
    return this.clock;
  }

  /** Idempotency records held now (at most `dedupMax`), for metrics. */
  get dedupSize(): number {
    return this.dedup.size;
  }

  /** The remembered answer for idempotency id `id`, if it has not expired at `nowMs`. */
  dedupLookup(id: string, nowMs: TimestampMs): DedupRecord | undefined {
    const r = this.dedup.get(id);
    return r !== undefined && r.expiresAtMs > nowMs ? r : undefined;
  }

  /**
   * Applies the entry at `index`: every state straight from the bytes into the store (no
   * object per mutation). Empty payloads (the leader's election no-op) only advance the
   * index. Entries must come in order, each once. Returns the number of mutations.
   */
  apply(index: number, data: Uint8Array): number {
    if (index !== this.applied + 1) {
      throw new Error(`shard apply out of order: entry ${index} after ${this.applied}`);
    }
    this.applied = index;
    if (data.byteLength === 0) return 0;
    const { nowMs, mutationCount } = readBatch(data, this.applier);
    if (nowMs > this.clock) this.clock = nowMs;
    return mutationCount;
  }

  /**
   * Applies entry `index` whose contents the caller holds already (a leader's own batch,
   * recorded when it sealed it): `write` sets the states straight into the store's slots
   * and returns how many; `nowMs` and `dedup` are the batch's. Same order rule as `apply`.
   */
  applyKnown(index: number, nowMs: TimestampMs, dedup: readonly DedupRecord[], write: (store: StateStore) => number): number {
    if (index !== this.applied + 1) {
      throw new Error(`shard apply out of order: entry ${index} after ${this.applied}`);
    }
    this.applied = index;
    const n = write(this.store);
    if (nowMs > this.clock) this.clock = nowMs;
    for (const d of dedup) this.remember(d);
    return n;
  }

  /**
   * Applies control entry `index` (a step of a group split, control.ts); same order rule
   * as `apply`. Every step is idempotent, so a step proposed twice does no harm. Returns
   * the entry applied.
   */
  applyControl(index: number, data: Uint8Array): ControlEntry {
    if (index !== this.applied + 1) {
      throw new Error(`shard apply out of order: entry ${index} after ${this.applied}`);
    }
    const c = decodeControl(data);
    this.applied = index;
    switch (c.t) {
      case 'fence':
        this.ownership.fence(c.splitId, c.slots);
        break;
      case 'unfence':
        this.ownership.unfence(c.splitId);
        break;
      case 'release':
        this.ownership.release(c.splitId);
        break;
      case 'seedBegin':
        this.ownership.seedBegin(c.splitId, c.slots);
        if (c.nowMs > this.clock) this.clock = c.nowMs;
        break;
      case 'seedChunk': {
        // A late chunk of a finished (or restarted) seed changes nothing.
        if (!this.ownership.seedingFor(c.splitId)) break;
        const { nowMs } = readBatch(c.batch, this.seeder);
        if (nowMs > this.clock) this.clock = nowMs;
        break;
      }
      case 'seedEnd':
        this.ownership.seedEnd(c.splitId);
        break;
    }
    return c;
  }

  /**
   * The committed states of the slots flagged in `slots` (indexed by slot, non-zero: take
   * it), as format-2 batches of at most `statesPerChunk` states, lazily: what seeds a new
   * group in a split. Each batch carries the group clock; no idempotency records. After
   * `scanMax` states looked at without filling a batch it yields an empty array, so a
   * caller pausing between items never scans a big store in one go.
   */
  *exportSlots(slots: Uint8Array, statesPerChunk = SNAPSHOT_STATES_PER_CHUNK, scanMax = 20_000): IterableIterator<Uint8Array> {
    const encoder = new BatchEncoder();
    let count = 0;
    let scanned = 0;
    encoder.begin(this.clock);
    for (const s of this.store.entries()) {
      if (++scanned >= scanMax) {
        scanned = 0;
        yield new Uint8Array(0);
      }
      if (slots[slotOf(s.key)] === 0) continue;
      encoder.addMutation(s); // a stored state has a mutation's fields
      if (++count >= statesPerChunk) {
        yield encoder.finish([]);
        encoder.begin(this.clock);
        count = 0;
      }
    }
    if (count > 0) yield encoder.finish([]);
  }

  /** Marks entries up to `index` applied without payload (e.g. configuration entries). */
  skip(index: number): void {
    if (index !== this.applied + 1) throw new Error(`shard skip out of order: entry ${index} after ${this.applied}`);
    this.applied = index;
  }

  /** Drops state expired more than `idleGraceMs` ago and expired idempotency records; bounded work per call. */
  sweep(slotsBudget: number): number {
    // States of slots given away to another group are dropped too, expired or not.
    const states = this.ownership.states;
    let dropped = this.store.sweep(this.clock - this.idleGraceMs, slotsBudget, this.ownership.gone > 0 ? (key) => states[slotOf(key)] === SLOT_GONE : undefined);
    for (const [id, r] of this.dedup) {
      if (dropped >= slotsBudget || r.expiresAtMs > this.clock) break;
      this.dedup.delete(id);
      dropped++;
    }
    return dropped;
  }

  /**
   * The state as snapshot chunks of at most `statesPerChunk` states each, lazily, so a
   * caller can write millions of keys without blocking the event loop between chunks.
   * The first chunk carries the group clock and the idempotency records.
   */
  *snapshotChunks(statesPerChunk = SNAPSHOT_STATES_PER_CHUNK): IterableIterator<Uint8Array> {
    // Slot ownership first (taken when the snapshot starts, at its index); only once a split touched this group.
    if (!this.ownership.isDefault) yield this.ownership.encode();
    let mutations: Mutation[] = [];
    let first = true;
    const flush = (): Uint8Array => {
      const bytes = encodeSnapshotChunk({ maxAppliedTimeMs: this.clock, mutations, dedup: first ? [...this.dedup.values()] : [] });
      first = false;
      mutations = [];
      return bytes;
    };
    for (const s of this.store.entries()) {
      mutations.push({ key: s.key, resource: s.resource, shape: s.shape, algorithm: s.algorithm, state: s.state, expiresAtMs: s.expiresAtMs });
      if (mutations.length >= statesPerChunk) yield flush();
    }
    if (mutations.length > 0 || first) yield flush();
  }

  /** Replaces all state with a snapshot's chunks, taken at `index`. */
  restore(index: number, chunks: Iterable<Uint8Array>): void {
    const fresh = new ShardReplica({ slotsMax: DEFAULT_SLOTS_MAX, dedupMax: this.dedupMax, idleGraceMs: this.idleGraceMs });
    let owned = false;
    for (const bytes of chunks) {
      if (isControl(bytes)) {
        fresh.ownership.restore(bytes);
        owned = true;
        continue;
      }
      const c = decodeSnapshotChunk(bytes);
      if (c.maxAppliedTimeMs > fresh.clock) fresh.clock = c.maxAppliedTimeMs;
      for (const m of c.mutations) fresh.store.set(m.key, m.resource, m.shape, m.algorithm, m.state, m.expiresAtMs);
      for (const d of c.dedup) fresh.remember(d);
    }
    // Swap in only after every chunk decoded: a bad snapshot leaves the old state intact.
    this.store.clear();
    for (const s of fresh.store.entries()) this.store.set(s.key, s.resource, s.shape, s.algorithm, s.state, s.expiresAtMs);
    this.dedup.clear();
    for (const d of fresh.dedup.values()) this.dedup.set(d.id, d);
    if (owned) this.ownership.restore(fresh.ownership.encode());
    else this.ownership.reset();
    this.clock = Math.max(this.clock, fresh.clock);
    this.applied = index;
  }

  private remember(d: DedupRecord): void {
    if (this.dedupMax === 0) return;
    this.dedup.delete(d.id);
    this.dedup.set(d.id, d);
    if (this.dedup.size > this.dedupMax) {
      const oldest = this.dedup.keys().next();
      if (oldest.done !== true) this.dedup.delete(oldest.value);
    }
  }
}
