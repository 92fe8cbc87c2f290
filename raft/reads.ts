/**
 * A leader's heartbeat rounds and what they confirm: ReadIndex requests (a round sent
 * after the request and acknowledged by a quorum proves the leader was still leader) and
 * the lease (from the send time of the latest round a quorum acknowledged).
 */
import { assert } from './assert.js';
import type { LogIndex, ReadState } from './types.js';

/**
 * Send times are kept for the last 256 rounds: rounds go out once per heartbeat interval
 * plus at most once per Ready for reads, so a quorum acknowledging a round older than
 * that would give a lease long expired anyway; dropping it is conservative.
 */
const ROUNDS_KEPT = 256;

interface PendingRead {
  readonly ctx: string;
  readonly index: LogIndex;
  /** The first round sent after the request; its quorum acknowledgement confirms it. */
  readonly seq: number;
}

export class HeartbeatRounds {
  /** The last round sent. Increases forever (across terms: responses are term-checked). */
  seq = 0;
  /** Highest round acknowledged by a quorum of voters in this leadership. */
  quorumSeq = 0;
  /** Send time (local ms) of the latest quorum-acknowledged round that may start a lease. */
  leaseStartMs: number | null = null;
  /** Reads registered and waiting for a round: a round must be sent at the next flush. */
  roundWanted = false;
  private readonly sentMs = new Float64Array(ROUNDS_KEPT);
  /** Rounds sent while a lease could not be held (during a transfer): never start one. */
  private readonly leaseVoid = new Uint8Array(ROUNDS_KEPT);
  private pending: PendingRead[] = [];
  /** Reads that wait for the leader to commit an entry of its term (no index is safe yet). */
  private awaitingCommit: string[] = [];

  constructor(private readonly pendingMax: number) {}

  /** Forgets everything of the previous leadership (seq keeps increasing). */
  resetLeadership(): void {
    this.quorumSeq = this.seq;
    this.leaseStartMs = null;
    this.roundWanted = false;
    this.pending = [];
    this.awaitingCommit = [];
  }

  pendingCount(): number {
    return this.pending.length + this.awaitingCommit.length;
  }

  full(): boolean {
    return this.pendingCount() >= this.pendingMax;
  }

  /** Starts a round; `sentMs` is NaN when the time is unknown (no lease from it). */
  startRound(sentMs: number, leaseVoid: boolean): number {
    this.seq++;
    assert(Number.isSafeInteger(this.seq), 'HeartbeatRounds: seq overflow');
    const slot = this.seq % ROUNDS_KEPT;
    this.sentMs[slot] = sentMs;
    this.leaseVoid[slot] = leaseVoid ? 1 : 0;
    this.roundWanted = false;
    return this.seq;
  }

  /** Registers a read at `index`, confirmed by the next round. */
  addRead(ctx: string, index: LogIndex): void {
    this.pending.push({ ctx, index, seq: this.seq + 1 });
    this.roundWanted = true;
  }

  addReadAwaitingCommit(ctx: string): void {
    this.awaitingCommit.push(ctx);
  }

  /** The leader committed an entry of its term: reads waiting for it get `commit` as index. */
  releaseAwaitingCommit(commit: LogIndex): void {
    if (this.awaitingCommit.length === 0) return;
    for (const ctx of this.awaitingCommit) this.addRead(ctx, commit);
    this.awaitingCommit = [];
  }

  /**
   * A quorum acknowledged every round up to `seq`: extends the lease and returns the reads
   * this confirms, in request order.
   */
  quorumAcked(seq: number, out: ReadState[]): void {
    if (seq <= this.quorumSeq) return;
    this.quorumSeq = seq;
    if (this.seq - seq < ROUNDS_KEPT) {
      const slot = seq % ROUNDS_KEPT;
      const sent = this.sentMs[slot] as number;
      if (!Number.isNaN(sent) && this.leaseVoid[slot] === 0 && (this.leaseStartMs === null || sent > this.leaseStartMs)) {
        this.leaseStartMs = sent;
      }
    }
    let k = 0;
    while (k < this.pending.length && (this.pending[k] as PendingRead).seq <= seq) {
      const r = this.pending[k] as PendingRead;
      out.push({ index: r.index, ctx: r.ctx });
      k++;
    }
    if (k > 0) this.pending.splice(0, k);
  }
}
