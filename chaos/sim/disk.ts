/**
 * One node's simulated disk, generic over what is stored (`Image`) and how one write
 * batch changes it (`apply`). A write is first *pending* (in the OS page cache); it
 * becomes *persisted* when a sync covers it. A crash loses pending writes, except that
 * the disk may already have flushed an in-order prefix of them (as a real page cache
 * may): each write batch is atomic, and a later batch never survives without every
 * earlier one.
 *
 * @example
 * ```ts
 * const disk = new SimDisk<number[], number>([], (img, w) => { img.push(w); });
 * const id = disk.write(7);
 * disk.crash(0);            // the write was never synced: lost
 * disk.write(8); disk.syncAll();
 * disk.persisted;           // [8]
 * ```
 */
export class SimDisk<Image, Write> {
  private readonly pending: { readonly id: number; readonly write: Write }[] = [];
  private idNext = 1;
  private syncedThroughId = 0;
  private crashesValue = 0;

  constructor(
    private readonly image: Image,
    private readonly apply: (image: Image, write: Write) => void,
  ) {}

  /** What survives a crash right now. Callers must not mutate it. */
  get persisted(): Image {
    return this.image;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  get crashes(): number {
    return this.crashesValue;
  }

  /** Id of the last write issued (0 when none). */
  get lastWriteId(): number {
    return this.idNext - 1;
  }

  /** True when every write up to and including `id` is persisted. */
  isSynced(id: number): boolean {
    return id <= this.syncedThroughId;
  }

  /** Issues a write batch; returns its id, to pass to `syncThrough`. */
  write(write: Write): number {
    const id = this.idNext++;
    this.pending.push({ id, write });
    return id;
  }

  /** Persists every pending write with an id up to `id`, in order. */
  syncThrough(id: number): void {
    while (this.pending.length > 0) {
      const head = this.pending[0];
      if (head === undefined || head.id > id) break;
      this.pending.shift();
      this.apply(this.image, head.write);
      this.syncedThroughId = head.id;
    }
    if (id > this.syncedThroughId && id < this.idNext) this.syncedThroughId = id;
  }

  syncAll(): void {
    this.syncThrough(this.idNext - 1);
  }

  /**
   * Simulates power loss: the first `flushedCount` pending writes (clamped) reach the
   * disk, the rest are lost. Returns how many were lost.
   */
  crash(flushedCount: number): number {
    const keep = Math.max(0, Math.min(flushedCount, this.pending.length));
    for (let i = 0; i < keep; i++) {
      const w = this.pending[i];
      if (w !== undefined) {
        this.apply(this.image, w.write);
        this.syncedThroughId = w.id;
      }
    }
    const lost = this.pending.length - keep;
    this.pending.length = 0;
    // Ids issued before the crash are settled (persisted or lost) either way.
    this.syncedThroughId = this.idNext - 1;
    this.crashesValue++;
    return lost;
  }
}
