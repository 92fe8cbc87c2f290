/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum LevelDB, ext4 and
 * iSCSI use. Table-driven, slicing-by-8: eight 256-entry tables let the loop fold eight
 * bytes per step, which is what keeps checksumming a 4 KiB entry well below the cost of
 * writing it (see docs/storage.md). No dependency: a few dozen lines we can test against
 * the bitwise definition.
 */

const POLY = 0x82f63b78;

/** Eight tables of 256 entries in one array: table k starts at k * 256. */
const TABLES = buildTables();

function buildTables(): Int32Array {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n] as number;
    for (let k = 1; k < 8; k++) {
      c = (t[c & 0xff] as number) ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
}

/**
 * The CRC32C of `bytes[start, end)`, continuing from `previous` (the CRC of the bytes
 * before them, 0 to start), as an unsigned 32-bit integer. So
 * `crc32c(b, n, b.length, crc32c(b, 0, n))` equals `crc32c(b)`.
 * @example
 * ```ts
 * crc32c(new TextEncoder().encode('123456789')); // 0xe3069283
 * ```
 */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length, previous = 0): number {
  const t = TABLES;
  let c = ~previous;
  let i = start;
  // Invariant: i advances by 8 each step, so the loop runs (end - start) / 8 times.
  while (i + 8 <= end) {
    const a = c ^ ((bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24));
    c =
      (t[1792 + (a & 0xff)] as number) ^
      (t[1536 + ((a >>> 8) & 0xff)] as number) ^
      (t[1280 + ((a >>> 16) & 0xff)] as number) ^
      (t[1024 + (a >>> 24)] as number) ^
      (t[768 + (bytes[i + 4] as number)] as number) ^
      (t[512 + (bytes[i + 5] as number)] as number) ^
      (t[256 + (bytes[i + 6] as number)] as number) ^
      (t[bytes[i + 7] as number] as number);
    i += 8;
  }
  while (i < end) {
    c = (t[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
    i++;
  }
  return ~c >>> 0;
}
