/**
 * One peer's bounded send queue. Messages arrive encoded; during an event-loop turn they
 * collect as "open" pairs, and at the turn's flush `seal()` packs them into frames (one per
 * turn unless they exceed the frame limit). Frames wait here until the socket takes them.
 *
 * Bounds: `bytes` (encoded message bytes, open and sealed) never exceeds `bytesMax` and
 * `messages` never exceeds `messagesMax`; `tryPush` refuses a message that would cross
 * either (tail drop: the newest message is the one lost, Raft retransmits). Frame headers
 * (at most 9 bytes per frame, at most one frame per message) are not counted.
 */
import { ARRAY_HEADER_BYTES_MAX, buildFrame } from './wire.js';

export interface QueuedFrame {
  /** The complete frame, prefix included, in a buffer of its own. */
  readonly frame: Buffer;
  readonly messages: number;
  /** Encoded message bytes in the frame (what `bytes` counts). */
  readonly payloadBytes: number;
}

/** Compact the frame array once this many consumed slots lead it (amortised O(1) shift). */
const CONSUMED_SLOTS_COMPACT_MIN = 1024;

export class SendQueue {
  private open: Buffer[] = [];
  private frames: (QueuedFrame | undefined)[] = [];
  private head = 0;
  private bytesQueued = 0;
  private messagesQueued = 0;

  /**
   * @param frameBytesTarget frames are cut before they would exceed this many body bytes;
   *   a single pair larger than that still gets a frame of its own (`send` has checked it
   *   against the hard `frameBytesMax`).
   */
  constructor(
    private readonly bytesMax: number,
    private readonly messagesMax: number,
    private readonly frameBytesTarget: number,
  ) {}

  get bytes(): number {
    return this.bytesQueued;
  }

  get messages(): number {
    return this.messagesQueued;
  }

  /** True when sealed frames wait for the socket. */
  get hasFrames(): boolean {
    return this.head < this.frames.length;
  }

  /** True when messages were pushed since the last `seal()`. */
  get hasOpen(): boolean {
    return this.open.length > 0;
  }

  /**
   * Queues one encoded pair, or refuses it when a bound would be crossed.
   * Caller guarantees `pair.length + ARRAY_HEADER_BYTES_MAX <= frameBytesMax`.
   */
  tryPush(pair: Buffer): boolean {
    if (this.messagesQueued + 1 > this.messagesMax || this.bytesQueued + pair.length > this.bytesMax) return false;
    this.open.push(pair);
    this.messagesQueued += 1;
    this.bytesQueued += pair.length;
    // Invariant: the bounds hold after every push.
    if (this.bytesQueued > this.bytesMax || this.messagesQueued > this.messagesMax) {
      throw new Error(`SendQueue: bound crossed (${this.bytesQueued} B, ${this.messagesQueued} messages)`);
    }
    return true;
  }

  /** Packs open pairs into frames, in order: one frame unless they exceed `frameBytesTarget`. */
  seal(): void {
    if (this.open.length === 0) return;
    let group: Buffer[] = [];
    let groupBytes = 0;
    for (const pair of this.open) {
      if (group.length > 0 && groupBytes + pair.length + ARRAY_HEADER_BYTES_MAX > this.frameBytesTarget) {
        this.frames.push({ frame: buildFrame(group, groupBytes), messages: group.length, payloadBytes: groupBytes });
        group = [];
        groupBytes = 0;
      }
      group.push(pair);
      groupBytes += pair.length;
    }
    this.frames.push({ frame: buildFrame(group, groupBytes), messages: group.length, payloadBytes: groupBytes });
    this.open = [];
  }

  /** The oldest sealed frame, or undefined. */
  peekFrame(): QueuedFrame | undefined {
    return this.frames[this.head];
  }

  /** Removes the oldest sealed frame (after the socket took it). */
  shiftFrame(): QueuedFrame {
    const queued = this.frames[this.head];
    if (queued === undefined) throw new Error('SendQueue.shiftFrame: no frame queued (broken invariant)');
    this.frames[this.head] = undefined; // release the buffer now
    this.head += 1;
    this.bytesQueued -= queued.payloadBytes;
    this.messagesQueued -= queued.messages;
    if (this.head === this.frames.length) {
      this.frames = [];
      this.head = 0;
    } else if (this.head >= CONSUMED_SLOTS_COMPACT_MIN && this.head * 2 >= this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
    return queued;
  }

  /** Empties the queue; returns what was discarded. */
  clear(): { messages: number; bytes: number } {
    const dropped = { messages: this.messagesQueued, bytes: this.bytesQueued };
    this.open = [];
    this.frames = [];
    this.head = 0;
    this.messagesQueued = 0;
    this.bytesQueued = 0;
    return dropped;
  }
}
