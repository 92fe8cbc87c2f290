/**
 * The node's view of the Raft log: the durable part in `RaftStorage` plus an in-memory
 * unstable tail (entries, or a snapshot, handed to the shell in a Ready and not yet
 * acknowledged as durable), with the commit and apply positions.
 */
import { fail } from './assert.js';
import type { Entry, LogIndex, RaftStorage, Snapshot, Term } from './types.js';
import { entrySizeBytes } from './types.js';

export class RaftLog {
  /** A snapshot received from the leader and not yet durable. */
  unstableSnapshot: Snapshot | null = null;
  /**
   * Index of `unstable[0]`.
   * Invariant: every index below `unstableOffset` (and above the compaction point) is in
   * storage and durable; every entry in `unstable` is not known durable.
   */
  unstableOffset: LogIndex;
  unstable: Entry[] = [];
  /** Invariant: applied <= applying <= committed <= lastIndex(). */
  committed: LogIndex;
  /** Highest index handed out in a Ready's committedEntries (or covered by a snapshot). */
  applying: LogIndex;
  /** Highest index the shell acknowledged as applied. */
  applied: LogIndex;

  constructor(
    private readonly storage: RaftStorage,
    committed: LogIndex,
    applied: LogIndex,
  ) {
    this.unstableOffset = (storage.lastIndex() + 1) as LogIndex;
    this.committed = committed;
    this.applied = applied;
    this.applying = applied;
    if (!(applied <= committed)) fail(`RaftLog: applied ${applied} beyond commit ${committed}`);
    if (!(committed <= this.lastIndex())) fail(`RaftLog: commit ${committed} beyond last index ${this.lastIndex()}`);
  }

  firstIndex(): LogIndex {
    if (this.unstableSnapshot !== null) return (this.unstableSnapshot.meta.index + 1) as LogIndex;
    return this.storage.firstIndex();
  }

  lastIndex(): LogIndex {
    if (this.unstable.length > 0) return (this.unstableOffset + this.unstable.length - 1) as LogIndex;
    if (this.unstableSnapshot !== null) return this.unstableSnapshot.meta.index;
    return (this.unstableOffset - 1) as LogIndex;
  }

  lastTerm(): Term {
    const t = this.term(this.lastIndex());
    if (t === undefined) fail(`RaftLog: no term for the last index ${this.lastIndex()}`);
    return t;
  }

  /** The term of entry `index`, or undefined when it is compacted or beyond the log. */
  term(index: number): Term | undefined {
    const snap = this.unstableSnapshot;
    if (snap !== null && index === snap.meta.index) return snap.meta.term;
    if (index >= this.unstableOffset) return this.unstable[index - this.unstableOffset]?.term;
    if (snap !== null) return undefined;
    if (index < this.storage.firstIndex() - 1 || index < 0) return undefined;
    return this.storage.term(index as LogIndex);
  }

  matchTerm(index: number, term: Term): boolean {
    return this.term(index) === term;
  }

  /** Highest index known durable here (the leader's own acknowledgement). */
  persistedIndex(): LogIndex {
    return this.unstableSnapshot !== null ? (0 as LogIndex) : ((this.unstableOffset - 1) as LogIndex);
  }

  /** Election restriction (Raft 5.4.1): compare last log term, then last log index. */
  isUpToDate(lastIndex: LogIndex, lastTerm: Term): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Entries `[lo, hi)` within `bytesMax` (at least one), or null when `lo` is compacted.
   * Invariant on input: lo >= 1 and hi <= lastIndex() + 1.
   */
  entries(lo: number, hi: number, bytesMax: number): readonly Entry[] | null {
    if (lo >= hi) return [];
    if (lo < this.firstIndex()) return null;
    if (!(hi <= this.lastIndex() + 1)) fail(`RaftLog.entries: hi ${hi} beyond last index ${this.lastIndex()}`);
    let out: Entry[] = [];
    let bytes = 0;
    if (lo < this.unstableOffset) {
      const storedHi = Math.min(hi, this.unstableOffset);
      const stored = this.storage.entries(lo as LogIndex, storedHi as LogIndex, bytesMax);
      if (!(stored.length > 0 && (stored[0] as Entry).index === lo)) fail(`RaftLog.entries: storage returned a bad range for ${lo}`);
      // Cut short by the byte budget, or nothing unstable wanted: done.
      if (stored.length < storedHi - lo || hi <= this.unstableOffset) return stored;
      for (const e of stored) bytes += entrySizeBytes(e);
      if (bytes >= bytesMax) return stored;
      out = stored.slice();
    }
    const start = Math.max(lo, this.unstableOffset) - this.unstableOffset;
    const end = hi - this.unstableOffset;
    for (let k = start; k < end; k++) {
      const e = this.unstable[k] as Entry;
      bytes += entrySizeBytes(e);
      if (bytes > bytesMax && out.length > 0) break;
      out.push(e);
    }
    return out;
  }

  /**
   * The first index among `entries` whose term differs from ours (a conflict, or the
   * first new entry), or 0 when every entry is already present.
   */
  findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The last (index, term) at or below `index` whose term is at most `term`: where our log
   * may agree with a log whose entry at `index` has `term`. Term 0 when unknown (compacted).
   */
  findConflictByTerm(index: number, term: Term): { index: LogIndex; term: Term } {
    let i = Math.min(index, this.lastIndex());
    // Bounded by the log length: each step moves one entry back.
    for (;;) {
      const t = this.term(i);
      if (t === undefined) return { index: i as LogIndex, term: 0 as Term };
      if (t <= term) return { index: i as LogIndex, term: t };
      i--;
    }
  }

  /** Appends one entry at lastIndex() + 1 (the leader's path; no allocation besides the entry). */
  appendOne(entry: Entry): void {
    if (!(entry.index === this.lastIndex() + 1)) fail(`RaftLog.appendOne: index ${entry.index} after last ${this.lastIndex()}`);
    this.unstable.push(entry);
  }

  /**
   * Appends consecutive `entries`, first discarding our entries from `entries[0].index`
   * on. Invariant: nothing committed is discarded.
   */
  truncateAndAppend(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const after = (entries[0] as Entry).index;
    if (!(after > this.committed)) fail(`RaftLog: truncating at ${after}, at or below commit ${this.committed}`);
    if (!(after <= this.lastIndex() + 1)) fail(`RaftLog: gap appending ${after} after ${this.lastIndex()}`);
    const end = this.unstableOffset + this.unstable.length;
    if (after === end) {
      for (const e of entries) this.unstable.push(e);
    } else if (after <= this.unstableOffset) {
      // Replaces durable entries too: the shell overwrites them when it persists these.
      this.unstableOffset = after;
      this.unstable = entries.slice();
    } else {
      this.unstable.length = after - this.unstableOffset;
      for (const e of entries) this.unstable.push(e);
    }
  }

  commitTo(index: LogIndex): boolean {
    if (index <= this.committed) return false;
    if (!(index <= this.lastIndex())) fail(`RaftLog.commitTo(${index}) beyond last index ${this.lastIndex()}: was the log lost?`);
    this.committed = index;
    return true;
  }

  /** True when committed entries wait to be handed out. */
  hasNextCommitted(): boolean {
    return this.committed > this.applying;
  }

  /** The next committed entries to apply, within `bytesMax` (at least one). */
  nextCommitted(bytesMax: number): readonly Entry[] {
    if (this.committed <= this.applying) return [];
    const out = this.entries(this.applying + 1, this.committed + 1, bytesMax);
    if (out === null) fail(`RaftLog: committed entries after ${this.applying} are compacted`);
    return out;
  }

  /** The shell made entries up to (index, term) durable; drop them from the unstable tail. */
  stableTo(index: LogIndex, term: Term): void {
    if (index < this.unstableOffset) return;
    const k = index - this.unstableOffset;
    const e = this.unstable[k];
    // A different term means the entry was overwritten after the Ready: it stays unstable.
    if (e === undefined || e.term !== term) return;
    this.unstable = k + 1 === this.unstable.length ? [] : this.unstable.slice(k + 1);
    this.unstableOffset = (index + 1) as LogIndex;
  }

  stableSnapTo(index: LogIndex): void {
    if (this.unstableSnapshot !== null && this.unstableSnapshot.meta.index === index) this.unstableSnapshot = null;
  }

  appliedTo(index: LogIndex): void {
    if (!(index <= this.committed)) fail(`RaftLog.appliedTo(${index}) beyond commit ${this.committed}`);
    if (index > this.applied) this.applied = index;
    if (index > this.applying) this.applying = index;
  }

  /** Replaces the whole log with `snapshot` (a follower catching up). */
  restore(snapshot: Snapshot): void {
    const index = snapshot.meta.index;
    if (!(index > this.committed)) fail(`RaftLog.restore: snapshot ${index} not after commit ${this.committed}`);
    this.unstableSnapshot = snapshot;
    this.unstable = [];
    this.unstableOffset = (index + 1) as LogIndex;
    this.committed = index;
    this.applying = index;
  }
}
