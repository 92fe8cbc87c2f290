/**
 * A node's storage in one LevelDB database: many Raft groups under per-group key
 * prefixes (keys.ts), one group committer that writes every group's staged writes of an
 * event-loop turn in one batch with at most one fsync, corrupt-group markers, and the
 * storage side of rebuilding a corrupt replica (mark, list, wipe).
 *
 * Opening never throws because of damaged group data (that would be a crash loop): a
 * damaged group is marked corrupt and reported, and the others serve. It throws only for
 * what no restart can fix: a database written by an unknown format, or LevelDB failing
 * to open at all.
 */
import type { ConfState, Entry, LogIndex, NodeId, Term } from '../raft/index.js';
import { bootstrapEntry, emptyConfState } from '../raft/index.js';
import { EntryCache } from './entry-cache.js';
import { StorageCorruptionError, StorageUnavailableError } from './errors.js';
import { GroupCommitter, opBytes, type BatchOp, type BatchTarget } from './group-committer.js';
import type { FixedHistogram } from './fixed-histogram.js';
import { ATTEMPTS_MAX, InflightJournal } from './inflight-journal.js';
import { toGroupId, type GroupId } from './group-id.js';
import {
  appliedKey,
  corruptMarkerKey,
  entryKey,
  groupIdOfKey,
  groupRange,
  NODE_META_KEY,
  PREFIX_CORRUPT,
  PREFIX_GROUP,
  prefixRange,
  snapshotChunkKey,
  snapshotMetaKey,
  stateKey,
} from './keys.js';
import { chainedBatchTarget, createLevelDb, droppedLogLines, isLevelCorruption, repairLevelDb, scanRange, VIEW, type LevelDb } from './level-db.js';
import { LevelGroupStorage, type LevelGroupHost, type LoadedGroup } from './level-group-storage.js';
import { loadGroup } from './level-load.js';
import { resolveLevelOptions, type LevelNodeStorageOptions, type ResolvedLevelOptions } from './options.js';
import {
  decodeCorruptMarker,
  decodeGroupState,
  decodeNodeMeta,
  encodeApplied,
  encodeCorruptMarker,
  encodeEntry,
  encodeGroupState,
  encodeNodeMeta,
  encodeSnapshotMeta,
  LAYOUT_VERSION,
  type StoredSnapshotMeta,
} from './records.js';
import { TermRuns } from './term-runs.js';
import type { CorruptGroup, GroupStorage, NodeStorage, NodeStorageStats, WipeOptions } from './types.js';
import { checkConfState } from './validate.js';

export interface LevelNodeStorageDeps {
  /**
   * An unopened or open classic-level database at `options.location` with view
   * encodings (tests keep a handle to damage values while the storage runs). The storage
   * closes it on `close()`. Default: one it creates.
   */
  readonly db?: LevelDb;
  /** Wraps the batch target (tests count or fail batches). Default: the database's chained batch. */
  readonly wrapTarget?: (inner: BatchTarget) => BatchTarget;
}

/** Why `open` marked groups corrupt without reading them, if it did. */
export interface OpenReport {
  /** Lines of LevelDB's info log saying it dropped damaged write-ahead-log bytes on open. */
  readonly droppedLogLines: readonly string[];
  /** The node meta record failed verification and was rewritten (group records are verified on their own). */
  readonly nodeMetaDamaged: boolean;
  /** Listing groups stopped at a LevelDB corruption error; groups past it are not listed. */
  readonly listingError: string | null;
}

/** Ceiling on groups listed at open: 2^20 is far above any placement (thousands per node) and bounds the scan. */
const GROUPS_LISTED_MAX = 1 << 20;

/**
 * @example
 * ```ts
 * const node = await LevelNodeStorage.open({ location: '/var/lib/rl/node1' });
 * const g = await node.createGroup(toGroupId(1), { bootstrap: { voters: [toNodeId('a')], learners: [] } });
 * const raft = createRaftNode({ id: toNodeId('a') }, { storage: g, prng });
 * // for each Ready: await g.persist(rd); send; apply; raft.advance(rd)
 * ```
 */
export class LevelNodeStorage implements NodeStorage {
  readonly options: ResolvedLevelOptions;
  readonly openReport: OpenReport;
  private readonly db: LevelDb;
  private readonly committer: GroupCommitter;
  private readonly counters = { cacheHits: 0, cacheMisses: 0 };
  private readonly host: LevelGroupHost;
  private readonly journal: InflightJournal;
  /** Groups with records on disk. */
  private readonly known = new Set<GroupId>();
  private readonly markers = new Map<GroupId, CorruptGroup>();
  private readonly open = new Map<GroupId, LevelGroupStorage>();
  private readonly opening = new Map<GroupId, Promise<LevelGroupStorage>>();
  private closed = false;

  private constructor(options: ResolvedLevelOptions, db: LevelDb, target: BatchTarget, report: OpenReport, journal: InflightJournal) {
    this.options = options;
    this.db = db;
    this.openReport = report;
    this.journal = journal;
    this.committer = new GroupCommitter(options, { target });
    this.host = {
      db,
      committer: this.committer,
      opts: options,
      counters: this.counters,
      journal,
      onCorruption: (err) => {
        if (err.groupId === null) return;
        // The marker write's failure, if any, stops the committer, and every later write reports it.
        this.markCorrupt({ ...err.detail(), groupId: err.groupId }).catch(() => undefined);
      },
    };
  }

  /**
   * Opens (creating if missing) the database at `options.location`, lists its groups and
   * corrupt markers, and checks LevelDB's own recovery for dropped writes. Groups are
   * loaded and verified by `openGroup`.
   * @throws StorageCorruptionError (groupId null, reason `formatVersion`) for a database of another format.
   */
  static async open(options: LevelNodeStorageOptions, deps: LevelNodeStorageDeps = {}): Promise<LevelNodeStorage> {
    const opts = resolveLevelOptions(options);
    const db = deps.db ?? createLevelDb(opts.location, opts.levelCacheBytes, opts.levelWriteBufferBytes);
    if (db.status !== 'open') await db.open();
    try {
      return await LevelNodeStorage.start(opts, db, deps);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
  }

  private static async start(opts: ResolvedLevelOptions, db: LevelDb, deps: LevelNodeStorageDeps): Promise<LevelNodeStorage> {
    const dropped = await droppedLogLines(opts.location);
    let nodeMetaDamaged = false;
    const metaValue = await db.get(NODE_META_KEY, VIEW).catch((err: unknown) => {
      if (isLevelCorruption(err)) return null;
      throw err;
    });
    if (metaValue === null) {
      nodeMetaDamaged = true;
    } else if (metaValue !== undefined) {
      try {
        const layout = decodeNodeMeta(metaValue);
        if (layout !== LAYOUT_VERSION) {
          throw new StorageCorruptionError({ groupId: null, index: null, reason: 'formatVersion', message: `key layout ${layout} is not supported (this build reads ${LAYOUT_VERSION})` });
        }
      } catch (err) {
        if (!(err instanceof StorageCorruptionError) || err.reason === 'formatVersion') throw err;
        nodeMetaDamaged = true;
      }
    }

    const journal = new InflightJournal(opts.location);
    const known = new Set<GroupId>();
    let listingError: string | null = null;
    const LIST = toGroupId(0);
    if (journal.deaths(LIST, 'list') >= ATTEMPTS_MAX) {
      // Listing killed the process twice: groups are found one by one by openGroup instead,
      // on every start until `repair` (which clears the journal).
      listingError = `the process died ${ATTEMPTS_MAX} times in a row listing groups (LevelDB aborts on some damaged files); run repair`;
    } else {
      journal.begin(LIST, 'list');
      try {
        await listGroups(db, known);
      } catch (err) {
        if (!isLevelCorruption(err)) throw err;
        listingError = String(err);
      } finally {
        journal.end(LIST, 'list');
      }
    }
    const markers = new Map<GroupId, CorruptGroup>();
    try {
      await scanRange(db, prefixRange(PREFIX_CORRUPT), true, (key, value) => {
        const id = groupIdOfKey(key);
        if (id < 0) return;
        const groupId = toGroupId(id);
        try {
          const m = decodeCorruptMarker(groupId, value);
          markers.set(groupId, { groupId, index: m.index, reason: m.reason, message: m.message });
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          markers.set(groupId, { groupId, index: null, reason: 'checksum', message: `corrupt marker unreadable: ${message}` });
        }
      });
    } catch (err) {
      if (!isLevelCorruption(err)) throw err;
      listingError ??= String(err);
    }

    const report: OpenReport = { droppedLogLines: dropped, nodeMetaDamaged, listingError };
    const target = chainedBatchTarget(db);
    const node = new LevelNodeStorage(opts, db, deps.wrapTarget?.(target) ?? target, report, journal);
    for (const g of known) node.known.add(g);
    for (const [g, m] of markers) {
      node.known.add(g);
      node.markers.set(g, m);
    }
    if (metaValue === undefined || nodeMetaDamaged) {
      const op: BatchOp = { type: 'put', key: NODE_META_KEY, value: encodeNodeMeta() };
      await node.committer.stage([{ ops: [op], bytes: opBytes(op), sync: true }]);
    }
    // LevelDB dropped writes while recovering its log: any group may have lost acknowledged
    // writes (a vote, entries), which no check of what remains can see. None is trusted.
    if (dropped.length > 0) {
      const message = `LevelDB dropped damaged write-ahead-log bytes on open (${dropped[0]?.trim() ?? ''}); writes of any group may be lost`;
      const pending: Promise<void>[] = [];
      for (const g of node.known) {
        if (!node.markers.has(g)) pending.push(node.markCorrupt({ groupId: g, index: null, reason: 'levelLogDropped', message }));
      }
      await Promise.all(pending);
    }
    // Groups whose reads killed the process ATTEMPTS_MAX times in a row: never read again.
    for (const g of journal.givenUp('read')) {
      if (!node.markers.has(g)) await node.markCorrupt(diedReading(g));
      journal.forget(g);
    }
    return node;
  }

  private guard(): void {
    if (this.closed) throw new StorageUnavailableError('closed', null, 'node storage is closed');
  }

  groupIds(): readonly GroupId[] {
    return [...this.known].sort((a, b) => a - b);
  }

  async createGroup(groupId: GroupId, options: { readonly bootstrap: ConfState | null }): Promise<GroupStorage> {
    this.guard();
    const id = toGroupId(groupId);
    if (typeof options !== 'object' || options === null || !('bootstrap' in options)) {
      throw new TypeError(`Cannot create group ${id}: options must be { bootstrap: ConfState | null } (got ${JSON.stringify(options)})`);
    }
    if (options.bootstrap !== null) checkConfState(`Cannot create group ${id}`, options.bootstrap);
    if (this.known.has(id) || this.opening.has(id)) throw new RangeError(`Cannot create group ${id}: it already exists on this node`);
    const boot = options.bootstrap === null ? null : bootstrapEntry(options.bootstrap);
    const hard = boot === null ? { term: 0 as Term, vote: null, commit: 0 as LogIndex } : { term: 1 as Term, vote: null, commit: 1 as LogIndex };
    const { ops, loaded } = this.freshGroup(id, hard, boot === null ? [] : [boot]);
    this.known.add(id);
    const group = new LevelGroupStorage(id, loaded, this.host);
    this.open.set(id, group);
    await this.committer.stage([{ ops, bytes: ops.reduce((n, op) => n + opBytes(op), 0), sync: true }]);
    return group;
  }

  /** The records of a group with no snapshot, `entries` (from index 1) and `hard`, and its loaded view. */
  private freshGroup(id: GroupId, hard: { term: Term; vote: NodeId | null; commit: LogIndex }, entries: readonly Entry[]): { ops: BatchOp[]; loaded: LoadedGroup } {
    const snapshot: StoredSnapshotMeta = {
      index: 0 as LogIndex,
      term: 0 as Term,
      confState: emptyConfState(),
      dataBytes: 0,
      generation: 0,
      chunkBytes: this.options.snapshotChunkBytes,
      chunkCount: 0,
    };
    const last = entries[entries.length - 1];
    const lastIndex = (last?.index ?? 0) as LogIndex;
    const lastTerm = (last?.term ?? 0) as Term;
    const ops: BatchOp[] = [
      { type: 'put', key: stateKey(id), value: encodeGroupState(id, { hardState: hard, log: { offsetIndex: 0 as LogIndex, offsetTerm: 0 as Term, lastIndex, lastTerm } }) },
      { type: 'put', key: snapshotMetaKey(id), value: encodeSnapshotMeta(id, snapshot) },
      { type: 'put', key: appliedKey(id), value: encodeApplied(id, 0 as LogIndex) },
    ];
    const runs = new TermRuns();
    const cache = new EntryCache(this.options.groupEntryCacheBytesMax);
    for (const e of entries) {
      ops.push({ type: 'put', key: entryKey(id, e.index), value: encodeEntry(id, e) });
      runs.push(e.index, e.term);
    }
    cache.append(entries, 0);
    const loaded: LoadedGroup = {
      hardState: hard,
      offsetIndex: 0 as LogIndex,
      offsetTerm: 0 as Term,
      lastIndex,
      snapshot,
      applied: 0 as LogIndex,
      runs,
      cache,
      nextGeneration: 1,
    };
    return { ops, loaded };
  }

  async openGroup(groupId: GroupId): Promise<GroupStorage> {
    this.guard();
    const id = toGroupId(groupId);
    if (this.journal.deaths(id, 'read') >= ATTEMPTS_MAX) {
      await this.markCorrupt(diedReading(id));
      this.journal.forget(id);
    }
    const marker = this.markers.get(id);
    if (marker !== undefined) {
      throw new StorageCorruptionError({ groupId: id, index: marker.index, reason: 'marked', message: `marked corrupt (${marker.reason}): ${marker.message}` });
    }
    const existing = this.open.get(id);
    if (existing !== undefined) return existing;
    const inProgress = this.opening.get(id);
    if (inProgress !== undefined) return inProgress;
    if (!this.known.has(id) && this.openReport.listingError !== null && (await this.hasRecords(id))) this.known.add(id);
    if (!this.known.has(id)) {
      if (this.openReport.droppedLogLines.length > 0) {
        // LevelDB dropped log records at open: they may have held this group's records.
        const detail = { groupId: id, index: null, reason: 'levelLogDropped' as const, message: 'no records, and LevelDB dropped damaged write-ahead-log bytes on open that may have held them' };
        await this.markCorrupt(detail);
        throw new StorageCorruptionError(detail);
      }
      throw new RangeError(`Cannot open group ${id}: it does not exist on this node (create it with createGroup)`);
    }
    const p = this.load(id);
    this.opening.set(id, p);
    try {
      return await p;
    } finally {
      this.opening.delete(id);
    }
  }

  /** Whether any record of the group exists (after listing failed at open); LevelDB damage is reported as the group's corruption. */
  private async hasRecords(id: GroupId): Promise<boolean> {
    this.journal.begin(id, 'read');
    try {
      const keys = await this.db.keys({ ...groupRange(id), limit: 1, keyEncoding: 'view' }).all();
      return keys.length > 0;
    } catch (err) {
      if (!isLevelCorruption(err)) throw err;
      const detail = { groupId: id, index: null, reason: 'level' as const, message: 'LevelDB reports corruption looking up the group' };
      await this.markCorrupt(detail);
      throw new StorageCorruptionError(detail, { cause: err });
    } finally {
      this.journal.end(id);
    }
  }

  private async load(id: GroupId): Promise<LevelGroupStorage> {
    let result;
    this.journal.begin(id, 'read');
    try {
      result = await loadGroup(this.db, id, this.options.groupEntryCacheBytesMax);
    } catch (err) {
      if (err instanceof StorageCorruptionError) {
        await this.markCorrupt({ ...err.detail(), groupId: id });
      }
      throw err;
    } finally {
      this.journal.end(id);
    }
    if (result.garbageGenerations.length > 0) {
      // Chunks of snapshot writers that crashed before committing: never referenced, safe to drop.
      for (const gen of result.garbageGenerations) {
        await this.db.clear({ gte: snapshotChunkKey(id, gen, 0), lte: snapshotChunkKey(id, gen, 0xffff_ffff), keyEncoding: 'view' });
      }
    }
    this.guard();
    const group = new LevelGroupStorage(id, result.group, this.host);
    this.open.set(id, group);
    return group;
  }

  async markCorrupt(detail: CorruptGroup): Promise<void> {
    this.guard();
    const id = toGroupId(detail.groupId);
    const entry: CorruptGroup = { groupId: id, index: detail.index, reason: detail.reason, message: detail.message };
    const already = this.markers.get(id);
    this.markers.set(id, already ?? entry);
    this.known.add(id);
    const group = this.open.get(id);
    if (group !== undefined) {
      group.setCorrupt(new StorageCorruptionError({ groupId: id, index: entry.index, reason: entry.reason, message: entry.message }));
      this.open.delete(id);
    }
    if (already !== undefined) return;
    const op: BatchOp = { type: 'put', key: corruptMarkerKey(id), value: encodeCorruptMarker(id, entry) };
    await this.committer.stage([{ ops: [op], bytes: opBytes(op), sync: true }]);
  }

  corruptGroups(): readonly CorruptGroup[] {
    return [...this.markers.values()].sort((a, b) => a.groupId - b.groupId);
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
    let hard = { term: options.term, vote: options.vote, commit: 0 as LogIndex };
    const old = await this.readHardStateIfValid(id);
    if (old !== null && old.term > options.term) hard = { term: old.term, vote: old.vote, commit: 0 as LogIndex };
    await this.removeGroupRecords(id, `group ${id} was wiped`);
    const { ops, loaded } = this.freshGroup(id, hard, []);
    ops.push({ type: 'del', key: corruptMarkerKey(id) });
    await this.committer.stage([{ ops, bytes: ops.reduce((n, op) => n + opBytes(op), 0), sync: true }]);
    this.markers.delete(id);
    this.known.add(id);
    const group = new LevelGroupStorage(id, loaded, this.host);
    this.open.set(id, group);
    return group;
  }

  async dropGroup(groupId: GroupId): Promise<void> {
    this.guard();
    const id = toGroupId(groupId);
    await this.removeGroupRecords(id, `group ${id} was dropped`);
    const op: BatchOp = { type: 'del', key: corruptMarkerKey(id) };
    await this.committer.stage([{ ops: [op], bytes: opBytes(op), sync: true }]);
    this.markers.delete(id);
    this.known.delete(id);
  }

  private async readHardStateIfValid(id: GroupId): Promise<{ term: Term; vote: NodeId | null } | null> {
    try {
      const v = await this.db.get(stateKey(id), VIEW);
      if (v === undefined) return null;
      const hs = decodeGroupState(id, v).hardState;
      return { term: hs.term, vote: hs.vote };
    } catch {
      return null; // unreadable: the caller's term and vote are used
    }
  }

  /** Stops the open instance, waits for its staged writes, then deletes the group's range (not its marker). */
  private async removeGroupRecords(id: GroupId, reason: string): Promise<void> {
    const deaths = this.journal.deaths(id, 'wipe');
    if (deaths >= ATTEMPTS_MAX) {
      throw new StorageCorruptionError({
        groupId: id,
        index: null,
        reason: 'level',
        message: `the process died ${deaths} times in a row deleting the group (LevelDB aborts on its damaged files); repair the database (docs/storage.md, "Recovery")`,
      });
    }
    const inProgress = this.opening.get(id);
    if (inProgress !== undefined) await inProgress.catch(() => undefined);
    this.open.get(id)?.close(reason);
    this.open.delete(id);
    // Writes staged before now must land first, or one could re-create a key after the clear.
    await this.committer.drain();
    this.journal.begin(id, 'wipe');
    try {
      await this.db.clear({ ...groupRange(id), keyEncoding: 'view' });
    } catch (err) {
      this.journal.end(id, 'wipe');
      if (!isLevelCorruption(err)) throw err;
      throw new StorageCorruptionError(
        { groupId: id, index: null, reason: 'level', message: 'LevelDB reports corruption deleting the group; repair the database (docs/storage.md, "Recovery")' },
        { cause: err },
      );
    }
    this.journal.forget(id);
  }

  stats(): NodeStorageStats {
    const s = this.committer.stats;
    return { batches: s.batches, syncedBatches: s.syncedBatches, writes: s.writes, ops: s.ops, bytes: s.bytes, ...this.counters };
  }

  /** Bytes staged and not yet written. */
  pendingBytes(): number {
    return this.committer.pending;
  }

  /** Latency of LevelDB batches (all of them) and of synced ones, live histograms read at scrape time. */
  latency(): { readonly write: FixedHistogram; readonly fsync: FixedHistogram } {
    return { write: this.committer.writeLatency, fsync: this.committer.fsyncLatency };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.committer.close();
    } finally {
      for (const g of this.open.values()) g.close('node storage is closed');
      this.open.clear();
      await this.db.close();
    }
  }

  /**
   * Offline repair of a database LevelDB itself cannot read (LevelDB's RepairDB: it keeps
   * every readable record). Open it afterwards: every group is verified again on open and
   * any that lost records is marked corrupt, then rebuilt from a healthy replica.
   */
  static async repair(location: string): Promise<void> {
    await repairLevelDb(location);
    InflightJournal.clear(location);
  }
}

function diedReading(groupId: GroupId): CorruptGroup {
  return {
    groupId,
    index: null,
    reason: 'level',
    message: `the process died ${ATTEMPTS_MAX} times in a row while LevelDB read the group (LevelDB aborts on some damaged files); it is not read again`,
  };
}

/** Lists group ids with records by skipping from one group's range to the next: one seek per group. */
async function listGroups(db: LevelDb, into: Set<GroupId>): Promise<void> {
  let from = prefixRange(PREFIX_GROUP).gte;
  const end = prefixRange(PREFIX_GROUP).lt;
  for (let n = 0; n < GROUPS_LISTED_MAX; n++) {
    const keys = await db.keys({ gte: from, lt: end, limit: 1, keyEncoding: 'view' }).all();
    const key = keys[0];
    if (key === undefined) return;
    const id = groupIdOfKey(key);
    if (id < 0) return;
    into.add(toGroupId(id));
    const next = groupRange(toGroupId(id)).lt;
    if (next.length === 1) return; // the last possible group id
    from = next;
  }
}
