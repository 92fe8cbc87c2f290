/**
 * A byte-rate cap on snapshot streaming, for one node across all its groups: each
 * snapshot chunk reserves `bytes / rate` of a shared timeline and leaves at the end of
 * its reservation, so N bytes of chunks take at least N / rate, whatever the number of
 * groups streaming at once. Moves are also limited by count (the planner's `movesMax`);
 * this bounds what one move may take from the network and the disk of both ends.
 *
 * Raft streams a snapshot stop-and-wait (one chunk in flight per follower), and resends
 * a chunk that was not acknowledged within a few heartbeats. A chunk that waits here may
 * thus be submitted again: the newer one replaces it in the queue without reserving the
 * bandwidth twice, so at most one chunk waits per (group, follower) stream.
 */

export interface SnapshotPacerDeps {
  /** Monotonic milliseconds. */
  nowMs(): number;
  setTimer(fn: () => void, delayMs: number): unknown;
  clearTimer(handle: unknown): void;
}

interface Waiting {
  send: () => void;
  readonly timer: unknown;
}

/** Streams waiting at most: one per (group, follower); 100k covers 1,000 groups × 100 peers. */
const STREAMS_WAITING_MAX = 100_000;

/**
 * @example
 * ```ts
 * const pacer = new SnapshotPacer(32 * 1024 * 1024, { nowMs: () => performance.now(), setTimer: setTimeout, clearTimer: (h) => clearTimeout(h as NodeJS.Timeout) });
 * pacer.submit(`${groupId}:${to}`, chunk.byteLength, () => transport.send(to, groupId, message));
 * ```
 */
export class SnapshotPacer {
  /** The instant the shared timeline is free again. */
  private freeAtMs = Number.NEGATIVE_INFINITY;
  private readonly waiting = new Map<string, Waiting>();
  private closed = false;

  constructor(
    readonly bytesPerSecondMax: number,
    private readonly deps: SnapshotPacerDeps,
  ) {
    if (!Number.isFinite(bytesPerSecondMax) || bytesPerSecondMax <= 0) {
      throw new RangeError(`SnapshotPacer: 'bytesPerSecondMax' must be a positive number (got ${bytesPerSecondMax})`);
    }
  }

  /** Chunks waiting for their turn now (one per stream at most). */
  get waitingCount(): number {
    return this.waiting.size;
  }

  /**
   * Calls `send` once `bytes` fit the rate. A chunk already waiting on `stream` is
   * replaced by this one (a resend of the same chunk, or a newer one) and keeps its turn.
   */
  submit(stream: string, bytes: number, send: () => void): void {
    if (this.closed) return;
    const queued = this.waiting.get(stream);
    if (queued !== undefined) {
      queued.send = send;
      return;
    }
    if (this.waiting.size >= STREAMS_WAITING_MAX) return; // dropped: Raft resends it after a few heartbeats
    const now = this.deps.nowMs();
    const startMs = Math.max(now, this.freeAtMs);
    const endMs = startMs + (bytes * 1000) / this.bytesPerSecondMax;
    this.freeAtMs = endMs;
    const entry: Waiting = {
      send,
      timer: this.deps.setTimer(() => {
        this.waiting.delete(stream);
        if (!this.closed) entry.send();
      }, endMs - now),
    };
    this.waiting.set(stream, entry);
  }

  /** Drops every waiting chunk (the host stops). */
  close(): void {
    this.closed = true;
    for (const w of this.waiting.values()) this.deps.clearTimer(w.timer);
    this.waiting.clear();
  }
}
