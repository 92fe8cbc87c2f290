/**
 * The storage interfaces the shell uses: `NodeStorage` (one per node: one LevelDB, many
 * groups, one group committer) and `GroupStorage` (one Raft group's log, hard state,
 * snapshot and applied index). Two implementations: `LevelNodeStorage` (level-node-storage.ts)
 * and `MemoryNodeStorage` (memory-node-storage.ts); test/storage/compliance.ts runs the
 * same cases against both.
 */
import type { ConfState, Entry, LogIndex, NodeId, RaftStorage, Ready, Snapshot, SnapshotMeta, Term } from '../raft/index.js';
import type { CorruptionDetail } from './errors.js';
import type { GroupId } from './group-id.js';

/**
 * When a LevelDB batch is fsynced (see docs/storage.md, "Durability modes"):
 * - `always`: every staged write is its own batch, fsynced, one at a time. Nothing is
 *   coalesced; the slowest mode, kept as the baseline of the group-commit benchmark.
 * - `batch` (default): every write staged in one event-loop turn, from every group, goes
 *   into one LevelDB batch, fsynced once if any write in it asked for durability. A
 *   write's promise resolves only after its batch is on disk.
 * - `off`: batches are never fsynced; promises resolve once LevelDB has the batch (in the
 *   OS page cache). Survives a process crash, not a power loss or kernel crash: a node
 *   may then forget votes and acknowledged entries, which Raft's safety relies on.
 */
export type FsyncMode = 'always' | 'batch' | 'off';

/** The part of a `Ready` storage persists (step 1 of its ordering rule). */
export type PersistInput = Pick<Ready, 'snapshot' | 'entries' | 'hardState' | 'mustSync'>;

/** Result of `SnapshotWriter.commit`. */
export type SnapshotCommitResult =
  | { readonly type: 'committed'; readonly meta: SnapshotMeta }
  /** A newer snapshot (e.g. one installed from the leader) replaced the log meanwhile; the written data was discarded. */
  | { readonly type: 'superseded'; readonly current: SnapshotMeta };

/**
 * Writes a snapshot of the state machine (a checkpoint) piece by piece, so a group of
 * millions of keys never needs its whole snapshot in one buffer. The data is the
 * concatenation of every `write`; the state machine chooses its framing (e.g. chunks
 * of many keys each, length-prefixed). Nothing is visible until `commit`.
 */
export interface SnapshotWriter {
  readonly index: LogIndex;
  readonly term: Term;
  /** Appends bytes; resolves once they are staged (waits when too much is in flight). */
  write(bytes: Uint8Array): Promise<void>;
  /** Makes the snapshot the group's latest, durably (it does not compact the log). */
  commit(): Promise<SnapshotCommitResult>;
  /** Discards what was written. */
  abort(): Promise<void>;
}

/**
 * One Raft group's durable state. The `RaftStorage` reads are synchronous and served from
 * memory (terms, hard state, snapshot meta, a byte-bounded entry cache), or from LevelDB
 * synchronously for entries evicted from the cache (verified like every read).
 *
 * Write methods update the in-memory view at once (the core may read it on its next
 * call) and return a promise that resolves when the write is durable per the fsync
 * mode. Writes of one group become durable in the order they were made.
 *
 * Once the group is found or marked corrupt, every method throws StorageCorruptionError.
 */
export interface GroupStorage extends RaftStorage {
  readonly groupId: GroupId;
  /**
   * Step 1 of the `Ready` ordering rule: installs `snapshot` (replacing the log), appends
   * `entries` (discarding a conflicting suffix), then sets `hardState`; atomically.
   * `mustSync` false lets the batch skip the fsync (commit-only changes).
   * Caller mistakes (a gap, an entry over `entryBytesMax`, a commit beyond the log, a term
   * going back, an older snapshot) throw RangeError before anything is changed.
   */
  persist(ready: PersistInput): Promise<void>;
  /** Index the state machine reported applied with `setAppliedIndex` (0 when never). */
  appliedIndex(): LogIndex;
  /** Records how far the state machine has applied; not fsynced on its own. */
  setAppliedIndex(index: LogIndex): Promise<void>;
  /** A whole snapshot at `index` (applied, so at most the commit index); does not compact. */
  createSnapshot(index: LogIndex, confState: ConfState, data: Uint8Array): Promise<SnapshotMeta>;
  /** Starts a snapshot at `index` written piece by piece; see `SnapshotWriter`. */
  beginSnapshot(index: LogIndex, confState: ConfState): SnapshotWriter;
  /** Discards entries up to and including `index` (at most the latest snapshot's index). */
  compact(index: LogIndex): Promise<void>;
  /** Entries [lo, hi) within `bytesMax` (at least one), read without blocking the event loop. */
  readEntries(lo: LogIndex, hi: LogIndex, bytesMax: number): Promise<readonly Entry[]>;
  /** The data of the latest snapshot, piece by piece (each verified). */
  readSnapshot(): AsyncIterable<Uint8Array>;
  /** The latest snapshot with all its data in one buffer (for tests and small groups). */
  snapshotData(): Promise<Snapshot>;
}

/** A group marked corrupt: it serves nothing until `wipeGroup`. */
export type CorruptGroup = CorruptionDetail & { readonly groupId: GroupId };

/**
 * The hard state an empty (wiped) replica starts with, so it never votes twice in a term:
 * pass the current leader's term and id as learned from a healthy replica. If the old
 * hard state is still readable and has a higher term, that one is kept.
 */
export interface WipeOptions {
  readonly term: Term;
  readonly vote: NodeId | null;
}

export interface NodeStorageStats {
  /** LevelDB batches written (one per group-commit flush). */
  readonly batches: number;
  /** Batches written with sync: true: the fsync count. */
  readonly syncedBatches: number;
  /** Staged writes (persist, snapshot, compaction, ... calls) that reached disk. */
  readonly writes: number;
  /** Put and delete operations written. */
  readonly ops: number;
  /** Bytes of keys and values written. */
  readonly bytes: number;
  /** Entry reads served from the in-memory cache / from LevelDB synchronously. */
  readonly cacheHits: number;
  readonly cacheMisses: number;
}

/**
 * One node's storage: many groups, one database, one group committer.
 * A group is created once (`createGroup`), then opened after each restart (`openGroup`).
 */
export interface NodeStorage {
  /** Groups with data on this node (including corrupt ones), ascending. */
  groupIds(): readonly GroupId[];
  /**
   * Creates an empty group; `bootstrap` set makes it an initial member (the bootstrap
   * entry at index 1, term 1 and hard state { term: 1, vote: null, commit: 1 }).
   * @throws RangeError when the group exists.
   */
  createGroup(groupId: GroupId, options: { readonly bootstrap: ConfState | null }): Promise<GroupStorage>;
  /**
   * Loads a group's records, verifying each. Returns the open instance if already open.
   * @throws StorageCorruptionError (and marks the group) when verification fails or it was marked.
   * @throws RangeError when the group does not exist.
   */
  openGroup(groupId: GroupId): Promise<GroupStorage>;
  /** Marks a group corrupt, durably: it serves nothing until `wipeGroup`. */
  markCorrupt(detail: CorruptGroup): Promise<void>;
  /** Groups marked corrupt, ascending by id. */
  corruptGroups(): readonly CorruptGroup[];
  /**
   * Deletes every record of the group and re-creates it empty (no log, no snapshot), with
   * the hard state of `options`, unmarked: ready to be re-seeded by a snapshot from the
   * leader. Open instances of the group stop working.
   */
  wipeGroup(groupId: GroupId, options: WipeOptions): Promise<GroupStorage>;
  /** Deletes every record of the group (the replica left the group). */
  dropGroup(groupId: GroupId): Promise<void>;
  stats(): NodeStorageStats;
  /** Writes what is staged, then releases the database. */
  close(): Promise<void>;
}
