/**
 * Child process of the corruption tests, for reads that may kill the process: LevelDB
 * (the prebuilt classic-level binary keeps its assertions) aborts on some damaged table
 * files, e.g. `ExtractUserKey: Assertion 'internal_key.size() >= 8' failed`.
 *
 * `inspect`: opens groups 1-4 (the groups the runtime knows the node hosts) and prints,
 * per group, `ok:<sha1 of what it shows>` or `corrupt:<reason>`.
 * `wipe`: wipes <group>, re-seeds it by a snapshot and reads it back: `ok` or `corrupt:<reason>`.
 * `both`: `inspect`, then `wipe` of the first group found corrupt, if any.
 * With `abort`, the LevelDB handle calls process.abort() whenever asked to read or clear
 * <group>'s records, simulating that LevelDB failure deterministically.
 * Prints `result <json>` and exits 0, unless it dies.
 * Usage: node inspect-child.mjs <location> <inspect|wipe|both> <group> [abort]
 */
import { createHash } from 'node:crypto';
import { toLogIndex, toNodeId, toTerm } from '../../raft/index.js';
import { LevelNodeStorage, StorageCorruptionError, toGroupId } from '../../storage/index.js';
import { groupIdOfKey } from '../../storage/keys.js';
import { rawDb } from './damage.js';
import { CONF, ents, hs, observe, rd } from './fixtures.js';

const [location, mode, groupArg, abortArg] = process.argv.slice(2);
if (location === undefined || groupArg === undefined || (mode !== 'inspect' && mode !== 'wipe' && mode !== 'both')) {
  process.stderr.write('usage: inspect-child.mjs <location> <inspect|wipe|both> <group> [abort]\n');
  process.exit(2);
}
let victim = toGroupId(Number(groupArg));
const db = rawDb(location);

if (abortArg === 'abort') {
  const touches = (key: unknown): boolean => key instanceof Uint8Array && key[0] === 1 && groupIdOfKey(key) === victim;
  const rangeTouches = (options: unknown): boolean => typeof options === 'object' && options !== null && touches((options as { gte?: unknown }).gte);
  const iterator = db.iterator.bind(db);
  const keys = db.keys.bind(db);
  const getMany = db.getMany.bind(db);
  const clear = db.clear.bind(db);
  db.iterator = ((options: Parameters<typeof iterator>[0]) => (rangeTouches(options) ? process.abort() : iterator(options))) as typeof db.iterator;
  db.keys = ((options: Parameters<typeof keys>[0]) => (rangeTouches(options) ? process.abort() : keys(options))) as typeof db.keys;
  db.getMany = ((ks: Uint8Array[], options: Parameters<typeof getMany>[1]) => (ks.some(touches) ? process.abort() : getMany(ks, options))) as typeof db.getMany;
  db.clear = ((options: Parameters<typeof clear>[0]) => (rangeTouches(options) ? process.abort() : clear(options))) as typeof db.clear;
}

function describe(err: unknown): string {
  return err instanceof StorageCorruptionError ? `corrupt:${err.reason}` : `error:${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
}

const node = await LevelNodeStorage.open({ location }, { db });
const result: Record<string, string> = {};
if (mode !== 'wipe') {
  for (const id of [1, 2, 3, 4].map(toGroupId)) {
    try {
      const g = await node.openGroup(id);
      await g.snapshotData();
      result[id] = `ok:${createHash('sha1').update(JSON.stringify(observe(g))).digest('hex')}`;
    } catch (err) {
      result[id] = describe(err);
    }
  }
}
const firstCorrupt = node.corruptGroups()[0];
if (mode === 'both' && firstCorrupt !== undefined) victim = firstCorrupt.groupId;
if (mode === 'wipe' || (mode === 'both' && firstCorrupt !== undefined)) {
  try {
    const g = await node.wipeGroup(victim, { term: toTerm(9), vote: toNodeId('a') });
    const snapshot = { meta: { index: toLogIndex(50), term: toTerm(9), confState: CONF }, data: new Uint8Array(3000).fill(1) };
    await g.persist(rd({ snapshot, entries: ents(51, 55, 9), hardState: hs(9, 55, 'a') }));
    result['wipe'] = JSON.stringify(g.entries(toLogIndex(51), toLogIndex(56), 1 << 20)) === JSON.stringify(ents(51, 55, 9)) ? 'ok' : 'wrong';
  } catch (err) {
    result['wipe'] = describe(err);
  }
}
result['corrupt'] = node.corruptGroups().map((c) => `${c.groupId}:${c.reason}`).join(',');
await node.close();
process.stdout.write(`result ${JSON.stringify(result)}\n`);
