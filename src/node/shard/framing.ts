/**
 * Length-prefixed framing for snapshot chunks: storage hands snapshot data back in
 * pieces of its own size, so each chunk the state machine wrote is prefixed with its
 * length (u32 BE) and reassembled here, whatever the piece boundaries.
 */

/** Largest snapshot chunk accepted: a chunk holds ~10k states of ~100 bytes; 64 MiB is far above that. */
export const FRAME_BYTES_MAX = 64 * 1024 * 1024;

export function frame(chunk: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + chunk.byteLength);
  new DataView(out.buffer).setUint32(0, chunk.byteLength);
  out.set(chunk, 4);
  return out;
}

/** Yields the chunks framed in `pieces`; throws on a frame over the bound or a truncated tail. */
export async function* unframe(pieces: AsyncIterable<Uint8Array>): AsyncIterableIterator<Uint8Array> {
  let buf = new Uint8Array(0);
  for await (const piece of pieces) {
    const joined = new Uint8Array(buf.byteLength + piece.byteLength);
    joined.set(buf, 0);
    joined.set(piece, buf.byteLength);
    buf = joined;
    let at = 0;
    while (buf.byteLength - at >= 4) {
      const len = new DataView(buf.buffer, buf.byteOffset + at, 4).getUint32(0);
      if (len > FRAME_BYTES_MAX) throw new RangeError(`snapshot frame of ${len} bytes exceeds ${FRAME_BYTES_MAX}`);
      if (buf.byteLength - at - 4 < len) break;
      yield buf.slice(at + 4, at + 4 + len);
      at += 4 + len;
    }
    buf = buf.slice(at);
  }
  if (buf.byteLength !== 0) throw new RangeError(`snapshot data ends inside a frame (${buf.byteLength} bytes left over)`);
}
