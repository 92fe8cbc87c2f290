/**
 * Splits a TCP byte stream into length-prefixed frames: a 4-byte big-endian body length,
 * then the body. The announced length is checked against the current limit before any
 * byte of the body is buffered, so a hostile length never causes an allocation of its size.
 */

/** Bytes of the length prefix before each frame body. */
export const FRAME_PREFIX_BYTES = 4;

/** Thrown by `FrameReader.next` when a frame announces more than the current limit. */
export class FrameTooLargeError extends Error {
  readonly frameBytes: number;
  readonly frameBytesMax: number;
  constructor(frameBytes: number, frameBytesMax: number) {
    super(`frame announces ${frameBytes} bytes, above the limit of ${frameBytesMax}`);
    this.name = 'FrameTooLargeError';
    this.frameBytes = frameBytes;
    this.frameBytesMax = frameBytesMax;
  }
}

/**
 * Turns received chunks into complete frame bodies. It holds at most the unread rest of
 * one chunk plus one incomplete frame, so its memory is bounded by the limit plus the
 * socket's read size (64 KiB). A frame inside one chunk is returned without a copy; a
 * frame spread over chunks is assembled into one buffer allocated once its length has
 * passed the limit check, so even a peer that sends one byte per packet costs one copy.
 *
 * Callers drain `next()` until it returns null before pushing the next chunk.
 *
 * @example
 * ```ts
 * const reader = new FrameReader(1024);
 * reader.push(chunk);
 * for (let body = reader.next(); body !== null; body = reader.next()) handle(body);
 * ```
 */
export class FrameReader {
  private frameBytesMax: number;
  /** Unread rest of the last pushed chunk. */
  private input: Buffer = Buffer.alloc(0);
  /** The length prefix when it straddles chunks. */
  private readonly prefix: Buffer = Buffer.alloc(FRAME_PREFIX_BYTES);
  private prefixFilled = 0;
  /** Body length of the frame being read, or -1 while reading a prefix. */
  private bodyBytes = -1;
  /** The frame being assembled across chunks, or null. */
  private body: Buffer | null = null;
  private bodyFilled = 0;

  constructor(frameBytesMax: number) {
    this.frameBytesMax = frameBytesMax;
  }

  /** Changes the limit for frames whose prefix is not yet read (the handshake uses a small one). */
  setFrameBytesMax(frameBytesMax: number): void {
    this.frameBytesMax = frameBytesMax;
  }

  push(chunk: Buffer): void {
    // Invariant: the previous chunk was fully consumed (callers drain next() first).
    if (this.input.length !== 0) throw new Error('FrameReader.push: previous chunk not drained (broken invariant)');
    this.input = chunk;
  }

  /**
   * The next complete frame body, or null when more bytes are needed. Bodies are never
   * written again by the reader; they may share memory with the pushed chunk.
   * @throws FrameTooLargeError when the next frame announces more than the limit.
   */
  next(): Buffer | null {
    if (this.bodyBytes < 0 && !this.readPrefix()) return null;
    const input = this.input;
    if (this.body === null && input.length >= this.bodyBytes) {
      const out = input.subarray(0, this.bodyBytes);
      this.input = input.subarray(this.bodyBytes);
      this.bodyBytes = -1;
      return out;
    }
    if (this.body === null) {
      // The limit was checked in readPrefix: this allocation is at most frameBytesMax.
      this.body = Buffer.allocUnsafeSlow(this.bodyBytes);
      this.bodyFilled = 0;
    }
    const copied = input.copy(this.body, this.bodyFilled, 0, Math.min(input.length, this.bodyBytes - this.bodyFilled));
    this.bodyFilled += copied;
    this.input = input.subarray(copied);
    if (this.bodyFilled < this.bodyBytes) return null;
    const out = this.body;
    this.body = null;
    this.bodyBytes = -1;
    return out;
  }

  /** Bytes held: unread input plus the partly assembled frame (for tests and assertions). */
  get buffered(): number {
    return this.input.length + this.prefixFilled + (this.body === null ? 0 : this.bodyFilled);
  }

  /** Reads the length prefix; true once `bodyBytes` is known and within the limit. */
  private readPrefix(): boolean {
    const input = this.input;
    if (this.prefixFilled === 0 && input.length >= FRAME_PREFIX_BYTES) {
      this.bodyBytes = input.readUInt32BE(0);
      this.input = input.subarray(FRAME_PREFIX_BYTES);
    } else {
      const copied = input.copy(this.prefix, this.prefixFilled, 0, Math.min(input.length, FRAME_PREFIX_BYTES - this.prefixFilled));
      this.prefixFilled += copied;
      this.input = input.subarray(copied);
      if (this.prefixFilled < FRAME_PREFIX_BYTES) return false;
      this.prefixFilled = 0;
      this.bodyBytes = this.prefix.readUInt32BE(0);
    }
    if (this.bodyBytes > this.frameBytesMax) throw new FrameTooLargeError(this.bodyBytes, this.frameBytesMax);
    return true;
  }
}
