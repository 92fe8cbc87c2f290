/**
 * One Raft group's storage in the node's LevelDB. Reads the core makes synchronously are
 * served from memory: hard state, snapshot meta, every term (as runs, term-runs.ts) and
 * the newest entries (entry-cache.ts, bounded in bytes). An older entry is read from
 * LevelDB synchronously (`getSync`) and verified like every read; see docs/storage.md,
 * "Why reads are synchronous", for the cost and the alternative we rejected.
 *
 * Writes build LevelDB operations, stage them with the node's group committer, then
 * update the in-memory view at once, so the core sees its own writes on its next call;
 * the returned promise resolves when the batch holding them is on disk.
 */
import type { ConfState, Entry, HardState, LogIndex, SnapshotChunkResult, SnapshotMeta, Snapshot, Term } from '../raft/index.js';
import { assert, entrySizeBytes, fail } from '../raft/index.js';
import { EntryCache } from './entry-cache.js';
import type { InflightJournal } from './inflight-journal.js';
import { StorageCorruptionError, StorageUnavailableError } from './errors.js';
import type { BatchOp, GroupCommitter } from './group-committer.js';
import { opBytes } from './group-committer.js';
import type { GroupId } from './group-id.js';
import { appliedKey, entryKey, indexOfEntryKey, snapshotChunkKey, snapshotMetaKey, stateKey } from './keys.js';
import { isLevelCorruption, scanRange, type LevelDb } from './level-db.js';
import type { ResolvedStorageOptions } from './options.js';
import {
  decodeEntry,
  decodeSnapshotChunk,
  encodeApplied,
  encodeEntry,
  encodeGroupState,
  encodeSnapshotChunk,
  encodeSnapshotMeta,
  type StoredSnapshotMeta,
} from './records.js';
import { TermRuns } from './term-runs.js';
import type { GroupStorage, PersistInput, SnapshotCommitResult, SnapshotWriter } from './types.js';
import { checkApplied, checkCompact, checkCreateSnapshot, checkEntriesRange, checkPersist } from './validate.js';

/** What the group needs from its node. */
export interface LevelGroupHost {
  readonly db: LevelDb;
  readonly committer: GroupCommitter;
  readonly opts: ResolvedStorageOptions;
  readonly counters: { cacheHits: number; cacheMisses: number };
  /** Notes reads of the group's records on disk, so a process LevelDB aborts does not loop (inflight-journal.ts). */
  readonly journal: InflightJournal;
  /** Records a corruption found while serving (marks the group, durably, in the background). */
  onCorruption(err: StorageCorruptionError): void;
}

/** A group's state as loaded and verified from disk (level-load.ts). */
export interface LoadedGroup {
  readonly hardState: HardState;
  readonly offsetIndex: LogIndex;
  readonly offsetTerm: Term;
  readonly lastIndex: LogIndex;
  readonly snapshot: StoredSnapshotMeta;
  readonly applied: LogIndex;
  readonly runs: TermRuns;
  readonly cache: EntryCache;
  readonly nextGeneration: number;
}

/** Snapshot chunk writes a writer keeps in flight: 4 × 256 KiB keeps the disk busy without holding much. */
const SNAPSHOT_WRITES_INFLIGHT_MAX = 4;

class Ops {
  readonly list: BatchOp[] = [];
  bytes = 0;
  put(key: Uint8Array, value: Uint8Array): void {
    const op: BatchOp = { type: 'put', key, value };
    this.list.push(op);
    this.bytes += opBytes(op);
  }
  del(key: Uint8Array): void {
    const op: BatchOp = { type: 'del', key };
    this.list.push(op);
    this.bytes += opBytes(op);
  }
}

export class LevelGroupStorage implements GroupStorage {
  readonly groupId: GroupId;
  private readonly host: LevelGroupHost;
  private hard: HardState;
  private offsetIndex: number;
  private offsetTerm: number;
  private last: number;
  private readonly runs: TermRuns;
  private readonly cache: EntryCache;
  private snap: StoredSnapshotMeta;
  private snapMeta: SnapshotMeta;
  /** Data of a snapshot whose chunks are not all on disk yet: served from here until they are. */
  private pinned: { readonly generation: number; readonly data: Uint8Array; readonly untilSeq: number } | null = null;
  private applied: number;
  private nextGeneration: number;
  /** Numbers this group's staged writes; writes land in order, so `durableSeq` only grows. */
  private seq = 0;
  private durableSeq = 0;
  private corruption: StorageCorruptionError | null = null;
  private closedReason: string | null = null;

  constructor(groupId: GroupId, loaded: LoadedGroup, host: LevelGroupHost) {
    this.groupId = groupId;
    this.host = host;
    this.hard = loaded.hardState;
    this.offsetIndex = loaded.offsetIndex;
    this.offsetTerm = loaded.offsetTerm;
    this.last = loaded.lastIndex;
    this.runs = loaded.runs;
    this.cache = loaded.cache;
    this.snap = loaded.snapshot;
    this.snapMeta = { index: loaded.snapshot.index, term: loaded.snapshot.term, confState: loaded.snapshot.confState };
    this.applied = loaded.applied;
    this.nextGeneration = loaded.nextGeneration;
  }

  // -------------------------------------------------------------------------------------
  // State of the instance
  // -------------------------------------------------------------------------------------

  /** Stops serving: every later call throws `err` (the node marks the group durably). */
  setCorrupt(err: StorageCorruptionError): void {
    if (this.corruption === null) this.corruption = err;
  }

  /** Stops serving after a wipe, drop or close. */
  close(reason: string): void {
    this.closedReason ??= reason;
  }

  get isCorrupt(): boolean {
    return this.corruption !== null;
  }

  private guard(): void {
    if (this.closedReason !== null) throw new StorageUnavailableError('closed', this.groupId, `group ${this.groupId}: ${this.closedReason}`);
    if (this.corruption !== null) throw this.corruption;
  }

  /** Marks the group corrupt and returns the error to throw. */
  private fail(err: StorageCorruptionError): StorageCorruptionError {
    this.setCorrupt(err);
    this.host.onCorruption(err);
    return err;
  }

  private levelFail(index: number | null, what: string, cause: unknown): never {
    if (isLevelCorruption(cause)) {
      throw this.fail(new StorageCorruptionError({ groupId: this.groupId, index, reason: 'level', message: `LevelDB reports corruption reading ${what}` }, { cause }));
    }
    throw cause;
  }

  // -------------------------------------------------------------------------------------
  // RaftStorage (synchronous, from memory; older entries from LevelDB)
  // -------------------------------------------------------------------------------------

  initialState(): { readonly hardState: HardState } {
    this.guard();
    return { hardState: this.hard };
  }

  firstIndex(): LogIndex {
    this.guard();
    return (this.offsetIndex + 1) as LogIndex;
  }

  lastIndex(): LogIndex {
    this.guard();
    return this.last as LogIndex;
  }

  term(index: LogIndex): Term {
    this.guard();
    // Hot (every check asks it via leaderReady): the message is built only on failure.
    if (index < this.offsetIndex || index > this.last) fail(`LevelGroupStorage.term(${index}) outside [${this.offsetIndex}, ${this.last}] of group ${this.groupId}`);
    if (index === this.offsetIndex) return this.offsetTerm as Term;
    return this.runs.termAt(index) as Term;
  }

  entries(lo: LogIndex, hi: LogIndex, bytesMax: number): readonly Entry[] {
    this.guard();
    if (!(lo > this.offsetIndex && lo < hi && hi <= this.last + 1)) fail(`LevelGroupStorage.entries(${lo}, ${hi}) outside [${this.offsetIndex + 1}, ${this.last + 1}] of group ${this.groupId}`);
    const out: Entry[] = [];
    let bytes = 0;
    let onDisk = false;
    try {
      // Bounded by hi - lo, and stops at the byte budget.
      for (let i: number = lo; i < hi; i++) {
        let e = this.cache.get(i);
        if (e === undefined) {
          if (!onDisk) this.host.journal.begin(this.groupId, 'read');
          onDisk = true;
          e = this.readEntrySync(i);
          this.host.counters.cacheMisses++;
        } else {
          this.host.counters.cacheHits++;
        }
        bytes += entrySizeBytes(e);
        if (bytes > bytesMax && out.length > 0) break;
        out.push(e);
      }
    } finally {
      if (onDisk) this.host.journal.end(this.groupId);
    }
    return out;
  }

  private readEntrySync(index: number): Entry {
    let value: Uint8Array | undefined;
    try {
      value = this.host.db.getSync(entryKey(this.groupId, index), { keyEncoding: 'view', valueEncoding: 'view', fillCache: false });
    } catch (cause) {
      this.levelFail(index, `log entry ${index}`, cause);
    }
    if (value === undefined) {
      throw this.fail(new StorageCorruptionError({ groupId: this.groupId, index, reason: 'gap', message: `log entry ${index} is missing on disk (log is [${this.offsetIndex + 1}, ${this.last}])` }));
    }
    let e: Entry;
    try {
      e = decodeEntry(this.groupId, index, value);
    } catch (err) {
      if (err instanceof StorageCorruptionError) throw this.fail(err);
      throw err;
    }
    const expected = this.runs.termAt(index);
    if (e.term !== expected) {
      throw this.fail(new StorageCorruptionError({ groupId: this.groupId, index, reason: 'invariant', message: `log entry ${index} has term ${e.term}, the log says ${expected}` }));
    }
    return e;
  }

  snapshot(): SnapshotMeta {
    this.guard();
    return this.snapMeta;
  }

  snapshotChunk(index: LogIndex, offsetBytes: number, bytesMax: number): SnapshotChunkResult {
    this.guard();
    if (index !== this.snap.index) return { type: 'unavailable' };
    const total = this.snap.dataBytes;
    assert(offsetBytes >= 0 && offsetBytes <= total && bytesMax > 0, `LevelGroupStorage.snapshotChunk: bad offset ${offsetBytes} / ${bytesMax} of ${total}`);
    const end = Math.min(total, offsetBytes + bytesMax);
    const pinned = this.pinned;
    if (pinned !== null && pinned.generation === this.snap.generation) {
      return { type: 'chunk', data: pinned.data.subarray(offsetBytes, end), last: end === total };
    }
    this.host.journal.begin(this.groupId, 'read');
    try {
      return { type: 'chunk', data: this.readSnapshotRangeSync(offsetBytes, end), last: end === total };
    } finally {
      this.host.journal.end(this.groupId);
    }
  }

  private readSnapshotRangeSync(start: number, end: number): Uint8Array {
    const size = this.snap.chunkBytes;
    if (start === end) return new Uint8Array(0);
    const firstChunk = Math.floor(start / size);
    const lastChunk = Math.floor((end - 1) / size);
    const parts: Uint8Array[] = [];
    // Bounded by (end - start) / chunkBytes + 1 chunks.
    for (let c = firstChunk; c <= lastChunk; c++) {
      const data = this.readChunkSync(c);
      const from = c === firstChunk ? start - c * size : 0;
      const to = c === lastChunk ? end - c * size : data.length;
      parts.push(data.subarray(from, to));
    }
    if (parts.length === 1) return parts[0] as Uint8Array;
    const out = new Uint8Array(end - start);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  private readChunkSync(chunk: number): Uint8Array {
    const { generation, index } = this.snap;
    let value: Uint8Array | undefined;
    try {
      value = this.host.db.getSync(snapshotChunkKey(this.groupId, generation, chunk), { keyEncoding: 'view', valueEncoding: 'view', fillCache: false });
    } catch (cause) {
      this.levelFail(index, `snapshot chunk ${chunk}`, cause);
    }
    return this.verifyChunk(chunk, value);
  }

  private verifyChunk(chunk: number, value: Uint8Array | undefined): Uint8Array {
    const { generation, index, chunkBytes, chunkCount, dataBytes } = this.snap;
    if (value === undefined) {
      throw this.fail(new StorageCorruptionError({ groupId: this.groupId, index, reason: 'gap', message: `snapshot chunk ${chunk} of ${chunkCount} (snapshot index ${index}) is missing` }));
    }
    try {
      const data = decodeSnapshotChunk(this.groupId, index, generation, chunk, value);
      const expected = chunk === chunkCount - 1 ? dataBytes - chunk * chunkBytes : chunkBytes;
      if (data.length !== expected) {
        throw new StorageCorruptionError({ groupId: this.groupId, index, reason: 'malformed', message: `snapshot chunk ${chunk} holds ${data.length} bytes, expected ${expected}` });
      }
      return data;
    } catch (err) {
      if (err instanceof StorageCorruptionError) throw this.fail(err);
      throw err;
    }
  }

  // -------------------------------------------------------------------------------------
  // Writes
  // -------------------------------------------------------------------------------------

  /** Stages `writes` (all or none), numbering them; returns the promise of the last and its seq. */
  private stage(writes: readonly { ops: Ops; sync: boolean }[]): { promise: Promise<void>; seq: number } {
    const promise = this.host.committer.stage(writes.map((w) => ({ ops: w.ops.list, bytes: w.ops.bytes, sync: w.sync })));
    const seq = ++this.seq;
    promise.then(
      () => this.onDurable(seq),
      () => undefined, // the caller gets the rejection; the committer has stopped the node storage
    );
    return { promise, seq };
  }

  private onDurable(seq: number): void {
    if (seq > this.durableSeq) this.durableSeq = seq;
    this.cache.markDurable(seq);
    if (this.pinned !== null && this.pinned.untilSeq <= seq) this.pinned = null;
  }

  /** The group state record (hard state and log bounds) as it will be after this write. */
  private stateOps(ops: Ops, hard: HardState, offsetIndex: number, offsetTerm: number, lastIndex: number, lastTerm: number): void {
    const log = { offsetIndex: offsetIndex as LogIndex, offsetTerm: offsetTerm as Term, lastIndex: lastIndex as LogIndex, lastTerm: lastTerm as Term };
    ops.put(stateKey(this.groupId), encodeGroupState(this.groupId, { hardState: hard, log }));
  }

  private chunkOps(generation: number, snapshotIndex: number, data: Uint8Array): Ops[] {
    const size = this.host.opts.snapshotChunkBytes;
    // Room in each batch for the final write's log deletes and entries.
    const perBatch = Math.max(1, Math.floor(this.host.opts.batchBytesMax / 2 / (size + 64)));
    const out: Ops[] = [];
    let ops = new Ops();
    const count = Math.ceil(data.byteLength / size);
    for (let c = 0; c < count; c++) {
      if (ops.list.length >= perBatch) {
        out.push(ops);
        ops = new Ops();
      }
      const piece = data.subarray(c * size, Math.min(data.byteLength, (c + 1) * size));
      ops.put(snapshotChunkKey(this.groupId, generation, c), encodeSnapshotChunk(this.groupId, snapshotIndex, generation, c, piece));
    }
    if (ops.list.length > 0) out.push(ops);
    return out;
  }

  private deleteChunksOps(ops: Ops, meta: StoredSnapshotMeta): void {
    // Bounded by the chunk count of one snapshot (snapshotBytesMax / snapshotChunkBytes).
    for (let c = 0; c < meta.chunkCount; c++) ops.del(snapshotChunkKey(this.groupId, meta.generation, c));
  }

  persist(ready: PersistInput): Promise<void> {
    this.guard();
    const plan = checkPersist(this.groupId, this, ready, this.host.opts);
    const writes: { ops: Ops; sync: boolean }[] = [];
    const ops = new Ops();
    const snapshot = ready.snapshot ?? null;
    let newSnap: StoredSnapshotMeta | null = null;
    // The view after the snapshot (if any), before the entries.
    let offsetIndex = this.offsetIndex;
    let offsetTerm = this.offsetTerm;
    let last = this.last;
    if (snapshot !== null) {
      const generation = this.nextGeneration++;
      const size = this.host.opts.snapshotChunkBytes;
      newSnap = {
        index: snapshot.meta.index,
        term: snapshot.meta.term,
        confState: snapshot.meta.confState,
        dataBytes: snapshot.data.byteLength,
        generation,
        chunkBytes: size,
        chunkCount: Math.ceil(snapshot.data.byteLength / size),
      };
      for (const c of this.chunkOps(generation, newSnap.index, snapshot.data)) writes.push({ ops: c, sync: ready.mustSync });
      ops.put(snapshotMetaKey(this.groupId), encodeSnapshotMeta(this.groupId, newSnap));
      this.deleteChunksOps(ops, this.snap);
      // Bounded by the log length, which compaction bounds.
      for (let i = this.offsetIndex + 1; i <= this.last; i++) ops.del(entryKey(this.groupId, i));
      offsetIndex = newSnap.index;
      offsetTerm = newSnap.term;
      last = newSnap.index;
    }
    const ents = plan.entries;
    const first = ents[0];
    if (first !== undefined) {
      // Entries past the new last index are a discarded suffix; the rest are overwritten.
      for (let i = plan.lastIndex + 1; i <= last; i++) ops.del(entryKey(this.groupId, i));
      for (const e of ents) ops.put(entryKey(this.groupId, e.index), encodeEntry(this.groupId, e));
    }
    const hs = ready.hardState ?? null;
    if (snapshot !== null || first !== undefined || hs !== null) {
      const lastIndex = first !== undefined ? plan.lastIndex : last;
      const lastTerm = first !== undefined ? (ents[ents.length - 1] as Entry).term : lastIndex === offsetIndex ? offsetTerm : this.runs.termAt(lastIndex);
      this.stateOps(ops, hs ?? this.hard, offsetIndex, offsetTerm, lastIndex, lastTerm);
    }
    if (ops.list.length === 0 && writes.length === 0) return Promise.resolve();
    writes.push({ ops, sync: ready.mustSync });
    const { promise, seq } = this.stage(writes);

    // Staged: now the view.
    if (snapshot !== null && newSnap !== null) {
      this.snap = newSnap;
      this.snapMeta = snapshot.meta;
      this.pinned = { generation: newSnap.generation, data: snapshot.data, untilSeq: seq };
      this.offsetIndex = offsetIndex;
      this.offsetTerm = offsetTerm;
      this.last = last;
      this.runs.clear();
      this.cache.reset(last + 1);
    }
    if (first !== undefined) {
      this.runs.truncateFrom(first.index);
      for (const e of ents) this.runs.push(e.index, e.term);
      this.cache.append(ents, seq);
      this.last = plan.lastIndex;
    }
    if (hs !== null) this.hard = hs;
    return promise;
  }

  appliedIndex(): LogIndex {
    this.guard();
    return this.applied as LogIndex;
  }

  setAppliedIndex(index: LogIndex): Promise<void> {
    this.guard();
    checkApplied(this.groupId, this, index);
    const ops = new Ops();
    ops.put(appliedKey(this.groupId), encodeApplied(this.groupId, index));
    const { promise } = this.stage([{ ops, sync: false }]);
    this.applied = index;
    return promise;
  }

  async createSnapshot(index: LogIndex, confState: ConfState, data: Uint8Array): Promise<SnapshotMeta> {
    const writer = this.beginSnapshot(index, confState);
    await writer.write(data);
    const result = await writer.commit();
    if (result.type === 'superseded') {
      throw new RangeError(`Cannot create a snapshot of group ${this.groupId} at ${index}: superseded by the snapshot at ${result.current.index}`);
    }
    return result.meta;
  }

  beginSnapshot(index: LogIndex, confState: ConfState): SnapshotWriter {
    this.guard();
    const term = checkCreateSnapshot(this.groupId, this, index, confState);
    const { snapshotChunkBytes, snapshotBytesMax } = this.host.opts;
    return new LevelSnapshotWriter(this, index, term, confState, this.nextGeneration++, snapshotChunkBytes, snapshotBytesMax);
  }

  /** Stages one chunk of a writer's snapshot (not visible until `commitSnapshot`). */
  stageSnapshotChunk(index: number, generation: number, chunk: number, data: Uint8Array): Promise<void> {
    this.guard();
    const ops = new Ops();
    ops.put(snapshotChunkKey(this.groupId, generation, chunk), encodeSnapshotChunk(this.groupId, index, generation, chunk, data));
    return this.stage([{ ops, sync: true }]).promise;
  }

  /** Deletes a writer's chunks (abort, or superseded). */
  discardSnapshotChunks(generation: number, chunkCount: number): Promise<void> {
    if (chunkCount === 0 || this.closedReason !== null) return Promise.resolve();
    const ops = new Ops();
    for (let c = 0; c < chunkCount; c++) ops.del(snapshotChunkKey(this.groupId, generation, c));
    return this.stage([{ ops, sync: false }]).promise;
  }

  /** Switches the group to a writer's snapshot once all its chunks are on disk. */
  async commitSnapshot(meta: StoredSnapshotMeta): Promise<SnapshotCommitResult> {
    this.guard();
    if (meta.index <= this.snap.index) {
      await this.discardSnapshotChunks(meta.generation, meta.chunkCount);
      return { type: 'superseded', current: this.snapMeta };
    }
    // Invariant: the snapshot's index is committed, so no truncation can have removed it,
    // and compaction never passes the (older) current snapshot.
    assert(meta.index <= this.last && meta.index >= this.offsetIndex, `commitSnapshot: index ${meta.index} outside the log of group ${this.groupId}`);
    assert(this.term(meta.index as LogIndex) === meta.term, `commitSnapshot: term of ${meta.index} changed in group ${this.groupId}`);
    const ops = new Ops();
    ops.put(snapshotMetaKey(this.groupId), encodeSnapshotMeta(this.groupId, meta));
    this.deleteChunksOps(ops, this.snap);
    const { promise } = this.stage([{ ops, sync: true }]);
    this.snap = meta;
    this.snapMeta = { index: meta.index, term: meta.term, confState: meta.confState };
    this.pinned = null;
    await promise;
    return { type: 'committed', meta: this.snapMeta };
  }

  compact(index: LogIndex): Promise<void> {
    this.guard();
    if (!checkCompact(this.groupId, this, index)) return Promise.resolve();
    const term = this.term(index);
    const lastTerm = this.term(this.last as LogIndex);
    const ops = new Ops();
    // Bounded by the entries compacted away.
    for (let i = this.offsetIndex + 1; i <= index; i++) ops.del(entryKey(this.groupId, i));
    this.stateOps(ops, this.hard, index, term, this.last, lastTerm);
    const { promise } = this.stage([{ ops, sync: true }]);
    this.offsetIndex = index;
    this.offsetTerm = term;
    if (index >= this.last) this.runs.clear();
    else this.runs.dropThrough(index);
    this.cache.dropThrough(index);
    return promise;
  }

  async readEntries(lo: LogIndex, hi: LogIndex, bytesMax: number): Promise<readonly Entry[]> {
    this.guard();
    checkEntriesRange(this.groupId, this, lo, hi, bytesMax);
    const out: Entry[] = [];
    let bytes = 0;
    const diskHi = Math.min(hi, this.cache.firstIndex);
    let full = false;
    if (lo < diskHi) {
      let expected: number = lo;
      const visit = (key: Uint8Array, value: Uint8Array): boolean => {
        const idx = indexOfEntryKey(key);
        if (idx !== expected) {
          throw new StorageCorruptionError({ groupId: this.groupId, index: expected, reason: 'gap', message: `log entry ${expected} is missing on disk (found ${idx})` });
        }
        const e = decodeEntry(this.groupId, idx, value);
        bytes += entrySizeBytes(e);
        if (bytes > bytesMax && out.length > 0) {
          full = true;
          return false;
        }
        out.push(e);
        expected++;
        return true;
      };
      this.host.journal.begin(this.groupId, 'read');
      try {
        // Reads at most 1 page past the budget: scanRange pages are 256 records.
        await scanRange(this.host.db, { gte: entryKey(this.groupId, lo), lt: entryKey(this.groupId, diskHi) }, true, visit);
      } catch (err) {
        if (err instanceof StorageCorruptionError) throw this.fail(err);
        this.levelFail(expected, `log entries from ${lo}`, err);
      } finally {
        this.host.journal.end(this.groupId);
      }
      if (!full && expected !== diskHi) {
        throw this.fail(new StorageCorruptionError({ groupId: this.groupId, index: expected, reason: 'gap', message: `log entry ${expected} is missing on disk` }));
      }
      this.host.counters.cacheMisses += out.length;
    }
    // Bounded by hi - lo.
    for (let i = Math.max(lo, diskHi); !full && i < hi; i++) {
      const e = this.cache.get(i) ?? this.readEntrySync(i);
      bytes += entrySizeBytes(e);
      if (bytes > bytesMax && out.length > 0) break;
      out.push(e);
    }
    return out;
  }

  async *readSnapshot(): AsyncIterable<Uint8Array> {
    this.guard();
    const meta = this.snap;
    const pinned = this.pinned;
    if (pinned !== null && pinned.generation === meta.generation) {
      // Bounded by chunkCount pieces.
      for (let o = 0; o < pinned.data.byteLength; o += meta.chunkBytes) yield pinned.data.subarray(o, Math.min(pinned.data.byteLength, o + meta.chunkBytes));
      return;
    }
    if (meta.chunkCount === 0) return;
    // Pages of 4 chunks (1 MiB at the default chunk size) keep memory flat for any snapshot size.
    const pageChunks = 4;
    for (let c = 0; c < meta.chunkCount; c += pageChunks) {
      const keys: Uint8Array[] = [];
      for (let k = c; k < Math.min(meta.chunkCount, c + pageChunks); k++) keys.push(snapshotChunkKey(this.groupId, meta.generation, k));
      let values: (Uint8Array | undefined)[];
      this.host.journal.begin(this.groupId, 'read');
      try {
        values = await this.host.db.getMany(keys, { keyEncoding: 'view', valueEncoding: 'view', fillCache: false });
      } catch (cause) {
        this.levelFail(meta.index, `snapshot chunks from ${c}`, cause);
      } finally {
        this.host.journal.end(this.groupId);
      }
      // A newer snapshot may have replaced this one meanwhile: its chunks are deleted.
      if (this.snap.generation !== meta.generation) {
        throw new StorageUnavailableError('closed', this.groupId, `group ${this.groupId}: snapshot ${meta.index} was replaced while being read`);
      }
      for (let k = 0; k < values.length; k++) yield this.verifyChunk(c + k, values[k]);
    }
  }

  async snapshotData(): Promise<Snapshot> {
    this.guard();
    const meta = this.snapMeta;
    const data = new Uint8Array(this.snap.dataBytes);
    let o = 0;
    for await (const piece of this.readSnapshot()) {
      data.set(piece, o);
      o += piece.length;
    }
    return { meta, data };
  }

  /** For tests and stats: bytes and entries held by the entry cache, and term runs. */
  cacheStats(): { readonly entries: number; readonly bytes: number; readonly firstIndex: number; readonly termRuns: number } {
    return { entries: this.cache.length, bytes: this.cache.bytes, firstIndex: this.cache.firstIndex, termRuns: this.runs.runCount };
  }
}

/** See `SnapshotWriter`. Chunks are staged as they fill; the meta switches at `commit`. */
class LevelSnapshotWriter implements SnapshotWriter {
  private readonly buffer: Uint8Array;
  private filled = 0;
  private chunks = 0;
  private dataBytes = 0;
  private inflight: Promise<void>[] = [];
  private done = false;

  constructor(
    private readonly group: LevelGroupStorage,
    readonly index: LogIndex,
    readonly term: Term,
    private readonly confState: ConfState,
    private readonly generation: number,
    chunkBytes: number,
    private readonly snapshotBytesMax: number,
  ) {
    this.buffer = new Uint8Array(chunkBytes);
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.done) throw new TypeError(`SnapshotWriter of group ${this.group.groupId}: write after commit or abort`);
    if (this.dataBytes + bytes.byteLength > this.snapshotBytesMax) {
      throw new RangeError(`SnapshotWriter of group ${this.group.groupId}: snapshot would exceed 'snapshotBytesMax' (${this.snapshotBytesMax})`);
    }
    let o = 0;
    // Bounded by bytes.length / chunk size steps.
    while (o < bytes.byteLength) {
      const n = Math.min(bytes.byteLength - o, this.buffer.length - this.filled);
      this.buffer.set(bytes.subarray(o, o + n), this.filled);
      this.filled += n;
      o += n;
      this.dataBytes += n;
      if (this.filled === this.buffer.length) await this.emit();
    }
  }

  private async emit(): Promise<void> {
    const data = this.buffer.slice(0, this.filled);
    this.filled = 0;
    this.inflight.push(this.group.stageSnapshotChunk(this.index, this.generation, this.chunks++, data));
    if (this.inflight.length > SNAPSHOT_WRITES_INFLIGHT_MAX) await this.inflight.shift();
  }

  async commit(): Promise<SnapshotCommitResult> {
    if (this.done) throw new TypeError(`SnapshotWriter of group ${this.group.groupId}: commit after commit or abort`);
    this.done = true;
    if (this.filled > 0) await this.emit();
    await Promise.all(this.inflight);
    this.inflight = [];
    return this.group.commitSnapshot({
      index: this.index,
      term: this.term,
      confState: this.confState,
      dataBytes: this.dataBytes,
      generation: this.generation,
      chunkBytes: this.buffer.length,
      chunkCount: this.chunks,
    });
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await Promise.allSettled(this.inflight);
    this.inflight = [];
    await this.group.discardSnapshotChunks(this.generation, this.chunks);
  }
}
