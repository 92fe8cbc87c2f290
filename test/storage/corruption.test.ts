// Proves corruption is never served: values damaged through LevelDB's API and bytes flipped
// in its .log and .ldb files end in StorageCorruptionError naming the group (or LevelDB's
// own error, wrapped), the group is marked and stops serving, the others keep serving,
// reopening never crash-loops, and a wipe (after a LevelDB repair if needed) rebuilds it.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toLogIndex, toNodeId, toTerm } from '../../raft/index.js';
import { LevelNodeStorage, StorageCorruptionError, toGroupId } from '../../storage/index.js';
import type { GroupId, NodeStorage } from '../../storage/index.js';
import { encodeEntry } from '../../storage/records.js';
import { entryKey, snapshotChunkKey, stateKey } from '../../storage/keys.js';
import { CONF, ent, ents, hs, observe, rd } from './fixtures.js';
import { checkNoWrongData, copyDir, filesEnding, flipByte, inspect, LAST_INDEX, populate, rawDb, SNAP_GROUP, type RawDb } from './damage.js';
import { bundleScript } from './bundle.js';
import { makeTempDir, removeDir } from './temp-dir.js';

let dir = '';
let pristine = '';
let expected: Map<GroupId, unknown>;
let copies = 0;

beforeAll(async () => {
  dir = await makeTempDir('corrupt');
  pristine = join(dir, 'pristine');
  expected = await populate(pristine);
});
afterAll(async () => {
  await removeDir(dir);
});

async function freshCopy(): Promise<string> {
  const to = join(dir, `copy-${copies++}`);
  await copyDir(pristine, to);
  return to;
}

async function damage(location: string, fn: (db: RawDb) => Promise<void>): Promise<void> {
  const db = rawDb(location);
  await db.open();
  try {
    await fn(db);
  } finally {
    await db.close();
  }
}

function flipValue(value: Uint8Array | undefined, at: number): Uint8Array {
  if (value === undefined) throw new Error('no value to damage');
  const v = value.slice();
  v[at] = (v[at] as number) ^ 0x40;
  return v;
}

const G1 = toGroupId(1);
const G2 = toGroupId(2);

describe('damaged values (through the LevelDB API)', () => {
  const cases: { name: string; group: GroupId; reason: string; index: number | null; apply: (db: RawDb) => Promise<void> }[] = [
    {
      name: 'a flipped bit in an entry',
      group: G2,
      reason: 'checksum',
      index: 30,
      apply: async (db) => db.put(entryKey(G2, 30), flipValue(await db.get(entryKey(G2, 30)), 200)),
    },
    {
      name: "another group's entry under this group's key",
      group: G2,
      reason: 'groupMismatch',
      index: 5,
      apply: async (db) => db.put(entryKey(G2, 5), (await db.get(entryKey(G1, 5))) as Uint8Array),
    },
    {
      name: 'an entry missing in the middle (nothing after the gap is accepted)',
      group: G1,
      reason: 'gap',
      index: 20,
      apply: (db) => db.del(entryKey(G1, 20)),
    },
    {
      name: 'the last entry missing',
      group: G1,
      reason: 'gap',
      index: LAST_INDEX,
      apply: (db) => db.del(entryKey(G1, LAST_INDEX)),
    },
    {
      name: 'a well-formed entry past the last index',
      group: G1,
      reason: 'invariant',
      index: LAST_INDEX + 1,
      apply: (db) => db.put(entryKey(G1, LAST_INDEX + 1), encodeEntry(G1, ent(LAST_INDEX + 1, 3))),
    },
    {
      name: 'an unknown format version',
      group: G1,
      reason: 'formatVersion',
      index: 7,
      apply: async (db) => {
        const v = ((await db.get(entryKey(G1, 7))) as Uint8Array).slice();
        v[0] = 9;
        await db.put(entryKey(G1, 7), v);
      },
    },
    {
      name: 'a damaged group state (hard state and log bounds)',
      group: G2,
      reason: 'checksum',
      index: null,
      apply: async (db) => db.put(stateKey(G2), flipValue(await db.get(stateKey(G2)), 30)),
    },
    {
      name: 'a missing group state record',
      group: G2,
      reason: 'gap',
      index: null,
      apply: (db) => db.del(stateKey(G2)),
    },
  ];

  for (const c of cases) {
    it(`${c.name}: typed error with group and index, group marked, others serve, no crash loop`, async () => {
      const location = await freshCopy();
      await damage(location, c.apply);
      const node = await LevelNodeStorage.open({ location });
      const seen = await inspect(node);
      const err = seen.get(c.group);
      expect(err).toBeInstanceOf(StorageCorruptionError);
      expect(err).toMatchObject({ code: 'RL_ERR_STORAGE_CORRUPT', groupId: c.group, reason: c.reason, index: c.index });
      expect(checkNoWrongData(seen, expected, false).corrupt).toEqual([c.group]);
      expect(node.corruptGroups()).toEqual([expect.objectContaining({ groupId: c.group, reason: c.reason })]);
      await node.close();
      // Restarted: still marked (not re-read), everything else still serves.
      const again = await LevelNodeStorage.open({ location });
      await expect(again.openGroup(c.group)).rejects.toMatchObject({ code: 'RL_ERR_STORAGE_CORRUPT', reason: 'marked' });
      expect(checkNoWrongData(await inspect(again), expected, false).corrupt).toEqual([c.group]);
      await again.close();
      await removeDir(location);
    });
  }

  it('a damaged snapshot chunk fails the snapshot reads (sync and async) and marks the group', async () => {
    const location = await freshCopy();
    await damage(location, async (db) => {
      const key = snapshotChunkKey(SNAP_GROUP, 1, 2);
      await db.put(key, flipValue(await db.get(key), 100));
    });
    const node = await LevelNodeStorage.open({ location, snapshotChunkBytes: 4096 });
    const g = await node.openGroup(SNAP_GROUP);
    expect(g.snapshotChunk(toLogIndex(40), 0, 8192).type).toBe('chunk'); // chunks 0 and 1 are fine
    expect(() => g.snapshotChunk(toLogIndex(40), 8192, 4096)).toThrow(StorageCorruptionError);
    expect(() => g.lastIndex()).toThrow(StorageCorruptionError);
    await node.close();
    const again = await LevelNodeStorage.open({ location });
    await expect(again.openGroup(SNAP_GROUP)).rejects.toMatchObject({ reason: 'marked', groupId: SNAP_GROUP });
    const g2 = await again.openGroup(G2);
    expect(observe(g2)).toEqual(expected.get(G2));
    await again.close();
    await removeDir(location);
  });

  it('an entry damaged while the group serves is caught when read from disk, and never returned', async () => {
    const location = await freshCopy();
    const db = rawDb(location);
    // No entry cache: every entry read goes to LevelDB.
    const node = await LevelNodeStorage.open({ location, groupEntryCacheBytesMax: 0 }, { db });
    const g = await node.openGroup(G1);
    expect(g.entries(toLogIndex(10), toLogIndex(12), 1 << 20).map((e) => e.index)).toEqual([10, 11]);
    await db.put(entryKey(G1, 11), flipValue(await db.get(entryKey(G1, 11)), 100));
    const err = (() => {
      try {
        g.entries(toLogIndex(10), toLogIndex(12), 1 << 20);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toMatchObject({ code: 'RL_ERR_STORAGE_CORRUPT', groupId: G1, index: 11, reason: 'checksum' });
    expect(() => g.term(toLogIndex(3))).toThrow(StorageCorruptionError);
    const g2 = await node.openGroup(G2);
    await expect(g2.readEntries(toLogIndex(2), toLogIndex(61), 1 << 30)).resolves.toHaveLength(59);
    await db.put(entryKey(G2, 33), flipValue(await db.get(entryKey(G2, 33)), 100));
    await expect(g2.readEntries(toLogIndex(2), toLogIndex(61), 1 << 30)).rejects.toMatchObject({ groupId: G2, index: 33, reason: 'checksum' });
    await new Promise((resolve) => setImmediate(resolve));
    await node.close();
    const again = await LevelNodeStorage.open({ location });
    expect(again.corruptGroups().map((c) => c.groupId)).toEqual([G1, G2]);
    await again.close();
    await removeDir(location);
  });
});

describe('damaged files', () => {
  /** Opens, inspects every group, reopens: returns what was corrupt; throws on wrong data or a failed open. */
  async function openAndCheck(location: string): Promise<{ corrupt: GroupId[]; report: LevelNodeStorage['openReport'] }> {
    const node = await LevelNodeStorage.open({ location });
    const report = node.openReport;
    const { corrupt } = checkNoWrongData(await inspect(node), expected, report.listingError !== null);
    await node.close();
    const again = await LevelNodeStorage.open({ location });
    const still = checkNoWrongData(await inspect(again), expected, again.openReport.listingError !== null);
    expect(still.corrupt).toEqual(corrupt);
    await again.close();
    return { corrupt, report };
  }

  it('bytes flipped in the write-ahead .log: LevelDB drops records, every group is marked, nothing wrong is served', async () => {
    const size = (await stat((await filesEnding(pristine, '.log'))[0] as string)).size;
    const positions = [0.05, 0.3, 0.55, 0.8, 0.97].map((f) => Math.floor(size * f));
    for (const pos of positions) {
      const location = await freshCopy();
      await flipByte((await filesEnding(location, '.log'))[0] as string, pos);
      const { corrupt, report } = await openAndCheck(location);
      expect(report.droppedLogLines.length, `flip at ${pos}`).toBeGreaterThan(0);
      expect(corrupt, `flip at ${pos}`).toEqual([1, 2, 3, 4]);
      await removeDir(location);
    }
  });

  it('bytes flipped in an .ldb table: each group reads exactly as written or fails typed; no crash loop; wipe rebuilds or refuses typed', async () => {
    // Reopening once moves the log into a table file. The reads run in a child process:
    // LevelDB aborts the process on some damaged tables (see inspect-child.ts).
    const tables = join(dir, 'tables');
    await copyDir(pristine, tables);
    await (await LevelNodeStorage.open({ location: tables })).close();
    const script = await inspectScript();
    const want = new Map([...expected].map(([g, v]) => [String(g), `ok:${createHash('sha1').update(JSON.stringify(v)).digest('hex')}`]));
    const file = (await filesEnding(tables, '.ldb'))[0] as string;
    const size = (await stat(file)).size;
    const seenCorrupt = new Set<string>();
    for (let k = 0; k < 8; k++) {
      const pos = Math.floor((size * (k + 0.5)) / 8);
      const location = join(dir, `ldb-${k}`);
      await copyDir(tables, location);
      await flipByte((await filesEnding(location, '.ldb'))[0] as string, pos);
      const { result } = await untilDone(script, location, 'both', 1, false);
      for (const [g, outcome] of Object.entries(result)) {
        if (g === 'corrupt' || g === 'wipe') continue;
        if (outcome.startsWith('corrupt:')) seenCorrupt.add(g);
        else expect(outcome, `group ${g}, flip at ${pos}: wrong data served`).toBe(want.get(g));
      }
      if (result['corrupt'] !== '') expect(['ok', 'corrupt:level'], `wipe after flip at ${pos}`).toContain(result['wipe']);
      await removeDir(location);
    }
    // The flips land in every group's data somewhere.
    expect([...seenCorrupt].sort()).toEqual(['1', '2', '3', '4']);
  });
});

describe('LevelDB aborting the process on damaged files', () => {
  it('does not crash-loop: after two deaths per operation the group is marked and its wipe refused, typed', async () => {
    const location = await freshCopy();
    const script = await inspectScript();
    // Two deaths listing groups, two reading group 3; then the node serves the other groups.
    const inspected = await untilDone(script, location, 'inspect', SNAP_GROUP, true);
    expect(inspected.deaths).toBe(4);
    expect(Object.fromEntries(Object.entries(inspected.result).map(([g, o]) => [g, o.split(':')[0]]))).toEqual({ 1: 'ok', 2: 'ok', 3: 'corrupt', 4: 'ok', corrupt: '3' });
    expect(inspected.result['corrupt']).toBe('3:level');
    // Wiping needs LevelDB to read the range too: two deaths, then a typed refusal.
    const wiped = await untilDone(script, location, 'wipe', SNAP_GROUP, true);
    expect(wiped.deaths).toBe(2);
    expect(wiped.result).toEqual({ wipe: 'corrupt:level', corrupt: '3:level' });
    // The documented next step, once LevelDB reads its files again (here: no abort), works.
    await rebuild(location, SNAP_GROUP);
    await removeDir(location);
  });
});

let bundled: Promise<string> | null = null;
function inspectScript(): Promise<string> {
  bundled ??= bundleScript(fileURLToPath(new URL('./inspect-child.ts', import.meta.url)), dir);
  return bundled;
}

/** Runs the inspect child once: its exit signal and printed result. */
async function runChild(script: string, location: string, mode: 'inspect' | 'wipe' | 'both', group: number, abort: boolean): Promise<{ signal: string | null; result: Record<string, string> | null }> {
  const child = spawn(process.execPath, [script, location, mode, String(group), ...(abort ? ['abort'] : [])], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const signal = await new Promise<string | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
  const line = out.split('\n').find((l) => l.startsWith('result '));
  return { signal, result: line === undefined ? null : (JSON.parse(line.slice(7)) as Record<string, string>) };
}

/** Restarts the child until it finishes; 6 deaths in a row count as a crash loop. */
async function untilDone(script: string, location: string, mode: 'inspect' | 'wipe' | 'both', group: number, abort: boolean): Promise<{ deaths: number; result: Record<string, string> }> {
  let deaths = 0;
  for (let run = 0; run < 6; run++) {
    const r = await runChild(script, location, mode, group, abort);
    if (r.result !== null) return { deaths, result: r.result };
    expect(r.signal).toBe('SIGABRT');
    deaths++;
  }
  throw new Error(`the child died 6 times in a row (${mode} ${location}): a crash loop`);
}

/** The storage side of the documented recovery: wipe, or repair then wipe; then re-seed by a snapshot. */
async function rebuild(location: string, group: GroupId): Promise<void> {
  let node: NodeStorage = await LevelNodeStorage.open({ location });
  let wiped;
  try {
    wiped = await node.wipeGroup(group, { term: toTerm(9), vote: toNodeId('a') });
  } catch (err) {
    expect(err).toMatchObject({ code: 'RL_ERR_STORAGE_CORRUPT', groupId: group, reason: 'level' });
    await node.close();
    await LevelNodeStorage.repair(location);
    node = await LevelNodeStorage.open({ location });
    wiped = await node.wipeGroup(group, { term: toTerm(9), vote: toNodeId('a') });
  }
  const snapshot = { meta: { index: toLogIndex(50), term: toTerm(9), confState: CONF }, data: new Uint8Array(3000).fill(1) };
  await wiped.persist(rd({ snapshot, entries: ents(51, 55, 9), hardState: hs(9, 55, 'a') }));
  await node.close();
  const again = await LevelNodeStorage.open({ location });
  const g = await again.openGroup(group);
  expect(g.entries(toLogIndex(51), toLogIndex(56), 1 << 20)).toEqual(ents(51, 55, 9));
  expect(again.corruptGroups().map((c) => c.groupId)).not.toContain(group);
  await again.close();
}
