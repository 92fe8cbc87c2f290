/**
 * The bytes of a shard group's Raft entries and snapshots. One entry is one batch: the
 * leader's timestamp and the new state of every (key, resource) that the batch's allowed
 * checks changed, plus the idempotency records of those checks. Replicas set states;
 * they never re-run decisions, so applying is O(mutations) and needs no clock.
 *
 * Format 2 (written since 2026-11-28) is a flat binary layout read and written without
 * intermediate objects (src/shard/binary.ts); format 1, msgpackr positional arrays, is
 * still read, so logs and snapshots written before stay valid. Both are validated on
 * decode: a payload that does not match is a broken invariant (the log is checksummed
 * below us), reported with the offending field.
 *
 * Format 2, little-endian:
 *   u8 2 | f64 nowMs | u32 mutations | u32 offset of the string table
 *   per mutation: str key | u16 resource | u16 shape (string-table indexes) | u8 algorithm
 *                 | f64 expiresAtMs | state (gcra, fixed: 2 f64; sliding: 3 f64;
 *                 concurrency: f64 nextSeq, u16 leases, per lease str id, f64 expiresAtMs, f64 units)
 *   u32 dedup records, each: str id | f64 expiresAtMs | u8 allowed | f64 limit | f64 remaining
 *                 | f64 resetMs | f64 retryAfterMs | str rule | u8 hasLease [| str leaseId]
 *   string table: u16 count, then each str (resources and shapes, each once per batch)
 */
import { Packr } from 'msgpackr';
import { ByteReader, ByteWriter, ShortRead } from './binary.js';
import type { AlgorithmState } from '../engine/algorithm.js';
import type { ConcurrencyState, Lease } from '../engine/concurrency.js';
import type { FixedWindowState } from '../engine/fixed-window.js';
import type { GcraState } from '../engine/gcra.js';
import type { SlidingWindowState } from '../engine/sliding-window.js';
import type { AlgorithmName, TimestampMs } from '../engine/types.js';

/** The format written. */
export const SHARD_FORMAT_VERSION = 2;
/** The msgpack format of the first version, still read. */
const LEGACY_FORMAT_VERSION = 1;

/** The new state of one (key, resource), as a batch carries it. */
export interface Mutation {
  readonly key: string;
  readonly resource: string;
  /** `stateShape` of the rule that decided (the architecture's "rule version"). */
  readonly shape: string;
  readonly algorithm: AlgorithmName;
  readonly state: AlgorithmState;
  readonly expiresAtMs: TimestampMs;
}

/** The answer given to an idempotent check, remembered so a retry gets it again. */
export interface DedupRecord {
  /** Caller-chosen id: client id + sequence, unique per caller. */
  readonly id: string;
  readonly expiresAtMs: TimestampMs;
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  readonly resetMs: number;
  readonly retryAfterMs: number;
  readonly rule: string;
  readonly leaseId: string | null;
}

export interface ShardBatch {
  /** The leader's group time when it sealed the batch; replicas raise their clock to it. */
  readonly nowMs: TimestampMs;
  readonly mutations: readonly Mutation[];
  readonly dedup: readonly DedupRecord[];
}

const packr = new Packr({ useRecords: false, moreTypes: false });
const ALGORITHMS: readonly AlgorithmName[] = ['gcra', 'sliding_window', 'fixed_window', 'concurrency'];

type Wire = unknown[];

function stateToWire(algorithm: AlgorithmName, state: AlgorithmState): Wire {
  switch (algorithm) {
    case 'gcra': {
      const s = state as GcraState;
      return [s.tatMs, s.tatFrac];
    }
    case 'fixed_window': {
      const s = state as FixedWindowState;
      return [s.windowStartMs, s.count];
    }
    case 'sliding_window': {
      const s = state as SlidingWindowState;
      return [s.windowStartMs, s.count, s.prevCount];
    }
    case 'concurrency': {
      const s = state as ConcurrencyState;
      return [s.nextSeq, s.leases.map((l) => [l.id, l.expiresAtMs, l.units])];
    }
  }
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new CodecError(`${what} must be a safe integer (got ${String(v)})`);
  return v;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new CodecError(`${what} must be a string (got ${typeof v})`);
  return v;
}

function arr(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new CodecError(`${what} must be an array (got ${typeof v})`);
  return v as unknown[];
}

function stateFromWire(algorithm: AlgorithmName, w: unknown[]): AlgorithmState {
  switch (algorithm) {
    case 'gcra':
      return { tatMs: num(w[0], 'gcra.tatMs'), tatFrac: num(w[1], 'gcra.tatFrac') };
    case 'fixed_window':
      return { windowStartMs: num(w[0], 'fixed.windowStartMs'), count: num(w[1], 'fixed.count') };
    case 'sliding_window':
      return { windowStartMs: num(w[0], 'sliding.windowStartMs'), count: num(w[1], 'sliding.count'), prevCount: num(w[2], 'sliding.prevCount') };
    case 'concurrency': {
      const leases: Lease[] = arr(w[1], 'concurrency.leases').map((l, i) => {
        const t = arr(l, `concurrency.leases[${i}]`);
        return { id: str(t[0], 'lease.id'), expiresAtMs: num(t[1], 'lease.expiresAtMs'), units: num(t[2], 'lease.units') };
      });
      return { nextSeq: num(w[0], 'concurrency.nextSeq'), leases };
    }
  }
}

export function mutationToWire(m: Mutation): Wire {
  return [m.key, m.resource, m.shape, ALGORITHMS.indexOf(m.algorithm), m.expiresAtMs, stateToWire(m.algorithm, m.state)];
}

export function mutationFromWire(v: unknown, where: string): Mutation {
  const w = arr(v, where);
  const algorithm = ALGORITHMS[num(w[3], `${where}.algorithm`)];
  if (algorithm === undefined) throw new CodecError(`${where}.algorithm is not a known algorithm (got ${String(w[3])})`);
  return {
    key: str(w[0], `${where}.key`),
    resource: str(w[1], `${where}.resource`),
    shape: str(w[2], `${where}.shape`),
    algorithm,
    expiresAtMs: num(w[4], `${where}.expiresAtMs`),
    state: stateFromWire(algorithm, arr(w[5], `${where}.state`)),
  };
}

function dedupToWire(d: DedupRecord): Wire {
  return [d.id, d.expiresAtMs, d.allowed ? 1 : 0, d.limit, d.remaining, d.resetMs, d.retryAfterMs, d.rule, d.leaseId];
}

function dedupFromWire(v: unknown, where: string): DedupRecord {
  const w = arr(v, where);
  const leaseId = w[8] === null || w[8] === undefined ? null : str(w[8], `${where}.leaseId`);
  return {
    id: str(w[0], `${where}.id`),
    expiresAtMs: num(w[1], `${where}.expiresAtMs`),
    allowed: w[2] === 1,
    limit: num(w[3], `${where}.limit`),
    remaining: num(w[4], `${where}.remaining`),
    resetMs: num(w[5], `${where}.resetMs`),
    retryAfterMs: num(w[6], `${where}.retryAfterMs`),
    rule: str(w[7], `${where}.rule`),
    leaseId,
  };
}

/** Format 1 (msgpack), as written before format 2; kept for tests of the reader. */
export function encodeLegacyBatch(batch: ShardBatch): Uint8Array {
  return packr.pack([LEGACY_FORMAT_VERSION, batch.nowMs, batch.mutations.map(mutationToWire), batch.dedup.map(dedupToWire)]);
}

function decodeLegacyBatch(bytes: Uint8Array): ShardBatch {
  let top: unknown;
  try {
    top = packr.unpack(bytes);
  } catch (err) {
    throw new CodecError('batch is not valid msgpack', { cause: err });
  }
  const w = arr(top, 'batch');
  if (w[0] !== LEGACY_FORMAT_VERSION) throw new CodecError(`batch format version ${String(w[0])} is not supported (this build reads ${LEGACY_FORMAT_VERSION} and ${SHARD_FORMAT_VERSION})`);
  return {
    nowMs: num(w[1], 'batch.nowMs'),
    mutations: arr(w[2], 'batch.mutations').map((m, i) => mutationFromWire(m, `batch.mutations[${i}]`)),
    dedup: arr(w[3], 'batch.dedup').map((d, i) => dedupFromWire(d, `batch.dedup[${i}]`)),
  };
}

/** Receives a batch's contents as it is read, without an object per mutation. */
export interface BatchVisitor {
  /** One mutation; `a`, `b`, `c` are the state numbers (see StateStore.setRaw), `leases` only for concurrency. */
  mutation(key: string, resource: string, shape: string, algorithm: AlgorithmName, expiresAtMs: TimestampMs, a: number, b: number, c: number, concurrency: ConcurrencyState | null): void;
  dedup(record: DedupRecord): void;
}

const ALGORITHM_INDEX: Readonly<Record<AlgorithmName, number>> = { gcra: 0, sliding_window: 1, fixed_window: 2, concurrency: 3 };

/**
 * Writes one batch in format 2: `begin`, then `add` per mutation, then `finish` with the
 * batch's idempotency records. Reusable: `begin` starts over.
 */
export class BatchEncoder {
  private readonly w = new ByteWriter(64 * 1024);
  private readonly table = new Map<string, number>();
  private readonly strings: string[] = [];
  private count = 0;

  begin(nowMs: TimestampMs): void {
    this.w.pos = 0;
    this.table.clear();
    this.strings.length = 0;
    this.count = 0;
    this.w.u8(SHARD_FORMAT_VERSION);
    this.w.f64(nowMs);
    this.w.u32(0); // mutation count, set by finish
    this.w.u32(0); // string-table offset, set by finish
  }

  private index(s: string): number {
    let i = this.table.get(s);
    if (i === undefined) {
      i = this.strings.length;
      if (i > 0xffff) throw new RangeError('a batch names at most 65,536 distinct resources and shapes');
      this.strings.push(s);
      this.table.set(s, i);
    }
    return i;
  }

  /** Adds a mutation with its state as numbers (`concurrency` for that algorithm). */
  add(key: string, resource: string, shape: string, algorithm: AlgorithmName, expiresAtMs: TimestampMs, a: number, b: number, c: number, concurrency: ConcurrencyState | null): void {
    const w = this.w;
    w.str(key);
    w.u16(this.index(resource));
    w.u16(this.index(shape));
    w.u8(ALGORITHM_INDEX[algorithm]);
    w.f64(expiresAtMs);
    switch (algorithm) {
      case 'gcra':
      case 'fixed_window':
        w.f64(a);
        w.f64(b);
        break;
      case 'sliding_window':
        w.f64(a);
        w.f64(b);
        w.f64(c);
        break;
      case 'concurrency': {
        const s = concurrency as ConcurrencyState;
        if (s.leases.length > 0xffff) throw new RangeError('a concurrency state holds at most 65,535 leases');
        w.f64(s.nextSeq);
        w.u16(s.leases.length);
        for (const l of s.leases) {
          w.str(l.id);
          w.f64(l.expiresAtMs);
          w.f64(l.units);
        }
        break;
      }
    }
    this.count++;
  }

  /** Adds a mutation given as an object. */
  addMutation(m: Mutation): void {
    visitMutation(m, this.asVisitor);
  }

  private readonly asVisitor: BatchVisitor = {
    mutation: (key, resource, shape, algorithm, expiresAtMs, a, b, c, concurrency) => this.add(key, resource, shape, algorithm, expiresAtMs, a, b, c, concurrency),
    dedup: () => undefined,
  };

  get mutationCount(): number {
    return this.count;
  }

  /** Appends the idempotency records and the string table; returns a copy of the bytes. */
  finish(dedup: readonly DedupRecord[]): Uint8Array {
    const w = this.w;
    w.u32(dedup.length);
    for (const d of dedup) {
      w.str(d.id);
      w.f64(d.expiresAtMs);
      w.u8(d.allowed ? 1 : 0);
      w.f64(d.limit);
      w.f64(d.remaining);
      w.f64(d.resetMs);
      w.f64(d.retryAfterMs);
      w.str(d.rule);
      if (d.leaseId === null) w.u8(0);
      else {
        w.u8(1);
        w.str(d.leaseId);
      }
    }
    const tableOffset = w.pos;
    w.u16(this.strings.length);
    for (const s of this.strings) w.str(s);
    const end = w.pos;
    w.pos = 9;
    w.u32(this.count);
    w.u32(tableOffset);
    w.pos = end;
    return w.finish();
  }
}

/** Encodes a batch as one Raft entry payload (format 2). */
export function encodeBatch(batch: ShardBatch): Uint8Array {
  const e = new BatchEncoder();
  e.begin(batch.nowMs);
  for (const m of batch.mutations) e.addMutation(m);
  return e.finish(batch.dedup);
}

/**
 * Reads a Raft entry payload (format 2, or format 1), handing each mutation and record
 * to `visitor`; returns the batch time and the number of mutations. Throws CodecError
 * naming the field that does not match (mutations before it have been visited).
 */
export function readBatch(bytes: Uint8Array, visitor: BatchVisitor): { nowMs: TimestampMs; mutationCount: number } {
  if (bytes[0] !== SHARD_FORMAT_VERSION) {
    const b = decodeLegacyBatch(bytes);
    for (const m of b.mutations) visitMutation(m, visitor);
    for (const d of b.dedup) visitor.dedup(d);
    return { nowMs: b.nowMs, mutationCount: b.mutations.length };
  }
  const r = new ByteReader(bytes);
  // Where the reader is, for error messages: built only when one is thrown (every
  // replica reads every batch, so nothing here may allocate per mutation but the key).
  let section: 'batch' | 'mutations' | 'dedup' = 'batch';
  let i = 0;
  const where = (): string => (section === 'batch' ? 'batch' : `batch.${section}[${i}]`);
  try {
    r.u8();
    const nowMs = safeAt(r.f64(), '.nowMs');
    const count = r.u32();
    const tableOffset = r.u32();
    const body = r.pos;
    if (tableOffset > bytes.length) throw new CodecError(`batch string table offset ${tableOffset} is past the end (${bytes.length} bytes)`);
    r.pos = tableOffset;
    const tableSize = r.u16();
    const table: string[] = new Array<string>(tableSize);
    for (let t = 0; t < tableSize; t++) table[t] = r.str();
    r.pos = body;
    section = 'mutations';
    for (i = 0; i < count; i++) {
      const key = r.str();
      const resource = table[r.u16()];
      const shape = table[r.u16()];
      if (resource === undefined || shape === undefined) throw new CodecError(`${where()}: resource or shape index is outside the string table`);
      const algorithm = ALGORITHMS[r.u8()];
      if (algorithm === undefined) throw new CodecError(`${where()}.algorithm is not a known algorithm`);
      const expiresAtMs = safeAt(r.f64(), '.expiresAtMs');
      switch (algorithm) {
        case 'gcra':
        case 'fixed_window':
          visitor.mutation(key, resource, shape, algorithm, expiresAtMs, safeAt(r.f64(), '.state[0]'), safeAt(r.f64(), '.state[1]'), 0, null);
          break;
        case 'sliding_window':
          visitor.mutation(key, resource, shape, algorithm, expiresAtMs, safeAt(r.f64(), '.state[0]'), safeAt(r.f64(), '.state[1]'), safeAt(r.f64(), '.state[2]'), null);
          break;
        case 'concurrency': {
          const nextSeq = safeAt(r.f64(), '.nextSeq');
          const n = r.u16();
          const leases: Lease[] = [];
          for (let j = 0; j < n; j++) leases.push({ id: r.str(), expiresAtMs: safeAt(r.f64(), '.leases[].expiresAtMs'), units: safeAt(r.f64(), '.leases[].units') });
          visitor.mutation(key, resource, shape, algorithm, expiresAtMs, 0, 0, 0, { nextSeq, leases });
          break;
        }
      }
    }
    const records = r.u32();
    section = 'dedup';
    for (i = 0; i < records; i++) {
      const id = r.str();
      const expiresAtMs = safeAt(r.f64(), '.expiresAtMs');
      const allowed = r.u8() === 1;
      const limit = safeAt(r.f64(), '.limit');
      const remaining = safeAt(r.f64(), '.remaining');
      const resetMs = safeAt(r.f64(), '.resetMs');
      const retryAfterMs = safeAt(r.f64(), '.retryAfterMs');
      const rule = r.str();
      const leaseId = r.u8() === 1 ? r.str() : null;
      visitor.dedup({ id, expiresAtMs, allowed, limit, remaining, resetMs, retryAfterMs, rule, leaseId });
    }
    if (r.pos !== tableOffset) throw new CodecError(`batch has ${tableOffset - r.pos} unread bytes before its string table`);
    return { nowMs, mutationCount: count };
  } catch (err) {
    if (err instanceof ShortRead) throw new CodecError(`${where()}: ${err.message}`, { cause: err });
    if (err instanceof UnsafeField) throw new CodecError(`${where()}${err.field} must be a safe integer (got ${err.value})`);
    throw err;
  }
}

/** Thrown by `safeAt` inside `readBatch`, which names the place (the message is built only then). */
class UnsafeField extends Error {
  constructor(
    readonly field: string,
    readonly value: number,
  ) {
    super(field);
  }
}

function safeAt(v: number, field: string): number {
  if (!Number.isSafeInteger(v)) throw new UnsafeField(field, v);
  return v;
}

function visitMutation(m: Mutation, v: BatchVisitor): void {
  switch (m.algorithm) {
    case 'gcra': {
      const s = m.state as GcraState;
      v.mutation(m.key, m.resource, m.shape, m.algorithm, m.expiresAtMs, s.tatMs, s.tatFrac, 0, null);
      return;
    }
    case 'fixed_window': {
      const s = m.state as FixedWindowState;
      v.mutation(m.key, m.resource, m.shape, m.algorithm, m.expiresAtMs, s.windowStartMs, s.count, 0, null);
      return;
    }
    case 'sliding_window': {
      const s = m.state as SlidingWindowState;
      v.mutation(m.key, m.resource, m.shape, m.algorithm, m.expiresAtMs, s.windowStartMs, s.count, s.prevCount, null);
      return;
    }
    case 'concurrency':
      v.mutation(m.key, m.resource, m.shape, m.algorithm, m.expiresAtMs, 0, 0, 0, m.state as ConcurrencyState);
      return;
  }
}

/** The state object of numbers read from a batch. */
export function stateOf(algorithm: AlgorithmName, a: number, b: number, c: number, concurrency: ConcurrencyState | null): AlgorithmState {
  switch (algorithm) {
    case 'gcra':
      return { tatMs: a, tatFrac: b } satisfies GcraState;
    case 'fixed_window':
      return { windowStartMs: a, count: b } satisfies FixedWindowState;
    case 'sliding_window':
      return { windowStartMs: a, count: b, prevCount: c } satisfies SlidingWindowState;
    case 'concurrency':
      return concurrency as ConcurrencyState;
  }
}

/** Decodes a Raft entry payload into objects (tests, snapshots); throws CodecError naming the field that does not match. */
export function decodeBatch(bytes: Uint8Array): ShardBatch {
  const mutations: Mutation[] = [];
  const dedup: DedupRecord[] = [];
  const { nowMs } = readBatch(bytes, {
    mutation: (key, resource, shape, algorithm, expiresAtMs, a, b, c, concurrency) =>
      mutations.push({ key, resource, shape, algorithm, expiresAtMs, state: stateOf(algorithm, a, b, c, concurrency) }),
    dedup: (d) => dedup.push(d),
  });
  return { nowMs, mutations, dedup };
}

/** One chunk of a snapshot: a header chunk (index 0) carries the group clock. */
export interface SnapshotChunk {
  readonly maxAppliedTimeMs: TimestampMs;
  readonly mutations: readonly Mutation[];
  readonly dedup: readonly DedupRecord[];
}

export function encodeSnapshotChunk(chunk: SnapshotChunk): Uint8Array {
  return encodeBatch({ nowMs: chunk.maxAppliedTimeMs, mutations: chunk.mutations, dedup: chunk.dedup });
}

export function decodeSnapshotChunk(bytes: Uint8Array): SnapshotChunk {
  const b = decodeBatch(bytes);
  return { maxAppliedTimeMs: b.nowMs, mutations: b.mutations, dedup: b.dedup };
}

/** A payload that does not decode: corruption above the checksums, or a bug. */
export class CodecError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CodecError';
  }
}
