/**
 * The bytes of a shard group's Raft entries and snapshots. One entry is one batch: the
 * leader's timestamp and the new state of every (key, resource) that the batch's allowed
 * checks changed, plus the idempotency records of those checks. Replicas set states;
 * they never re-run decisions, so applying is O(mutations) and needs no clock.
 *
 * Encoded with msgpackr as positional arrays (no field names on the wire), behind a
 * format version, and validated on decode: a payload that does not match is a broken
 * invariant (the log is checksummed below us), reported with the offending field.
 */
import { Packr } from 'msgpackr';
import type { AlgorithmState } from '../engine/algorithm.js';
import type { ConcurrencyState, Lease } from '../engine/concurrency.js';
import type { FixedWindowState } from '../engine/fixed-window.js';
import type { GcraState } from '../engine/gcra.js';
import type { SlidingWindowState } from '../engine/sliding-window.js';
import type { AlgorithmName, TimestampMs } from '../engine/types.js';

export const SHARD_FORMAT_VERSION = 1;

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

/** Encodes a batch as one Raft entry payload. */
export function encodeBatch(batch: ShardBatch): Uint8Array {
  return packr.pack([SHARD_FORMAT_VERSION, batch.nowMs, batch.mutations.map(mutationToWire), batch.dedup.map(dedupToWire)]);
}

/** Decodes a Raft entry payload; throws CodecError naming the field that does not match. */
export function decodeBatch(bytes: Uint8Array): ShardBatch {
  let top: unknown;
  try {
    top = packr.unpack(bytes);
  } catch (err) {
    throw new CodecError('batch is not valid msgpack', { cause: err });
  }
  const w = arr(top, 'batch');
  if (w[0] !== SHARD_FORMAT_VERSION) throw new CodecError(`batch format version ${String(w[0])} is not supported (this build reads ${SHARD_FORMAT_VERSION})`);
  return {
    nowMs: num(w[1], 'batch.nowMs'),
    mutations: arr(w[2], 'batch.mutations').map((m, i) => mutationFromWire(m, `batch.mutations[${i}]`)),
    dedup: arr(w[3], 'batch.dedup').map((d, i) => dedupFromWire(d, `batch.dedup[${i}]`)),
  };
}

/** One chunk of a snapshot: a header chunk (index 0) carries the group clock. */
export interface SnapshotChunk {
  readonly maxAppliedTimeMs: TimestampMs;
  readonly mutations: readonly Mutation[];
  readonly dedup: readonly DedupRecord[];
}

export function encodeSnapshotChunk(chunk: SnapshotChunk): Uint8Array {
  return packr.pack([SHARD_FORMAT_VERSION, chunk.maxAppliedTimeMs, chunk.mutations.map(mutationToWire), chunk.dedup.map(dedupToWire)]);
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
