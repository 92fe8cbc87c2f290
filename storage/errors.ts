/**
 * Typed errors of the storage layer. storage/ may not import src/, so these mirror
 * `RateLimiterError`'s shape (a stable `code`, typed fields, `cause`) with the same code
 * strings as src/protocol/errors.ts, which the node runtime passes on unchanged.
 */
import type { GroupId } from './group-id.js';

/**
 * Why a record, or a group as a whole, cannot be trusted:
 * - `checksum`: a record's CRC32C does not match its bytes.
 * - `formatVersion`: a record (or the database) carries a format version this build does not read.
 * - `malformed`: a record's header or payload does not parse (length, type, field ranges).
 * - `groupMismatch` / `keyMismatch`: a well-formed record stored under another group's or
 *   another position's key (a misdirected or renamed write).
 * - `gap`: the log misses an entry between its first and last index (or at its ends).
 * - `invariant`: records that are each valid but contradict each other (commit beyond the
 *   log, terms going backwards, a snapshot with missing chunks).
 * - `level`: LevelDB itself reported corruption (`LEVEL_CORRUPTION`) reading the group.
 * - `levelLogDropped`: LevelDB dropped damaged bytes of its write-ahead log on open; which
 *   groups lost writes is unknown, so every group of the node is suspect.
 * - `marked`: the group was marked corrupt earlier (by this layer or the runtime).
 */
export type CorruptionReason =
  | 'checksum'
  | 'formatVersion'
  | 'malformed'
  | 'groupMismatch'
  | 'keyMismatch'
  | 'gap'
  | 'invariant'
  | 'level'
  | 'levelLogDropped'
  | 'marked';

/** What is known about a corruption: the group (null for node-wide records) and log index (null when not a log position). */
export interface CorruptionDetail {
  readonly groupId: GroupId | null;
  readonly index: number | null;
  readonly reason: CorruptionReason;
  readonly message: string;
}

/**
 * A persisted record failed verification; the group replica stops serving until it is
 * wiped and re-seeded from a healthy replica (see docs/storage.md, "Recovery").
 * @example
 * ```ts
 * try { storage.entries(lo, hi, max) } catch (e) {
 *   if (e instanceof StorageCorruptionError) stopGroup(e.groupId);
 * }
 * ```
 */
export class StorageCorruptionError extends Error {
  readonly code = 'RL_ERR_STORAGE_CORRUPT' as const;
  readonly retryable = true;
  readonly groupId: GroupId | null;
  /** The log index (or snapshot index for snapshot records) involved, when there is one. */
  readonly index: number | null;
  readonly reason: CorruptionReason;
  private readonly what: string;

  constructor(detail: CorruptionDetail, options: { cause?: unknown } = {}) {
    super(
      `${detail.groupId === null ? 'node storage' : `group ${detail.groupId}`}: ${detail.message}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'StorageCorruptionError';
    this.groupId = detail.groupId;
    this.index = detail.index;
    this.reason = detail.reason;
    this.what = detail.message;
  }

  /** The detail it was made from (what a corrupt marker stores). */
  detail(): CorruptionDetail {
    return { groupId: this.groupId, index: this.index, reason: this.reason, message: this.what };
  }
}

/**
 * Why storage refuses work:
 * - `closed`: `close()` was called (or the group was wiped or dropped; open it again).
 * - `writeFailed`: a LevelDB write failed; in-memory views may be ahead of the disk, so the
 *   whole node storage stops and the process must restart and recover from disk.
 * - `overloaded`: more than `pendingBytesMax` bytes are staged and not yet written.
 */
export type UnavailableReason = 'closed' | 'writeFailed' | 'overloaded';

/** Storage cannot take the request now (code `RL_ERR_UNAVAILABLE`); see `UnavailableReason`. */
export class StorageUnavailableError extends Error {
  readonly code = 'RL_ERR_UNAVAILABLE' as const;
  readonly retryable = true;
  readonly reason: UnavailableReason;
  readonly groupId: GroupId | null;

  constructor(reason: UnavailableReason, groupId: GroupId | null, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StorageUnavailableError';
    this.reason = reason;
    this.groupId = groupId;
  }
}
