/**
 * Loads one group from LevelDB at open and verifies it: every record's checksum and
 * identity (records.ts), then that the records agree with each other. The log must hold
 * exactly the entries (offset, last] its group state record names, with non-decreasing
 * terms ending at the recorded last term; so a missing entry anywhere (a gap, a lost
 * tail, a lost head) is found, and nothing after a gap is ever accepted.
 */
import type { LogIndex, Term } from '../raft/index.js';
import { EntryCache } from './entry-cache.js';
import { StorageCorruptionError } from './errors.js';
import type { GroupId } from './group-id.js';
import { appliedKey, indexOfEntryKey, parseChunkKey, RecordType, snapshotMetaKey, stateKey, typeRange } from './keys.js';
import { isLevelCorruption, scanRange, VIEW, type LevelDb } from './level-db.js';
import type { LoadedGroup } from './level-group-storage.js';
import { decodeApplied, decodeEntry, decodeGroupState, decodeSnapshotMeta } from './records.js';
import { TermRuns } from './term-runs.js';

export interface LoadResult {
  readonly group: LoadedGroup;
  /** Snapshot chunk generations left by writers that never committed (a crash): delete them. */
  readonly garbageGenerations: readonly number[];
}

function invariant(groupId: GroupId, index: number | null, message: string, reason: 'invariant' | 'gap' = 'invariant'): StorageCorruptionError {
  return new StorageCorruptionError({ groupId, index, reason, message });
}

/**
 * Reads and verifies group `groupId`.
 * @throws StorageCorruptionError naming the group (and index) on any failed check, or
 *   wrapping LevelDB's own corruption error (reason `level`).
 */
export async function loadGroup(db: LevelDb, groupId: GroupId, cacheBytesMax: number): Promise<LoadResult> {
  try {
    return await load(db, groupId, cacheBytesMax);
  } catch (err) {
    if (err instanceof StorageCorruptionError) throw err;
    if (isLevelCorruption(err)) {
      throw new StorageCorruptionError({ groupId, index: null, reason: 'level', message: 'LevelDB reports corruption reading the group' }, { cause: err });
    }
    throw err;
  }
}

async function load(db: LevelDb, groupId: GroupId, cacheBytesMax: number): Promise<LoadResult> {
  const [stateValue, snapValue, appliedValue] = await db.getMany([stateKey(groupId), snapshotMetaKey(groupId), appliedKey(groupId)], VIEW);
  const missing = [stateValue === undefined ? 'group state' : '', snapValue === undefined ? 'snapshot meta' : '', appliedValue === undefined ? 'applied index' : ''].filter(
    (s) => s !== '',
  );
  if (stateValue === undefined || snapValue === undefined || appliedValue === undefined) {
    throw invariant(groupId, null, `records missing: ${missing.join(', ')}`, 'gap');
  }
  const { hardState, log } = decodeGroupState(groupId, stateValue);
  const snapshot = decodeSnapshotMeta(groupId, snapValue);
  const applied = decodeApplied(groupId, appliedValue);
  const { offsetIndex, offsetTerm, lastIndex, lastTerm } = log;

  // The log: exactly (offsetIndex, lastIndex], consecutive, terms non-decreasing.
  const runs = new TermRuns();
  const cache = new EntryCache(cacheBytesMax);
  cache.reset(offsetIndex + 1);
  let expected = offsetIndex + 1;
  let prevTerm: number = offsetTerm;
  await scanRange(db, typeRange(groupId, RecordType.entry), true, (key, value) => {
    const index = indexOfEntryKey(key);
    if (index < 0) throw invariant(groupId, null, 'a log entry key does not parse');
    if (index <= offsetIndex || index > lastIndex) {
      throw invariant(groupId, index, `log entry ${index} lies outside the log (${offsetIndex}, ${lastIndex}]`);
    }
    if (index !== expected) throw invariant(groupId, expected, `log entry ${expected} is missing (next stored is ${index})`, 'gap');
    const entry = decodeEntry(groupId, index, value);
    if (entry.term < prevTerm) throw invariant(groupId, index, `log entry ${index} has term ${entry.term}, below ${prevTerm} before it`);
    prevTerm = entry.term;
    runs.push(index, entry.term);
    cache.append([entry], 0);
    expected++;
  });
  if (expected !== lastIndex + 1) {
    throw invariant(groupId, expected, `log entry ${expected} is missing (the log should end at ${lastIndex})`, 'gap');
  }
  if (prevTerm !== lastTerm) throw invariant(groupId, lastIndex, `last entry has term ${prevTerm}, the group state says ${lastTerm}`);

  // Cross-record checks (the RaftStorage contract and Raft's own invariants).
  if (hardState.commit > lastIndex) throw invariant(groupId, hardState.commit, `commit ${hardState.commit} is beyond the last index ${lastIndex}`);
  if (lastTerm > hardState.term) throw invariant(groupId, lastIndex, `last entry term ${lastTerm} is above the current term ${hardState.term}`);
  if (snapshot.index < offsetIndex || snapshot.index > lastIndex) {
    throw invariant(groupId, snapshot.index, `snapshot index ${snapshot.index} outside [${offsetIndex}, ${lastIndex}]`);
  }
  const snapTerm = snapshot.index === offsetIndex ? offsetTerm : runs.termAt(snapshot.index);
  if (snapshot.index > 0 && snapTerm !== snapshot.term) {
    throw invariant(groupId, snapshot.index, `snapshot term ${snapshot.term} differs from the log's term ${snapTerm} at its index`);
  }

  // Snapshot chunks: the current generation complete; others are garbage from crashed writers.
  let chunksSeen = 0;
  let maxGeneration = snapshot.generation;
  const garbage = new Set<number>();
  await scanRange(db, typeRange(groupId, RecordType.snapshotChunk), false, (key) => {
    const parsed = parseChunkKey(key);
    if (parsed === null) throw invariant(groupId, null, 'a snapshot chunk key does not parse');
    if (parsed.generation > maxGeneration) maxGeneration = parsed.generation;
    if (parsed.generation !== snapshot.generation) {
      garbage.add(parsed.generation);
      return;
    }
    if (parsed.chunk !== chunksSeen) {
      throw invariant(groupId, snapshot.index, `snapshot chunk ${chunksSeen} of ${snapshot.chunkCount} is missing`, 'gap');
    }
    chunksSeen++;
  });
  if (chunksSeen !== snapshot.chunkCount) {
    throw invariant(groupId, snapshot.index, `snapshot has ${chunksSeen} of its ${snapshot.chunkCount} chunks`, 'gap');
  }

  return {
    group: {
      hardState,
      offsetIndex: offsetIndex as LogIndex,
      offsetTerm: offsetTerm as Term,
      lastIndex: lastIndex as LogIndex,
      snapshot,
      applied,
      runs,
      cache,
      nextGeneration: maxGeneration + 1,
    },
    garbageGenerations: [...garbage],
  };
}
