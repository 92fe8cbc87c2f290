import type { Entry } from '../../raft/index.js';
import { hashBytes, mixHash } from './hash.js';

/**
 * The replicated state machine of the simulation: a map of counters. A client write is a
 * `normal` entry `w|<opId>|<key>` that adds one to `key`; empty entries (leader no-ops)
 * and `confChange` entries change no counter. `digest` is a running hash of every entry
 * applied (index and payload), so two nodes at the same index with different histories
 * (or a snapshot restored at the wrong index) show different digests.
 */
export class CounterMachine {
  private counts = new Map<string, number>();
  private appliedValue = 0;
  private digestValue = 0;

  get applied(): number {
    return this.appliedValue;
  }

  get digest(): number {
    return this.digestValue;
  }

  valueOf(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** Applies the next entry; returns the write's key and the counter after it, if a write. */
  apply(entry: Entry): { readonly key: string; readonly value: number } | null {
    if (entry.index !== this.appliedValue + 1) {
      throw new Error(`Invariant: state machine applies ${entry.index} after ${this.appliedValue}`);
    }
    this.appliedValue = entry.index;
    this.digestValue = mixHash(this.digestValue, entry.index, entryHash(entry));
    if (entry.type !== 'normal' || entry.data.byteLength === 0) return null;
    const op = decodeWrite(entry.data);
    const value = (this.counts.get(op.key) ?? 0) + 1;
    this.counts.set(op.key, value);
    return { key: op.key, value };
  }

  /** Serialises the state at the applied index, with the log's chain hash there. */
  encodeSnapshot(chain: number): Uint8Array {
    const counts = [...this.counts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const doc: SnapshotDoc = { index: this.appliedValue, digest: this.digestValue, chain, counts };
    return textEncoder.encode(JSON.stringify(doc));
  }

  /** Replaces the state by a snapshot's. Returns the decoded header. */
  restore(data: Uint8Array): SnapshotDoc {
    const doc = decodeSnapshot(data);
    this.counts = new Map(doc.counts);
    this.appliedValue = doc.index;
    this.digestValue = doc.digest;
    return doc;
  }
}

export interface SnapshotDoc {
  readonly index: number;
  readonly digest: number;
  readonly chain: number;
  readonly counts: readonly (readonly [string, number])[];
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export function decodeSnapshot(data: Uint8Array): SnapshotDoc {
  const doc = JSON.parse(textDecoder.decode(data)) as unknown;
  if (typeof doc !== 'object' || doc === null) throw new Error('Invariant: snapshot data is not an object');
  const d = doc as Partial<SnapshotDoc>;
  if (typeof d.index !== 'number' || typeof d.digest !== 'number' || typeof d.chain !== 'number' || !Array.isArray(d.counts)) {
    throw new Error('Invariant: snapshot data lacks index, digest, chain or counts');
  }
  return { index: d.index, digest: d.digest, chain: d.chain, counts: d.counts };
}

export interface WriteOp {
  readonly opId: number;
  readonly key: string;
}

export function encodeWrite(op: WriteOp): Uint8Array {
  return textEncoder.encode(`w|${op.opId}|${op.key}`);
}

export function decodeWrite(data: Uint8Array): WriteOp {
  const parts = textDecoder.decode(data).split('|');
  const opId = Number(parts[1]);
  const key = parts[2];
  if (parts[0] !== 'w' || !Number.isInteger(opId) || key === undefined) {
    throw new Error(`Invariant: undecodable write entry`);
  }
  return { opId, key };
}

const hashCache = new WeakMap<Entry, number>();

/** Hash of an entry's type and payload (not its index or term), cached per entry object. */
export function entryHash(entry: Entry): number {
  let h = hashCache.get(entry);
  if (h === undefined) {
    h = hashBytes(entry.data, entry.type === 'normal' ? 0 : 1);
    hashCache.set(entry, h);
  }
  return h;
}
