/**
 * The leader's bookkeeping for one peer: how much of the log it holds (`match`), what to
 * send next (`next`), its flow-control state (probe / replicate / snapshot), the window of
 * unacknowledged appends, and the progress of a chunked snapshot transfer.
 */
import { fail } from './assert.js';
import type { LogIndex, ProgressState, Term } from './types.js';

/**
 * A ring buffer of unacknowledged appendEntries messages: for each, the last index it
 * carried and its entry bytes. Bounded by count and by bytes.
 */
export class Inflights {
  private readonly lastIndexes: Float64Array;
  private readonly sizes: Float64Array;
  private start = 0;
  private countValue = 0;
  private bytesValue = 0;

  constructor(
    private readonly countMax: number,
    private readonly bytesMax: number,
  ) {
    this.lastIndexes = new Float64Array(countMax);
    this.sizes = new Float64Array(countMax);
  }

  get count(): number {
    return this.countValue;
  }

  get bytes(): number {
    return this.bytesValue;
  }

  /** True when no more messages may be sent (count or bytes at the limit). */
  full(): boolean {
    return this.countValue >= this.countMax || this.bytesValue >= this.bytesMax;
  }

  add(lastIndex: number, bytes: number): void {
    if (this.countValue >= this.countMax) fail(`Inflights.add: window full (${this.countValue})`);
    const slot = (this.start + this.countValue) % this.countMax;
    // Invariant: last indexes in the window increase.
    if (this.countValue > 0 && lastIndex <= (this.lastIndexes[(slot + this.countMax - 1) % this.countMax] as number)) {
      fail(`Inflights.add: index ${lastIndex} not after the window's last`);
    }
    this.lastIndexes[slot] = lastIndex;
    this.sizes[slot] = bytes;
    this.countValue++;
    this.bytesValue += bytes;
  }

  /** Frees every message whose last index is at most `index` (acknowledged). */
  freeLE(index: number): void {
    while (this.countValue > 0 && (this.lastIndexes[this.start] as number) <= index) {
      this.bytesValue -= this.sizes[this.start] as number;
      this.start = (this.start + 1) % this.countMax;
      this.countValue--;
    }
    if (this.countValue === 0) {
      this.start = 0;
      this.bytesValue = 0;
    }
  }

  /** Frees the oldest message: a full window whose acknowledgement was lost must not stall forever. */
  freeFirstOne(): void {
    const first = this.lastIndexes[this.start];
    if (this.countValue > 0 && first !== undefined) this.freeLE(first);
  }

  reset(): void {
    this.start = 0;
    this.countValue = 0;
    this.bytesValue = 0;
  }
}

/** The stream of one snapshot to one follower: stop-and-wait, one chunk in flight. */
export interface SnapshotTransfer {
  readonly index: LogIndex;
  readonly term: Term;
  /** Bytes the follower confirmed; the next chunk starts here. */
  ackedOffsetBytes: number;
  /** End of the chunk last sent. */
  sentOffsetBytes: number;
  /** The chunk last sent was the final one. */
  lastSent: boolean;
  /** Heartbeat responses since the last chunk acknowledgement; resend after a few. */
  stalledHeartbeats: number;
}

export class Progress {
  match = 0 as LogIndex;
  next: LogIndex;
  state: ProgressState = 'probe';
  /** Snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0 as LogIndex;
  /** Probe state: an append was sent and not yet answered (one probe at a time). */
  probeSent = false;
  /** Heard from since the last check-quorum round. */
  recentActive: boolean;
  isLearner: boolean;
  /** Highest heartbeat round acknowledged. */
  ackedSeq = 0;
  /** Highest commit index sent in an appendEntries; avoids empty appends that say nothing new. */
  sentCommit = 0 as LogIndex;
  snapshot: SnapshotTransfer | null = null;
  readonly inflights: Inflights;

  constructor(next: LogIndex, isLearner: boolean, recentActive: boolean, inflightMessagesMax: number, inflightBytesMax: number) {
    this.next = next;
    this.isLearner = isLearner;
    this.recentActive = recentActive;
    this.inflights = new Inflights(inflightMessagesMax, inflightBytesMax);
  }

  becomeProbe(): void {
    // After a snapshot the follower holds at least the snapshot, so probe right after it.
    const after = this.state === 'snapshot' ? Math.max(this.match, this.pendingSnapshot) + 1 : this.match + 1;
    this.resetState('probe');
    this.next = after as LogIndex;
  }

  /** Leaves the snapshot state without assuming the follower got the snapshot. */
  abortSnapshot(): void {
    this.resetState('probe');
    this.next = (this.match + 1) as LogIndex;
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = (this.match + 1) as LogIndex;
  }

  becomeSnapshot(index: LogIndex, term: Term): void {
    this.resetState('snapshot');
    this.pendingSnapshot = index;
    this.snapshot = { index, term, ackedOffsetBytes: 0, sentOffsetBytes: 0, lastSent: false, stalledHeartbeats: 0 };
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0 as LogIndex;
    this.snapshot = null;
    this.inflights.reset();
  }

  /** Records an acknowledgement of `index`; false when it tells nothing new. */
  maybeUpdate(index: LogIndex): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    if (this.next < index + 1) this.next = (index + 1) as LogIndex;
    return updated;
  }

  /**
   * Handles a rejection of an append whose prevLogIndex was `rejected`; `matchHint` is
   * where the follower's log may last agree with ours. False for a stale rejection.
   */
  maybeDecrTo(rejected: LogIndex, matchHint: LogIndex): boolean {
    if (this.state === 'replicate') {
      // A rejection at or below match is stale: match is known to agree.
      if (rejected <= this.match) return false;
      this.next = (this.match + 1) as LogIndex;
      return true;
    }
    // Probe (or snapshot): only the answer to the latest probe counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1) as LogIndex;
    this.probeSent = false;
    return true;
  }

  /** True when no append may be sent now. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  /** Records an append carrying entries up to `lastIndex` (`bytes` of them) just sent. */
  sentEntries(count: number, lastIndex: LogIndex, bytes: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = (lastIndex + 1) as LogIndex;
        this.inflights.add(lastIndex, bytes);
      }
    } else {
      if (this.state !== 'probe') fail(`Progress.sentEntries in state ${this.state}`);
      this.probeSent = true;
    }
  }
}
