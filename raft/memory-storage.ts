/**
 * An in-memory `RaftStorage` with the write side a shell needs (append, hard state,
 * snapshots, compaction). Pure and synchronous: the storage of unit tests, the
 * simulator and the benchmark; also the reference the LevelDB store must match.
 */
import { fail } from './assert.js';
import { bootstrapEntry, emptyConfState } from './conf.js';
import type {
  ConfState,
  Entry,
  HardState,
  LogIndex,
  Ready,
  RaftStorage,
  Snapshot,
  SnapshotChunkResult,
  SnapshotMeta,
  Term,
} from './types.js';
import { entrySizeBytes } from './types.js';

const EMPTY_DATA = new Uint8Array(0);

/**
 * A log, hard state and latest snapshot held in memory.
 * @example
 * ```ts
 * const storage = MemoryStorage.bootstrap({ voters: [toNodeId('a'), toNodeId('b'), toNodeId('c')], learners: [] });
 * const node = createRaftNode({ id: toNodeId('a') }, { storage, prng: createSeededPrng(1) });
 * // ... for each Ready: storage.persist(rd); send; apply; node.advance(rd)
 * ```
 */
export class MemoryStorage implements RaftStorage {
  private hard: HardState = { term: 0 as Term, vote: null, commit: 0 as LogIndex };
  private snap: Snapshot = { meta: { index: 0 as LogIndex, term: 0 as Term, confState: emptyConfState() }, data: EMPTY_DATA };
  /** Index and term of the compaction point (the entry just before `ents[0]`). */
  private offsetIndex = 0;
  private offsetTerm = 0 as Term;
  /** Invariant: ents[k].index === offsetIndex + 1 + k. */
  private ents: Entry[] = [];

  /**
   * Storage of an initial member of a new group: the bootstrap entry (index 1, term 1)
   * carrying `confState`, and hard state `{ term: 1, vote: null, commit: 1 }`.
   * Nodes that join later start from `new MemoryStorage()` (empty).
   */
  static bootstrap(confState: ConfState): MemoryStorage {
    const s = new MemoryStorage();
    s.append([bootstrapEntry(confState)]);
    s.setHardState({ term: 1 as Term, vote: null, commit: 1 as LogIndex });
    return s;
  }

  initialState(): { readonly hardState: HardState } {
    return { hardState: this.hard };
  }

  firstIndex(): LogIndex {
    return (this.offsetIndex + 1) as LogIndex;
  }

  lastIndex(): LogIndex {
    return (this.offsetIndex + this.ents.length) as LogIndex;
  }

  term(index: LogIndex): Term {
    if (index === this.offsetIndex) return this.offsetTerm;
    const e = this.ents[index - this.offsetIndex - 1];
    if (e === undefined) fail(`MemoryStorage.term(${index}) outside [${this.offsetIndex}, ${this.lastIndex()}]`);
    return e.term;
  }

  entries(lo: LogIndex, hi: LogIndex, bytesMax: number): readonly Entry[] {
    if (!(lo > this.offsetIndex && lo < hi && hi <= this.lastIndex() + 1)) fail(`MemoryStorage.entries(${lo}, ${hi}) outside [${this.firstIndex()}, ${this.lastIndex() + 1}]`);
    const start = lo - this.offsetIndex - 1;
    let end = hi - this.offsetIndex - 1;
    let bytes = 0;
    for (let k = start; k < end; k++) {
      bytes += entrySizeBytes(this.ents[k] as Entry);
      if (bytes > bytesMax && k > start) {
        end = k;
        break;
      }
    }
    return this.ents.slice(start, end);
  }

  snapshot(): SnapshotMeta {
    return this.snap.meta;
  }

  snapshotChunk(index: LogIndex, offsetBytes: number, bytesMax: number): SnapshotChunkResult {
    if (index !== this.snap.meta.index) return { type: 'unavailable' };
    const data = this.snap.data;
    if (!(offsetBytes >= 0 && offsetBytes <= data.byteLength && bytesMax > 0)) fail(`MemoryStorage.snapshotChunk: bad offset ${offsetBytes} / ${bytesMax}`);
    const end = Math.min(data.byteLength, offsetBytes + bytesMax);
    return { type: 'chunk', data: data.subarray(offsetBytes, end), last: end === data.byteLength };
  }

  /** The latest snapshot with its data. */
  snapshotData(): Snapshot {
    return this.snap;
  }

  setHardState(hardState: HardState): void {
    this.hard = hardState;
  }

  /**
   * Appends `entries` (consecutive), first discarding every stored entry at or after
   * `entries[0].index`. Entries at or below the compaction point are skipped: they are
   * committed and already covered.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = (entries[0] as Entry).index;
    if (!(first <= this.lastIndex() + 1)) fail(`MemoryStorage.append: gap, first ${first} after last ${this.lastIndex()}`);
    let k = 0;
    while (k < entries.length && (entries[k] as Entry).index <= this.offsetIndex) k++;
    if (k === entries.length) return;
    const from = (entries[k] as Entry).index;
    const keep = from - this.offsetIndex - 1;
    if (this.ents.length !== keep) this.ents.length = keep;
    for (; k < entries.length; k++) {
      const e = entries[k] as Entry;
      // Invariant: stored entries stay consecutive.
      if (!(e.index === this.offsetIndex + this.ents.length + 1)) fail(`MemoryStorage.append: entry ${e.index} not consecutive`);
      this.ents.push(e);
    }
  }

  /**
   * Installs a snapshot received from a leader (`Ready.snapshot`): it replaces the whole
   * log. Refuses (RangeError) a snapshot older than the current one.
   */
  applySnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshot.meta;
    if (index < this.snap.meta.index) {
      throw new RangeError(`MemoryStorage.applySnapshot: snapshot index ${index} is older than the stored ${this.snap.meta.index}`);
    }
    this.snap = snapshot;
    this.offsetIndex = index;
    this.offsetTerm = term;
    this.ents = [];
  }

  /**
   * Records a snapshot of the state machine at `index` (applied, hence committed), with
   * the configuration in effect there. Does not compact; call `compact` for that.
   */
  createSnapshot(index: LogIndex, confState: ConfState, data: Uint8Array): SnapshotMeta {
    if (index <= this.snap.meta.index || index > this.hard.commit || index > this.lastIndex() || index < this.offsetIndex) {
      throw new RangeError(
        `MemoryStorage.createSnapshot: 'index' must be in (${this.snap.meta.index}, min(commit ${this.hard.commit}, last ${this.lastIndex()})] (got ${index})`,
      );
    }
    const meta: SnapshotMeta = { index, term: this.term(index), confState };
    this.snap = { meta, data };
    return meta;
  }

  /** Discards entries up to and including `index`, which must not pass the latest snapshot. */
  compact(index: LogIndex): void {
    if (index <= this.offsetIndex) return;
    if (index > this.snap.meta.index) {
      throw new RangeError(`MemoryStorage.compact: 'index' must be at most the snapshot index ${this.snap.meta.index} (got ${index})`);
    }
    const term = this.term(index);
    this.ents = this.ents.slice(index - this.offsetIndex);
    this.offsetIndex = index;
    this.offsetTerm = term;
  }

  /** Step 1 of the `Ready` ordering rule: snapshot, then entries, then hard state. */
  persist(ready: Ready): void {
    if (ready.snapshot !== null) this.applySnapshot(ready.snapshot);
    this.append(ready.entries);
    if (ready.hardState !== null) this.setHardState(ready.hardState);
  }
}
