/**
 * The in-memory twin of `LevelNodeStorage`: the same interfaces and checks over raft's
 * `MemoryStorage` (by composition), with a `MemoryDisk` that outlives an instance so a
 * test can "restart" a node. Writes are durable at once; nothing is checksummed because
 * nothing leaves memory. For unit tests, the simulator and the compliance suite.
 */
import type { ConfState, Entry, HardState, LogIndex, SnapshotChunkResult, SnapshotMeta, Snapshot, Term } from '../raft/index.js';
import { MemoryStorage } from '../raft/index.js';
import { StorageCorruptionError, StorageUnavailableError } from './errors.js';
import { toGroupId, type GroupId } from './group-id.js';
import { resolveMemoryOptions, type MemoryNodeStorageOptions, type ResolvedStorageOptions } from './options.js';
import type { CorruptGroup, GroupStorage, NodeStorage, NodeStorageStats, PersistInput, SnapshotCommitResult, SnapshotWriter, WipeOptions } from './types.js';
import { checkApplied, checkCompact, checkConfState, checkCreateSnapshot, checkEntriesRange, checkPersist } from './validate.js';

interface MemoryGroupRecord {
  storage: MemoryStorage;
  applied: LogIndex;
}

/** What survives a simulated restart: every group's records and the corrupt markers. */
export class MemoryDisk {
  readonly groups = new Map<GroupId, MemoryGroupRecord>();
  readonly markers = new Map<GroupId, CorruptGroup>();
}

export interface MemoryNodeStorageDeps {
  /** The "disk" to open; a new empty one by default. Pass the same one to reopen. */
  readonly disk?: MemoryDisk;
}

class MemoryGroupStorage implements GroupStorage {
  private corruption: StorageCorruptionError | null = null;
  private closedReason: string | null = null;

  constructor(
    readonly groupId: GroupId,
    private readonly rec: MemoryGroupRecord,
    private readonly opts: ResolvedStorageOptions,
    private readonly counters: { writes: number },
  ) {}

  setCorrupt(err: StorageCorruptionError): void {
    this.corruption ??= err;
  }

  close(reason: string): void {
    this.closedReason ??= reason;
  }

  private guard(): MemoryStorage {
    if (this.closedReason !== null) throw new StorageUnavailableError('closed', this.groupId, `group ${this.groupId}: ${this.closedReason}`);
    if (this.corruption !== null) throw this.corruption;
    return this.rec.storage;
  }

  private done(): Promise<void> {
    this.counters.writes++;
    return Promise.resolve();
  }

  initialState(): { readonly hardState: HardState } {
    return this.guard().initialState();
  }
  firstIndex(): LogIndex {
    return this.guard().firstIndex();
  }
  lastIndex(): LogIndex {
    return this.guard().lastIndex();
  }
  term(index: LogIndex): Term {
    return this.guard().term(index);
  }
  entries(lo: LogIndex, hi: LogIndex, bytesMax: number): readonly Entry[] {
    return this.guard().entries(lo, hi, bytesMax);
  }
  snapshot(): SnapshotMeta {
    return this.guard().snapshot();
  }
  snapshotChunk(index: LogIndex, offsetBytes: number, bytesMax: number): SnapshotChunkResult {
    return this.guard().snapshotChunk(index, offsetBytes, bytesMax);
  }

  persist(ready: PersistInput): Promise<void> {
    const s = this.guard();
    checkPersist(this.groupId, this, ready, this.opts);
    // MemoryStorage.persist's order (snapshot, entries, hard state), on our checked input.
    if (ready.snapshot !== null) s.applySnapshot(ready.snapshot);
    s.append(ready.entries);
    if (ready.hardState !== null) s.setHardState(ready.hardState);
    return this.done();
  }

  appliedIndex(): LogIndex {
    this.guard();
    return this.rec.applied;
  }

  setAppliedIndex(index: LogIndex): Promise<void> {
    this.guard();
    checkApplied(this.groupId, this, index);
    this.rec.applied = index;
    return this.done();
  }

  async createSnapshot(index: LogIndex, confState: ConfState, data: Uint8Array): Promise<SnapshotMeta> {
    const s = this.guard();
    checkCreateSnapshot(this.groupId, this, index, confState);
    if (data.byteLength > this.opts.snapshotBytesMax) {
      throw new RangeError(`Cannot create a snapshot of group ${this.groupId}: ${data.byteLength} bytes exceed 'snapshotBytesMax' (${this.opts.snapshotBytesMax})`);
    }
    const meta = s.createSnapshot(index, confState, data.slice());
    await this.done();
    return meta;
  }

  beginSnapshot(index: LogIndex, confState: ConfState): SnapshotWriter {
    this.guard();
    const term = checkCreateSnapshot(this.groupId, this, index, confState);
    return new MemorySnapshotWriter(this, index, term, confState, this.opts.snapshotBytesMax);
  }

  /** Called by the writer: the snapshot, unless a newer one replaced the log meanwhile. */
  commitSnapshot(index: LogIndex, confState: ConfState, data: Uint8Array): SnapshotCommitResult {
    const s = this.guard();
    if (index <= s.snapshot().index) return { type: 'superseded', current: s.snapshot() };
    this.counters.writes++;
    return { type: 'committed', meta: s.createSnapshot(index, confState, data) };
  }

  compact(index: LogIndex): Promise<void> {
    const s = this.guard();
    if (!checkCompact(this.groupId, this, index)) return Promise.resolve();
    s.compact(index);
    return this.done();
  }

  async readEntries(lo: LogIndex, hi: LogIndex, bytesMax: number): Promise<readonly Entry[]> {
    const s = this.guard();
    checkEntriesRange(this.groupId, this, lo, hi, bytesMax);
    await Promise.resolve();
    return s.entries(lo, hi, bytesMax);
  }

  async *readSnapshot(): AsyncIterable<Uint8Array> {
    const data = this.guard().snapshotData().data;
    const size = this.opts.snapshotChunkBytes;
    // Bounded by data.length / size pieces.
    for (let o = 0; o < data.byteLength; o += size) {
      await Promise.resolve();
      yield data.subarray(o, Math.min(data.byteLength, o + size));
    }
  }

  async snapshotData(): Promise<Snapshot> {
    const snap = this.guard().snapshotData();
    await Promise.resolve();
    return snap;
  }
}

class MemorySnapshotWriter implements SnapshotWriter {
  private readonly pieces: Uint8Array[] = [];
  private bytes = 0;
  private done = false;

  constructor(
    private readonly group: MemoryGroupStorage,
    readonly index: LogIndex,
    readonly term: Term,
    private readonly confState: ConfState,
    private readonly snapshotBytesMax: number,
  ) {}

  async write(bytes: Uint8Array): Promise<void> {
    if (this.done) throw new TypeError(`SnapshotWriter of group ${this.group.groupId}: write after commit or abort`);
    if (this.bytes + bytes.byteLength > this.snapshotBytesMax) {
      throw new RangeError(`SnapshotWriter of group ${this.group.groupId}: snapshot would exceed 'snapshotBytesMax' (${this.snapshotBytesMax})`);
    }
    this.pieces.push(bytes.slice());
    this.bytes += bytes.byteLength;
    await Promise.resolve();
  }

  async commit(): Promise<SnapshotCommitResult> {
    if (this.done) throw new TypeError(`SnapshotWriter of group ${this.group.groupId}: commit after commit or abort`);
    this.done = true;
    const data = new Uint8Array(this.bytes);
    let o = 0;
    for (const p of this.pieces) {
      data.set(p, o);
      o += p.length;
    }
    await Promise.resolve();
    return this.group.commitSnapshot(this.index, this.confState, data);
  }

  async abort(): Promise<void> {
    this.done = true;
    this.pieces.length = 0;
    await Promise.resolve();
  }
}

/**
 * @example
 * ```ts
 * const disk = new MemoryDisk();
 * const node = await MemoryNodeStorage.open({}, { disk });
 * await node.createGroup(toGroupId(1), { bootstrap: null });
 * const again = await MemoryNodeStorage.open({}, { disk }); // a "restart": same records
 * ```
 */
export class MemoryNodeStorage implements NodeStorage {
  readonly options: ResolvedStorageOptions;
  private readonly disk: MemoryDisk;
  private readonly open = new Map<GroupId, MemoryGroupStorage>();
  private readonly counters = { writes: 0 };
  private closed = false;

  private constructor(options: ResolvedStorageOptions, disk: MemoryDisk) {
    this.options = options;
    this.disk = disk;
  }

  static async open(options: MemoryNodeStorageOptions = {}, deps: MemoryNodeStorageDeps = {}): Promise<MemoryNodeStorage> {
    const opts = resolveMemoryOptions(options);
    await Promise.resolve();
    return new MemoryNodeStorage(opts, deps.disk ?? new MemoryDisk());
  }

  private guard(): void {
    if (this.closed) throw new StorageUnavailableError('closed', null, 'node storage is closed');
  }

  groupIds(): readonly GroupId[] {
    const ids = new Set<GroupId>([...this.disk.groups.keys(), ...this.disk.markers.keys()]);
    return [...ids].sort((a, b) => a - b);
  }

  async createGroup(groupId: GroupId, options: { readonly bootstrap: ConfState | null }): Promise<GroupStorage> {
    this.guard();
    const id = toGroupId(groupId);
    if (typeof options !== 'object' || options === null || !('bootstrap' in options)) {
      throw new TypeError(`Cannot create group ${id}: options must be { bootstrap: ConfState | null } (got ${JSON.stringify(options)})`);
    }
    if (options.bootstrap !== null) checkConfState(`Cannot create group ${id}`, options.bootstrap);
    if (this.disk.groups.has(id) || this.disk.markers.has(id)) throw new RangeError(`Cannot create group ${id}: it already exists on this node`);
    const rec: MemoryGroupRecord = {
      storage: options.bootstrap === null ? new MemoryStorage() : MemoryStorage.bootstrap(options.bootstrap),
      applied: 0 as LogIndex,
    };
    this.disk.groups.set(id, rec);
    const g = new MemoryGroupStorage(id, rec, this.options, this.counters);
    this.open.set(id, g);
    await Promise.resolve();
    return g;
  }

  async openGroup(groupId: GroupId): Promise<GroupStorage> {
    this.guard();
    const id = toGroupId(groupId);
    await Promise.resolve();
    const marker = this.disk.markers.get(id);
    if (marker !== undefined) {
      throw new StorageCorruptionError({ groupId: id, index: marker.index, reason: 'marked', message: `marked corrupt (${marker.reason}): ${marker.message}` });
    }
    const existing = this.open.get(id);
    if (existing !== undefined) return existing;
    const rec = this.disk.groups.get(id);
    if (rec === undefined) throw new RangeError(`Cannot open group ${id}: it does not exist on this node (create it with createGroup)`);
    const g = new MemoryGroupStorage(id, rec, this.options, this.counters);
    this.open.set(id, g);
    return g;
  }

  async markCorrupt(detail: CorruptGroup): Promise<void> {
    this.guard();
    const id = toGroupId(detail.groupId);
    const entry: CorruptGroup = { groupId: id, index: detail.index, reason: detail.reason, message: detail.message };
    if (!this.disk.markers.has(id)) this.disk.markers.set(id, entry);
    const g = this.open.get(id);
    if (g !== undefined) {
      g.setCorrupt(new StorageCorruptionError({ groupId: id, index: entry.index, reason: entry.reason, message: entry.message }));
      this.open.delete(id);
    }
    await Promise.resolve();
  }

  corruptGroups(): readonly CorruptGroup[] {
    return [...this.disk.markers.values()].sort((a, b) => a.groupId - b.groupId);
  }

  async wipeGroup(groupId: GroupId, options: WipeOptions): Promise<GroupStorage> {
    this.guard();
    const id = toGroupId(groupId);
    if (typeof options !== 'object' || options === null || !Number.isSafeInteger(options.term) || options.term < 0) {
      throw new RangeError(`Cannot wipe group ${id}: 'term' must be a non-negative safe integer (got ${JSON.stringify(options?.term)})`);
    }
    if (options.vote !== null && (typeof options.vote !== 'string' || options.vote.length === 0)) {
      throw new TypeError(`Cannot wipe group ${id}: 'vote' must be null or a node id (got ${JSON.stringify(options.vote)})`);
    }
    const old = this.disk.groups.get(id)?.storage.initialState().hardState;
    const keepOld = old !== undefined && old.term > options.term;
    const storage = new MemoryStorage();
    storage.setHardState({ term: keepOld ? old.term : options.term, vote: keepOld ? old.vote : options.vote, commit: 0 as LogIndex });
    this.open.get(id)?.close(`group ${id} was wiped`);
    const rec: MemoryGroupRecord = { storage, applied: 0 as LogIndex };
    this.disk.groups.set(id, rec);
    this.disk.markers.delete(id);
    const g = new MemoryGroupStorage(id, rec, this.options, this.counters);
    this.open.set(id, g);
    await Promise.resolve();
    return g;
  }

  async dropGroup(groupId: GroupId): Promise<void> {
    this.guard();
    const id = toGroupId(groupId);
    this.open.get(id)?.close(`group ${id} was dropped`);
    this.open.delete(id);
    this.disk.groups.delete(id);
    this.disk.markers.delete(id);
    await Promise.resolve();
  }

  stats(): NodeStorageStats {
    return { batches: 0, syncedBatches: 0, writes: this.counters.writes, ops: 0, bytes: 0, cacheHits: 0, cacheMisses: 0 };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const g of this.open.values()) g.close('node storage is closed');
    this.open.clear();
    await Promise.resolve();
  }
}
