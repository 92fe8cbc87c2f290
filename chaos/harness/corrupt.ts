/**
 * Damages a stopped replica's data on disk: flips one payload byte in the newest log
 * entries of one group, through LevelDB's own API (so LevelDB's checksums still pass and
 * only the project's per-record CRC32C can catch it; storage/records.ts). The node must
 * be stopped: LevelDB holds a lock while it runs.
 */
import { ClassicLevel } from 'classic-level';
import { join } from 'node:path';

/** Key prefix of one group's log entries: [0x01][group u32][0x05] (storage/keys.ts). */
function entryPrefix(groupId: number): Buffer {
  const b = Buffer.alloc(6);
  b[0] = 0x01;
  b.writeUInt32BE(groupId, 1);
  b[5] = 0x05;
  return b;
}

/** Records' header bytes (storage/records.ts): the flip lands in the payload after it. */
const RECORD_HEADER_BYTES = 24;

/**
 * Flips a byte in the payload of the newest `count` log entries of `groupId` in the node
 * data directory `dataDir`; returns how many entries were damaged (0 when the group has none).
 */
export async function corruptNewestEntries(dataDir: string, groupId: number, count: number): Promise<number> {
  const db = new ClassicLevel<Buffer, Buffer>(join(dataDir, 'raft'), { keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: false });
  await db.open();
  try {
    const prefix = entryPrefix(groupId);
    const end = Buffer.from(prefix);
    end[5] = 0x06;
    const damaged: [Buffer, Buffer][] = [];
    for await (const [key, value] of db.iterator({ gte: prefix, lt: end, reverse: true, limit: count })) {
      if (value.length <= RECORD_HEADER_BYTES) continue;
      const v = Buffer.from(value);
      const at = RECORD_HEADER_BYTES + Math.floor((v.length - RECORD_HEADER_BYTES) / 2);
      v[at] = (v[at] as number) ^ 0x5a;
      damaged.push([key, v]);
    }
    await db.batch(damaged.map(([key, value]) => ({ type: 'put' as const, key, value })), { sync: true });
    return damaged.length;
  } finally {
    await db.close();
  }
}
