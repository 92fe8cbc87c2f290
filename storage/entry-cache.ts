/**
 * The newest entries of one group, held in memory within a byte budget: a contiguous run
 * of the log ending at its last index. Entries not yet durable (their write's sequence
 * number is above `durableSeq`) are pinned, because LevelDB cannot serve them yet; they
 * may push the cache over its budget until their batch lands. Eviction drops the oldest.
 */
import type { Entry } from '../raft/index.js';
import { entrySizeBytes, fail } from '../raft/index.js';

export class EntryCache {
  /** entries[head + k] has index `firstIndex + k`. Slots before head are dead and compacted away in bulk. */
  private entries: Entry[] = [];
  private seqs: number[] = [];
  private head = 0;
  /** Index of the first cached entry; the cache holds [firstIndex, firstIndex + length). */
  private first = 1;
  private bytesHeld = 0;
  private durableSeq = 0;

  constructor(private readonly bytesMax: number) {}

  get length(): number {
    return this.entries.length - this.head;
  }

  get bytes(): number {
    return this.bytesHeld;
  }

  /** First cached index; when empty, the index the next appended entry must have. */
  get firstIndex(): number {
    return this.first;
  }

  /** Empties the cache; the next entry appended will have index `nextIndex`. */
  reset(nextIndex: number): void {
    this.entries = [];
    this.seqs = [];
    this.head = 0;
    this.first = nextIndex;
    this.bytesHeld = 0;
  }

  get(index: number): Entry | undefined {
    if (index < this.first) return undefined;
    return this.entries[this.head + index - this.first];
  }

  /**
   * Adds `entries` (consecutive) written by the write numbered `seq`, first dropping
   * cached entries at or after the first one's index. If that index is before the cache,
   * the cache restarts there.
   */
  append(entries: readonly Entry[], seq: number): void {
    const e0 = entries[0];
    if (e0 === undefined) return;
    const end = this.first + this.length;
    if (e0.index > end) fail(`EntryCache.append: entry ${e0.index} after cached end ${end}`);
    if (e0.index < this.first) {
      this.reset(e0.index);
    } else if (e0.index < end) {
      const keep = this.head + (e0.index - this.first);
      for (let k = keep; k < this.entries.length; k++) this.bytesHeld -= entrySizeBytes(this.entries[k] as Entry);
      this.entries.length = keep;
      this.seqs.length = keep;
    }
    for (const e of entries) {
      this.entries.push(e);
      this.seqs.push(seq);
      this.bytesHeld += entrySizeBytes(e);
    }
    this.evict();
  }

  /** Drops cached entries up to and including `index`. */
  dropThrough(index: number): void {
    while (this.length > 0 && this.first <= index) this.shift();
    if (this.length === 0 && this.first <= index) this.first = index + 1;
    this.pack();
  }

  /** Writes up to `seq` are durable: their entries may be evicted. */
  markDurable(seq: number): void {
    if (seq > this.durableSeq) this.durableSeq = seq;
    this.evict();
  }

  private evict(): void {
    // Bounded by the cache length: each step removes one entry.
    while (this.bytesHeld > this.bytesMax && this.length > 0 && (this.seqs[this.head] as number) <= this.durableSeq) this.shift();
    this.pack();
  }

  private shift(): void {
    const e = this.entries[this.head] as Entry;
    this.bytesHeld -= entrySizeBytes(e);
    (this.entries as (Entry | undefined)[])[this.head] = undefined;
    this.head++;
    this.first++;
  }

  /** Reclaims dead slots once they are half the array: amortised O(1) per eviction. */
  private pack(): void {
    if (this.head > 64 && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.seqs = this.seqs.slice(this.head);
      this.head = 0;
    }
  }
}
