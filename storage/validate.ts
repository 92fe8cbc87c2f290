/**
 * Checks of write inputs shared by both implementations, so a caller mistake raises the
 * same RangeError/TypeError from either, before anything is changed. Each check names the
 * group, the field and the value.
 */
import type { ConfState, Entry, HardState, LogIndex, RaftStorage, Snapshot, Term } from '../raft/index.js';
import { NODE_ID_LENGTH_MAX } from '../raft/index.js';
import type { GroupId } from './group-id.js';
import type { ResolvedStorageOptions } from './options.js';
import type { PersistInput } from './types.js';

const ENTRY_TYPES = new Set(['normal', 'confChange']);

function safeIndex(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(`${what} must be a non-negative safe integer (got ${String(v)})`);
  }
  return v;
}

export function checkConfState(what: string, conf: ConfState): void {
  if (typeof conf !== 'object' || conf === null || !Array.isArray(conf.voters) || !Array.isArray(conf.learners)) {
    throw new TypeError(`${what}: 'confState' must have 'voters' and 'learners' arrays (got ${JSON.stringify(conf)})`);
  }
  for (const id of [...conf.voters, ...conf.learners]) {
    if (typeof id !== 'string' || id.length === 0 || id.length > NODE_ID_LENGTH_MAX) {
      throw new TypeError(`${what}: 'confState' holds an invalid node id (got ${JSON.stringify(id)})`);
    }
  }
}

function checkHardStateShape(what: string, hs: HardState): void {
  safeIndex(`${what}: 'hardState.term'`, hs.term);
  safeIndex(`${what}: 'hardState.commit'`, hs.commit);
  if (hs.vote !== null && (typeof hs.vote !== 'string' || hs.vote.length === 0 || hs.vote.length > NODE_ID_LENGTH_MAX)) {
    throw new TypeError(`${what}: 'hardState.vote' must be null or a node id (got ${JSON.stringify(hs.vote)})`);
  }
}

function checkSnapshotShape(what: string, snapshot: Snapshot, opts: ResolvedStorageOptions): void {
  safeIndex(`${what}: 'snapshot.meta.index'`, snapshot.meta.index);
  safeIndex(`${what}: 'snapshot.meta.term'`, snapshot.meta.term);
  checkConfState(`${what}: 'snapshot.meta'`, snapshot.meta.confState);
  if (!(snapshot.data instanceof Uint8Array)) throw new TypeError(`${what}: 'snapshot.data' must be a Uint8Array`);
  if (snapshot.data.byteLength > opts.snapshotBytesMax) {
    throw new RangeError(`${what}: snapshot of ${snapshot.data.byteLength} bytes exceeds 'snapshotBytesMax' (${opts.snapshotBytesMax})`);
  }
}

/** What `persist` will do, computed by `checkPersist`: the entries to store (those after the compaction point). */
export interface PersistPlan {
  /** Entries after the compaction point (earlier ones are already covered). */
  readonly entries: readonly Entry[];
  /** Last index after the write. */
  readonly lastIndex: LogIndex;
}

/**
 * Validates `ready` against the group's current view.
 * @throws RangeError / TypeError naming the group, field and value.
 */
export function checkPersist(groupId: GroupId, view: RaftStorage, ready: PersistInput, opts: ResolvedStorageOptions): PersistPlan {
  const what = `Cannot persist to group ${groupId}`;
  if (typeof ready !== 'object' || ready === null || !Array.isArray(ready.entries) || typeof ready.mustSync !== 'boolean') {
    throw new TypeError(`${what}: expected a Ready with 'entries', 'hardState', 'snapshot' and 'mustSync'`);
  }
  let offset: number = view.firstIndex() - 1;
  let offsetTerm: number = view.term(offset as LogIndex);
  let last: number = view.lastIndex();
  const snap = ready.snapshot ?? null;
  if (snap !== null) {
    checkSnapshotShape(what, snap, opts);
    const current = view.snapshot().index;
    if (snap.meta.index < current) {
      throw new RangeError(`${what}: snapshot index ${snap.meta.index} is older than the stored ${current}`);
    }
    offset = snap.meta.index;
    offsetTerm = snap.meta.term;
    last = snap.meta.index;
  }
  const termBefore = (i: number): number => (i === offset ? offsetTerm : view.term(i as LogIndex));
  let k = 0;
  const ents = ready.entries;
  for (let j = 0; j < ents.length; j++) {
    const e = ents[j] as Entry;
    if (typeof e !== 'object' || e === null || !(e.data instanceof Uint8Array) || !ENTRY_TYPES.has(e.type)) {
      throw new TypeError(`${what}: entries[${j}] is not an Entry (type ${JSON.stringify((e as { type?: unknown } | null)?.type)})`);
    }
    safeIndex(`${what}: 'entries[${j}].index'`, e.index);
    safeIndex(`${what}: 'entries[${j}].term'`, e.term);
    if (j > 0 && e.index !== (ents[j - 1] as Entry).index + 1) {
      throw new RangeError(`${what}: entries are not consecutive (index ${e.index} after ${(ents[j - 1] as Entry).index})`);
    }
    if (e.data.byteLength > opts.entryBytesMax) {
      throw new RangeError(`${what}: entry ${e.index} holds ${e.data.byteLength} bytes, over 'entryBytesMax' (${opts.entryBytesMax})`);
    }
    if (e.index <= offset) k = j + 1;
  }
  const kept = ents.slice(k);
  let newLast = last;
  const first = kept[0];
  if (first !== undefined) {
    if (first.index > last + 1) throw new RangeError(`${what}: gap, entry ${first.index} after last index ${last}`);
    let prevTerm = termBefore(first.index - 1);
    for (const e of kept) {
      if (e.term < prevTerm) throw new RangeError(`${what}: entry ${e.index} has term ${e.term}, below the term ${prevTerm} before it`);
      prevTerm = e.term;
    }
    newLast = (kept[kept.length - 1] as Entry).index;
  }
  const hs = ready.hardState ?? null;
  const currentTerm = view.initialState().hardState.term;
  if (hs !== null) {
    checkHardStateShape(what, hs);
    if (hs.term < currentTerm) throw new RangeError(`${what}: 'hardState.term' ${hs.term} is below the stored term ${currentTerm}`);
    if (hs.commit > newLast) throw new RangeError(`${what}: 'hardState.commit' ${hs.commit} is beyond the last index ${newLast}`);
  }
  // Raft: a node adopts a term before storing anything of it, so no stored term passes its own.
  const termAfter = hs?.term ?? currentTerm;
  const lastTermAfter = first !== undefined ? (kept[kept.length - 1] as Entry).term : (snap?.meta.term ?? 0);
  if (lastTermAfter > termAfter) {
    throw new RangeError(`${what}: the log would end in term ${lastTermAfter}, above the current term ${termAfter} (persist the hard state with it)`);
  }
  return { entries: kept, lastIndex: newLast as LogIndex };
}

/** Checks `createSnapshot` / `beginSnapshot` arguments; returns the term at `index`. */
export function checkCreateSnapshot(groupId: GroupId, view: RaftStorage, index: LogIndex, confState: ConfState): Term {
  const what = `Cannot create a snapshot of group ${groupId}`;
  safeIndex(`${what}: 'index'`, index);
  checkConfState(what, confState);
  const snapIndex = view.snapshot().index;
  const commit = view.initialState().hardState.commit;
  const last = view.lastIndex();
  const offset = view.firstIndex() - 1;
  if (index <= snapIndex || index > commit || index > last || index < offset) {
    throw new RangeError(`${what}: 'index' must be in (${snapIndex}, min(commit ${commit}, last ${last})] (got ${index})`);
  }
  return view.term(index);
}

/** Checks `compact`; returns false when there is nothing to do. */
export function checkCompact(groupId: GroupId, view: RaftStorage, index: LogIndex): boolean {
  const what = `Cannot compact group ${groupId}`;
  safeIndex(`${what}: 'index'`, index);
  if (index <= view.firstIndex() - 1) return false;
  const snapIndex = view.snapshot().index;
  if (index > snapIndex) throw new RangeError(`${what}: 'index' must be at most the snapshot index ${snapIndex} (got ${index})`);
  return true;
}

export function checkApplied(groupId: GroupId, view: RaftStorage, index: LogIndex): void {
  const what = `Cannot set the applied index of group ${groupId}`;
  safeIndex(`${what}: 'index'`, index);
  const commit = view.initialState().hardState.commit;
  if (index > commit) throw new RangeError(`${what}: 'index' must be at most the commit index ${commit} (got ${index})`);
}

/** Checks an `entries`/`readEntries` range the way the RaftStorage contract states it. */
export function checkEntriesRange(groupId: GroupId, view: RaftStorage, lo: number, hi: number, bytesMax: number): void {
  if (!(lo >= view.firstIndex() && lo < hi && hi <= view.lastIndex() + 1) || !(bytesMax >= 0)) {
    throw new RangeError(
      `Cannot read entries of group ${groupId}: [${lo}, ${hi}) must lie in [${view.firstIndex()}, ${view.lastIndex() + 1}] (bytesMax ${bytesMax})`,
    );
  }
}
