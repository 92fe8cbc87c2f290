/**
 * Group commit across groups: every write staged during one event-loop turn, by any
 * group, goes into one LevelDB batch with at most one fsync, and each write's promise
 * resolves after its batch is written. One batch is in flight at a time, so batches grow
 * by themselves while the disk is busy (the classic group-commit feedback), and writes
 * land on disk in the order they were staged.
 *
 * In mode `batch`, writes that need no fsync (the applied index, a commit-only hard state)
 * wait up to `unsyncedDelayMs` for company: they go out with the next synced write, or
 * alone when the delay passes or `UNSYNCED_BYTES_FLUSH` of them are queued. Nothing waits
 * on them for an answer, and each one taken alone costs a LevelDB round trip that the next
 * synced write (a batch of checks waiting for its commit) would queue behind. Order is
 * kept, so what reaches the disk is still a prefix of what was staged.
 */
import { StorageUnavailableError } from './errors.js';
import { FixedHistogram, STORAGE_LATENCY_BOUNDS_SECONDS } from './fixed-histogram.js';
import type { FsyncMode } from './types.js';

/** One put or delete, keys and values as bytes. */
export type BatchOp =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Uint8Array };

/** The part of a LevelDB handle the committer uses (a test may wrap it to count or fail batches). */
export interface BatchTarget {
  batch(ops: BatchOp[], options: { readonly sync: boolean; readonly keyEncoding: 'view'; readonly valueEncoding: 'view' }): Promise<void>;
}

interface Staged {
  readonly ops: readonly BatchOp[];
  readonly bytes: number;
  readonly sync: boolean;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** One atomic write: its operations, their bytes (see `opBytes`) and whether it needs an fsync. */
export interface WriteInput {
  readonly ops: readonly BatchOp[];
  readonly bytes: number;
  readonly sync: boolean;
}

export interface CommitterOptions {
  readonly fsync: FsyncMode;
  readonly batchBytesMax: number;
  readonly pendingBytesMax: number;
  /** Mode `batch`: how long writes without fsync may wait for a synced one (0: none). [0] */
  readonly unsyncedDelayMs?: number;
}

/** Queued bytes of writes without fsync past which they go out without waiting. */
export const UNSYNCED_BYTES_FLUSH = 256 * 1024;

export interface CommitterDeps {
  readonly target: BatchTarget;
  /** Runs `fn` after the current event-loop turn (setImmediate); injectable for tests. */
  readonly defer?: (fn: () => void) => void;
  /** Runs `fn` after `ms` (setTimeout); returns a cancel function. Injectable for tests. */
  readonly delay?: (fn: () => void, ms: number) => () => void;
}

export interface CommitterStats {
  batches: number;
  syncedBatches: number;
  writes: number;
  ops: number;
  bytes: number;
}

/** Bytes a batch op costs: key and value plus ~16 bytes of LevelDB record framing. */
export function opBytes(op: BatchOp): number {
  return op.key.byteLength + (op.type === 'put' ? op.value.byteLength : 0) + 16;
}

export class GroupCommitter {
  private readonly opts: CommitterOptions;
  private readonly target: BatchTarget;
  private readonly defer: (fn: () => void) => void;
  /** Staged writes not yet handed to LevelDB, in staging order. Bounded by pendingBytesMax. */
  private queue: Staged[] = [];
  private queueHead = 0;
  private pendingBytes = 0;
  private scheduled = false;
  /** Queued writes that need an fsync: while none is, unsynced ones may wait (see class doc). */
  private syncedQueued = 0;
  private cancelDelay: (() => void) | null = null;
  private readonly delay: (fn: () => void, ms: number) => () => void;
  private inflight: Promise<void> | null = null;
  private failure: StorageUnavailableError | null = null;
  private closed = false;
  /** Closing: nothing waits for company any more. */
  private closing = false;
  readonly stats: CommitterStats = { batches: 0, syncedBatches: 0, writes: 0, ops: 0, bytes: 0 };
  /** Seconds each LevelDB batch took, synced or not (one observation per batch, never per write). */
  readonly writeLatency = new FixedHistogram(STORAGE_LATENCY_BOUNDS_SECONDS);
  /** Seconds each synced batch took, write and fsync together: the durability cost of a commit. */
  readonly fsyncLatency = new FixedHistogram(STORAGE_LATENCY_BOUNDS_SECONDS);

  constructor(options: CommitterOptions, deps: CommitterDeps) {
    this.opts = options;
    this.target = deps.target;
    this.defer = deps.defer ?? ((fn) => void setImmediate(fn));
    this.delay =
      deps.delay ??
      ((fn, ms) => {
        const t = setTimeout(fn, ms);
        return () => clearTimeout(t);
      });
  }

  /** Bytes staged and not yet written. */
  get pending(): number {
    return this.pendingBytes;
  }

  /**
   * Throws unless a write of `bytes` would be accepted now: call before changing any
   * in-memory state, then `stage` (which cannot fail synchronously after this passes).
   */
  checkAccepting(bytes: number): void {
    if (this.failure !== null) throw this.failure;
    if (this.closed) throw new StorageUnavailableError('closed', null, 'node storage is closed');
    if (this.pendingBytes > 0 && this.pendingBytes + bytes > this.opts.pendingBytesMax) {
      throw new StorageUnavailableError(
        'overloaded',
        null,
        `node storage has ${this.pendingBytes} bytes staged; a write of ${bytes} would pass 'pendingBytesMax' (${this.opts.pendingBytesMax})`,
      );
    }
  }

  /**
   * Queues writes, all or none: each write's `ops` are written atomically (never split
   * across batches), in order. `sync` asks for an fsync before the promise resolves (mode
   * `batch`); mode `always` always syncs and `off` never does. Resolves when the last
   * write is on disk (hence all of them); throws at once if the writes are refused.
   */
  stage(writes: readonly WriteInput[]): Promise<void> {
    let total = 0;
    for (const w of writes) total += w.bytes;
    this.checkAccepting(total);
    let last: Promise<void> = Promise.resolve();
    for (const w of writes) {
      // A failure rejects every queued write, the last included: the caller sees it there.
      last.catch(() => undefined);
      last = new Promise<void>((resolve, reject) => {
        this.queue.push({ ops: w.ops, bytes: w.bytes, sync: w.sync, resolve, reject });
      });
      this.pendingBytes += w.bytes;
      if (w.sync) this.syncedQueued++;
    }
    this.schedule();
    return last;
  }

  /** Resolves when everything staged so far is written (or rejects with the write failure). */
  async drain(): Promise<void> {
    // Bounded: each pass writes at least one batch, and nothing new is staged by draining.
    // Writes waiting for company go now (`flush` cancels the wait).
    while (this.inflight !== null || this.queueHead < this.queue.length) {
      if (this.failure !== null) throw this.failure;
      if (this.inflight === null) this.flush();
      await this.inflight?.catch(() => undefined);
    }
    if (this.failure !== null) throw this.failure;
  }

  /** Refuses new writes and waits for staged ones. */
  async close(): Promise<void> {
    this.closing = true;
    try {
      await this.drain();
    } finally {
      this.closed = true;
    }
  }

  private schedule(): void {
    if (this.scheduled || this.inflight !== null) return;
    if (this.mayWait()) {
      this.cancelDelay ??= this.delay(() => {
        this.cancelDelay = null;
        if (this.inflight === null) this.flush();
      }, this.opts.unsyncedDelayMs ?? 0);
      return;
    }
    this.scheduled = true;
    this.defer(() => {
      this.scheduled = false;
      if (this.inflight === null) this.flush();
    });
  }

  /** True when everything queued may wait for company (mode `batch`, no fsync asked, few bytes). */
  private mayWait(): boolean {
    return this.opts.fsync === 'batch' && (this.opts.unsyncedDelayMs ?? 0) > 0 && this.syncedQueued === 0 && this.pendingBytes < UNSYNCED_BYTES_FLUSH && !this.closing;
  }

  /** Writes the next batch: as many queued writes as fit in batchBytesMax (at least one; one in mode `always`). */
  private flush(): void {
    if (this.cancelDelay !== null) {
      this.cancelDelay();
      this.cancelDelay = null;
    }
    if (this.queueHead >= this.queue.length || this.failure !== null) return;
    const taken: Staged[] = [];
    const ops: BatchOp[] = [];
    let bytes = 0;
    let sync = false;
    // Bounded by the queue length.
    while (this.queueHead < this.queue.length) {
      const w = this.queue[this.queueHead] as Staged;
      if (taken.length > 0 && (this.opts.fsync === 'always' || bytes + w.bytes > this.opts.batchBytesMax)) break;
      this.queueHead++;
      if (w.sync) this.syncedQueued--;
      taken.push(w);
      for (const op of w.ops) ops.push(op);
      bytes += w.bytes;
      sync ||= w.sync;
    }
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    }
    if (this.opts.fsync === 'always') sync = true;
    if (this.opts.fsync === 'off') sync = false;
    this.inflight = this.write(taken, ops, bytes, sync);
  }

  private async write(taken: readonly Staged[], ops: BatchOp[], bytes: number, sync: boolean): Promise<void> {
    try {
      // Always suspend once, so `inflight` is assigned before this settles.
      if (ops.length > 0) {
        const startedMs = performance.now();
        await this.target.batch(ops, { sync, keyEncoding: 'view', valueEncoding: 'view' });
        const seconds = (performance.now() - startedMs) / 1000;
        this.writeLatency.observe(seconds);
        if (sync) this.fsyncLatency.observe(seconds);
      } else await Promise.resolve();
    } catch (cause) {
      // The in-memory views already reflect these writes: the node storage stops here and
      // the process must restart from disk (docs/storage.md, "When a write fails").
      this.failure = new StorageUnavailableError('writeFailed', null, `a LevelDB batch of ${ops.length} operations failed: ${String(cause)}`, { cause });
      this.pendingBytes -= bytes;
      for (const w of taken) w.reject(this.failure);
      for (let k = this.queueHead; k < this.queue.length; k++) (this.queue[k] as Staged).reject(this.failure);
      this.queue = [];
      this.queueHead = 0;
      this.pendingBytes = 0;
      this.syncedQueued = 0;
      this.inflight = null;
      return;
    }
    this.pendingBytes -= bytes;
    this.stats.batches++;
    if (sync) this.stats.syncedBatches++;
    this.stats.writes += taken.length;
    this.stats.ops += ops.length;
    this.stats.bytes += bytes;
    this.inflight = null;
    for (const w of taken) w.resolve();
    // Writes staged while this batch was on disk go out now, as one batch (or, when none
    // of them needs an fsync, wait for company as `schedule` says).
    if (this.queueHead < this.queue.length) {
      if (this.mayWait()) this.schedule();
      else this.flush();
    }
  }
}
