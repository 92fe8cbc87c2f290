/**
 * Options of both node storages, validated and frozen: unknown options are rejected
 * (with a hint for near misses), and every number is range-checked with a RangeError
 * naming the option and its value. Defaults are in brackets with the reason for each.
 */
import type { FsyncMode } from './types.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Options both implementations take. */
export interface StorageOptions {
  /** See `FsyncMode`. ['batch'] */
  readonly fsync?: FsyncMode;
  /**
   * Largest entry payload `persist` accepts. An entry is one flush batch of mutations
   * (about 4 KiB for 100); 8 MiB leaves two orders of magnitude of room while keeping one
   * LevelDB value well below one memtable. Leaders must cap proposals at the same size. [8 MiB]
   */
  readonly entryBytesMax?: number;
  /**
   * Bytes of entry payloads each group keeps in memory (the newest entries; older ones are
   * read from LevelDB on demand). 2 MiB holds ~500 entries of 4 KiB: the tail that
   * followers and the apply loop read. Entries not yet on disk are kept beyond it. [2 MiB]
   */
  readonly groupEntryCacheBytesMax?: number;
  /** Size of the pieces snapshot data is stored in; a read of the core's 1 MiB chunk touches 4. [256 KiB] */
  readonly snapshotChunkBytes?: number;
  /** Largest snapshot accepted (the Raft core's own default bound). [1 GiB] */
  readonly snapshotBytesMax?: number;
  /**
   * Bytes of one LevelDB batch; a flush with more staged writes them in several batches
   * (a single write larger than this goes alone). 32 MiB is 64 groups × 0.5 MiB per turn,
   * far above a turn's worth at the benchmark's rates. Must be at least entryBytesMax + 1 MiB. [32 MiB]
   */
  readonly batchBytesMax?: number;
  /**
   * Bytes staged and not yet written beyond which writes are refused
   * (StorageUnavailableError 'overloaded'). A healthy node stages a few MiB per turn; this
   * much means the disk has stalled, and refusing beats exhausting the heap. [1 GiB]
   */
  readonly pendingBytesMax?: number;
  /**
   * Mode `batch`: how long a write that needs no fsync (applied index, commit-only hard
   * state) may wait to go out with the next synced one, instead of taking a LevelDB round
   * trip of its own that the next batch of checks would queue behind (group-committer.ts).
   * Raft treats both as volatile; a process crash may lose this much of them, as an OS
   * crash may lose any unsynced write. 0 turns it off. [10]
   */
  readonly unsyncedDelayMs?: number;
}

export interface LevelNodeStorageOptions extends StorageOptions {
  /** Directory of the LevelDB database (created if missing). */
  readonly location: string;
  /** LevelDB block cache. Entries are mostly read from our own cache, so it stays small. [8 MiB] */
  readonly levelCacheBytes?: number;
  /**
   * LevelDB memtable (and write-ahead log) size. LevelDB's default is 4 MiB; with 4 KiB
   * entries at tens of MB/s that flushes to level 0 several times a second. 64 MiB (RocksDB's
   * default) measured ~1.3-1.7× the entries/s of 16 MiB; the cost is up to two memtables
   * in memory (128 MiB) and replaying at most 64 MiB of log on open (about 0.5 s). [64 MiB]
   */
  readonly levelWriteBufferBytes?: number;
}

export type MemoryNodeStorageOptions = StorageOptions;

export interface ResolvedStorageOptions {
  readonly fsync: FsyncMode;
  readonly entryBytesMax: number;
  readonly groupEntryCacheBytesMax: number;
  readonly snapshotChunkBytes: number;
  readonly snapshotBytesMax: number;
  readonly batchBytesMax: number;
  readonly pendingBytesMax: number;
  readonly unsyncedDelayMs: number;
}

export interface ResolvedLevelOptions extends ResolvedStorageOptions {
  readonly location: string;
  readonly levelCacheBytes: number;
  readonly levelWriteBufferBytes: number;
}

export const STORAGE_OPTION_DEFAULTS: ResolvedStorageOptions = Object.freeze({
  fsync: 'batch',
  entryBytesMax: 8 * MiB,
  groupEntryCacheBytesMax: 2 * MiB,
  snapshotChunkBytes: 256 * KiB,
  snapshotBytesMax: 1 * GiB,
  batchBytesMax: 32 * MiB,
  pendingBytesMax: 1 * GiB,
  unsyncedDelayMs: 10,
});

const COMMON_KEYS = Object.keys(STORAGE_OPTION_DEFAULTS);
const LEVEL_KEYS = [...COMMON_KEYS, 'location', 'levelCacheBytes', 'levelWriteBufferBytes'];
const FSYNC_MODES: readonly FsyncMode[] = ['always', 'batch', 'off'];

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] as number;
      row[j] = Math.min(cur + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] as number;
}

function checkKeys(what: string, input: object, known: readonly string[]): void {
  for (const key of Object.keys(input)) {
    if (known.includes(key)) continue;
    const near = known.find((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= 3);
    throw new TypeError(`Cannot open ${what}: unknown option '${key}'${near === undefined ? '' : ` (did you mean '${near}'?)`}`);
  }
}

function intOption(what: string, input: Record<string, unknown>, name: string, min: number, max: number, fallback: number): number {
  const v = input[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new RangeError(`Cannot open ${what}: '${name}' must be an integer from ${min} to ${max} (got ${String(v)})`);
  }
  return v;
}

function resolveCommon(what: string, input: Record<string, unknown>): ResolvedStorageOptions {
  const d = STORAGE_OPTION_DEFAULTS;
  const fsync = input['fsync'] ?? d.fsync;
  if (!FSYNC_MODES.includes(fsync as FsyncMode)) {
    throw new RangeError(`Cannot open ${what}: 'fsync' must be one of ${FSYNC_MODES.join(', ')} (got ${JSON.stringify(fsync)})`);
  }
  const entryBytesMax = intOption(what, input, 'entryBytesMax', 1, 64 * MiB, d.entryBytesMax);
  const resolved: ResolvedStorageOptions = {
    fsync: fsync as FsyncMode,
    entryBytesMax,
    groupEntryCacheBytesMax: intOption(what, input, 'groupEntryCacheBytesMax', 0, 4 * GiB, d.groupEntryCacheBytesMax),
    snapshotChunkBytes: intOption(what, input, 'snapshotChunkBytes', 1, 16 * MiB, d.snapshotChunkBytes),
    snapshotBytesMax: intOption(what, input, 'snapshotBytesMax', 0, 16 * GiB, d.snapshotBytesMax),
    batchBytesMax: intOption(what, input, 'batchBytesMax', 1 * MiB, 1 * GiB, d.batchBytesMax),
    pendingBytesMax: intOption(what, input, 'pendingBytesMax', 1 * MiB, 64 * GiB, d.pendingBytesMax),
    unsyncedDelayMs: intOption(what, input, 'unsyncedDelayMs', 0, 1000, d.unsyncedDelayMs),
  };
  if (resolved.batchBytesMax < resolved.entryBytesMax + MiB) {
    throw new RangeError(
      `Cannot open ${what}: 'batchBytesMax' must be at least 'entryBytesMax' + 1 MiB (got ${resolved.batchBytesMax} and ${resolved.entryBytesMax})`,
    );
  }
  if (resolved.pendingBytesMax < resolved.batchBytesMax) {
    throw new RangeError(
      `Cannot open ${what}: 'pendingBytesMax' must be at least 'batchBytesMax' (got ${resolved.pendingBytesMax} and ${resolved.batchBytesMax})`,
    );
  }
  return resolved;
}

function asRecord(what: string, input: unknown): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TypeError(`Cannot open ${what}: options must be an object (got ${input === null ? 'null' : typeof input})`);
  }
  return input as Record<string, unknown>;
}

/** Validates and freezes the options of `MemoryNodeStorage`. */
export function resolveMemoryOptions(input: unknown): ResolvedStorageOptions {
  const what = 'memory node storage';
  const rec = asRecord(what, input);
  checkKeys(what, rec, COMMON_KEYS);
  return Object.freeze(resolveCommon(what, rec));
}

/** Validates and freezes the options of `LevelNodeStorage`. */
export function resolveLevelOptions(input: unknown): ResolvedLevelOptions {
  const what = 'LevelDB node storage';
  const rec = asRecord(what, input);
  checkKeys(what, rec, LEVEL_KEYS);
  const location = rec['location'];
  if (typeof location !== 'string' || location.length === 0) {
    throw new TypeError(`Cannot open ${what}: 'location' must be a non-empty directory path (got ${JSON.stringify(location)})`);
  }
  return Object.freeze({
    ...resolveCommon(what, rec),
    location,
    levelCacheBytes: intOption(what, rec, 'levelCacheBytes', 0, 4 * GiB, 8 * MiB),
    levelWriteBufferBytes: intOption(what, rec, 'levelWriteBufferBytes', 1 * MiB, 1 * GiB, 64 * MiB),
  });
}
