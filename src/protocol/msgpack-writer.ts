/**
 * A minimal msgpack writer for the hot reply path: the formats needed for reply frames
 * (nil, booleans, integers, float64, UTF-8 strings, array and map headers), written
 * straight into a growable buffer. Any msgpack reader decodes its output; it exists
 * because a general encoder spends most of its time discovering the shape of objects
 * whose shape is known here.
 */

const textEncoder = new TextEncoder();

export class MsgpackWriter {
  private bytes = new Uint8Array(16 * 1024);
  private view = new DataView(this.bytes.buffer);
  private pos = 0;

  reset(): void {
    this.pos = 0;
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

  nil(): void {
    this.ensure(1);
    this.bytes[this.pos++] = 0xc0;
  }

  bool(v: boolean): void {
    this.ensure(1);
    this.bytes[this.pos++] = v ? 0xc3 : 0xc2;
  }

  /** Integers in the 32-bit ranges get integer formats; anything else is a float64. */
  num(v: number): void {
    this.ensure(9);
    const b = this.bytes;
    if (v >>> 0 === v) {
      if (v < 0x80) b[this.pos++] = v;
      else if (v < 0x100) {
        b[this.pos++] = 0xcc;
        b[this.pos++] = v;
      } else if (v < 0x10000) {
        b[this.pos++] = 0xcd;
        this.view.setUint16(this.pos, v);
        this.pos += 2;
      } else {
        b[this.pos++] = 0xce;
        this.view.setUint32(this.pos, v);
        this.pos += 4;
      }
    } else if (v >> 0 === v) {
      if (v >= -32) b[this.pos++] = v & 0xff;
      else if (v >= -128) {
        b[this.pos++] = 0xd0;
        this.view.setInt8(this.pos++, v);
      } else if (v >= -32768) {
        b[this.pos++] = 0xd1;
        this.view.setInt16(this.pos, v);
        this.pos += 2;
      } else {
        b[this.pos++] = 0xd2;
        this.view.setInt32(this.pos, v);
        this.pos += 4;
      }
    } else {
      b[this.pos++] = 0xcb;
      this.view.setFloat64(this.pos, v);
      this.pos += 8;
    }
  }

  str(s: string): void {
    const n = s.length;
    // ASCII fast path: one byte per UTF-16 unit.
    if (n < 256) {
      this.ensure(2 + n);
      const b = this.bytes;
      const head = n < 32 ? 1 : 2;
      const start = this.pos + head;
      let ascii = true;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        b[start + i] = c;
      }
      if (ascii) {
        if (head === 1) b[this.pos] = 0xa0 | n;
        else {
          b[this.pos] = 0xd9;
          b[this.pos + 1] = n;
        }
        this.pos = start + n;
        return;
      }
    }
    const u = textEncoder.encode(s);
    this.ensure(5 + u.length);
    if (u.length < 32) this.bytes[this.pos++] = 0xa0 | u.length;
    else if (u.length < 0x100) {
      this.bytes[this.pos++] = 0xd9;
      this.bytes[this.pos++] = u.length;
    } else if (u.length < 0x10000) {
      this.bytes[this.pos++] = 0xda;
      this.view.setUint16(this.pos, u.length);
      this.pos += 2;
    } else {
      this.bytes[this.pos++] = 0xdb;
      this.view.setUint32(this.pos, u.length);
      this.pos += 4;
    }
    this.bytes.set(u, this.pos);
    this.pos += u.length;
  }

  array(length: number): void {
    this.header(length, 0x90, 0xdc, 0xdd);
  }

  map(size: number): void {
    this.header(size, 0x80, 0xde, 0xdf);
  }

  private header(n: number, fix: number, c16: number, c32: number): void {
    this.ensure(5);
    if (n < 16) this.bytes[this.pos++] = fix | n;
    else if (n < 0x10000) {
      this.bytes[this.pos++] = c16;
      this.view.setUint16(this.pos, n);
      this.pos += 2;
    } else {
      this.bytes[this.pos++] = c32;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    }
  }

  /** A copy of the bytes written since the last reset. */
  finish(): Uint8Array {
    return this.bytes.slice(0, this.pos);
  }
}
