/**
 * A small growable byte writer and a bounds-checked reader for the shard's binary batch
 * format: little-endian float64 for numbers (every state number is a safe integer, which
 * a float64 holds exactly), length-prefixed UTF-8 strings. Faster than a general encoder
 * because it writes numbers straight into the buffer and allocates nothing per field.
 */

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Node's native latin1 slice (flat one-byte string), applied to any Uint8Array. */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }).latin1Slice;

/** Strings up to this many UTF-16 units are encoded by hand when ASCII. */
const SHORT_STRING = 64;

export class ByteWriter {
  private bytes: Uint8Array;
  private view: DataView;
  pos = 0;

  constructor(initialBytes = 4096) {
    this.bytes = new Uint8Array(initialBytes);
    this.view = new DataView(this.bytes.buffer);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.pos));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.bytes[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** u16 byte length, then the UTF-8 bytes. Throws when over 65,535 bytes. */
  str(s: string): void {
    const n = s.length;
    if (n <= SHORT_STRING) {
      this.ensure(2 + n);
      let ascii = true;
      const start = this.pos + 2;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        this.bytes[start + i] = c;
      }
      if (ascii) {
        this.view.setUint16(this.pos, n, true);
        this.pos = start + n;
        return;
      }
    }
    const encoded = textEncoder.encode(s);
    if (encoded.length > 0xffff) throw new RangeError(`string of ${encoded.length} bytes is over the 65,535 a batch holds`);
    this.u16(encoded.length);
    this.raw(encoded);
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.bytes.set(b, this.pos);
    this.pos += b.length;
  }

  /** A copy of the bytes written. */
  finish(): Uint8Array {
    return this.bytes.slice(0, this.pos);
  }
}

/** Thrown by ByteReader on a read past the end or invalid UTF-8; the codec turns it into a CodecError. */
export class ShortRead extends Error {}

export class ByteReader {
  private readonly view: DataView;
  pos = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.bytes.length) throw new ShortRead(`read of ${n} bytes at ${this.pos} runs past the end (${this.bytes.length} bytes)`);
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++] as number;
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  str(): string {
    const n = this.u16();
    this.need(n);
    const start = this.pos;
    this.pos += n;
    const b = this.bytes;
    for (let i = start; i < start + n; i++) if ((b[i] as number) >= 0x80) return this.utf8(start, n);
    // ASCII: one native call makes a flat string (3-4x faster than a decoder here).
    return latin1Slice.call(b, start, start + n);
  }

  raw(n: number): Uint8Array {
    this.need(n);
    const b = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  private utf8(start: number, n: number): string {
    try {
      return textDecoder.decode(this.bytes.subarray(start, start + n));
    } catch (err) {
      throw new ShortRead(`invalid UTF-8 at ${start}: ${(err as Error).message}`);
    }
  }
}
