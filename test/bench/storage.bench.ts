/**
 * `npm run bench:storage [-- --json] [-- --seconds N] [-- --rounds N] [-- --only throughput|recovery]
 *  [-- --keys N] [-- --entries N] [-- --with-off]`
 *
 * Throughput: entries/s and fsyncs/s of LevelNodeStorage with 1, 8 and 64 groups
 * appending at once under `fsync: batch`, each group a loop of `persist` of one 4 KiB
 * entry (a msgpackr batch of 100 mutations, what a leader proposes per flush) with its
 * hard state, awaiting each before the next (one Ready in flight per group, as Raft
 * does). The baseline is the same 64 groups under `fsync: always`, where every write is
 * its own fsynced batch: "each group fsyncs alone". Target: batch ≥ 10× that baseline.
 * Beside them, the floor: classic-level alone writing the same bytes, in the same rounds.
 *
 * Recovery: a group with a checkpoint of 1M real key states (src/engine's StateStore,
 * GCRA) and 100k log entries of 100 mutations after it. Measured: open and verify the
 * group, load the checkpoint into a fresh StateStore, replay the log into it. Also shown:
 * constructing the Raft core over the recovered storage (it scans the log for
 * configuration entries).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { Packr } from 'msgpackr';
import { createRaftNode, createSeededPrng, toLogIndex, toNodeId, toTerm } from '../../raft/index.js';
import type { Entry, LogIndex } from '../../raft/index.js';
import { StateStore } from '../../src/engine/store.js';
import type { GcraState } from '../../src/engine/gcra.js';
import { LevelNodeStorage, toGroupId } from '../../storage/index.js';
import type { FsyncMode, GroupStorage } from '../../storage/index.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
function numArg(name: string, fallback: number): number {
  const k = args.indexOf(`--${name}`);
  if (k < 0) return fallback;
  const v = Number(args[k + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`--${name} must be a positive number (got ${String(args[k + 1])})`);
  return v;
}
const only = (() => {
  const k = args.indexOf('--only');
  return k < 0 ? null : args[k + 1];
})();
const SECONDS = numArg('seconds', 2);
const ROUNDS = numArg('rounds', 3);
const KEYS = numArg('keys', 1_000_000);
const ENTRIES = numArg('entries', 100_000);
const MUTATIONS_PER_ENTRY = 100;
const T0_MS = 1_700_000_000_000;
const CONF = { voters: [toNodeId('a'), toNodeId('b'), toNodeId('c')], learners: [] };

/** One codec instance, as a node keeps one: msgpackr's fast path needs a warm instance. */
const packr = new Packr({ useRecords: false });
const pack = (value: unknown): Uint8Array => packr.pack(value);
const unpack = (bytes: Uint8Array): unknown => packr.unpack(bytes);

const log = (line: string): void => {
  if (!json) console.log(line);
};

/** xorshift32: reproducible key choices without Math.random. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** One mutation as the state machine logs it: key, rule version, new GCRA state, expiry. */
type Mutation = [key: string, ruleVersion: number, tatMs: number, tatFrac: number, expiresAtMs: number];

function mutationBatch(next: () => number, keyCount: number, nowMs: number): Uint8Array {
  const batch: Mutation[] = [];
  for (let m = 0; m < MUTATIONS_PER_ENTRY; m++) {
    const tat = nowMs + (next() % 2000);
    batch.push([`user:${next() % keyCount}`, 3, tat, next() % 100, tat + 2000]);
  }
  return pack({ nowMs, mutations: batch });
}

async function tempDir(tag: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `rl-bench-storage-${tag}-`));
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

// ---------------------------------------------------------------------------------------
// Throughput
// ---------------------------------------------------------------------------------------

interface ThroughputResult {
  readonly fsync: FsyncMode;
  readonly groups: number;
  readonly entriesPerSec: number;
  readonly fsyncsPerSec: number;
  readonly entriesPerBatch: number;
  readonly latencyMsP50: number;
  readonly latencyMsP99: number;
  readonly entryBytes: number;
}

async function throughput(fsync: FsyncMode, groupCount: number, seconds: number): Promise<ThroughputResult> {
  const dir = await tempDir('tp');
  const node = await LevelNodeStorage.open({ location: join(dir, 'db'), fsync });
  try {
    const groups: GroupStorage[] = [];
    for (let g = 1; g <= groupCount; g++) groups.push(await node.createGroup(toGroupId(g), { bootstrap: null }));
    const next = rng(groupCount * 31 + 7);
    // 256 distinct payloads, rotated: building one costs more than persisting it.
    const payloads = Array.from({ length: 256 }, (_, k) => mutationBatch(next, 1_000_000, T0_MS + k));
    const entryBytes = payloads.reduce((n, p) => n + p.byteLength, 0) / payloads.length;
    const before = node.stats();
    const latencies: number[] = [];
    let entries = 0;
    let running = true;
    const deadline = performance.now() + seconds * 1000;
    const loops = groups.map(async (g, k) => {
      let index = 1;
      // Bounded by the deadline.
      while (running) {
        const e: Entry = { index: toLogIndex(index), term: toTerm(1), type: 'normal', data: payloads[(index + k) & 255] as Uint8Array };
        const t = performance.now();
        await g.persist({ snapshot: null, entries: [e], hardState: { term: toTerm(1), vote: null, commit: toLogIndex(index - 1) }, mustSync: true });
        const done = performance.now();
        if (latencies.length < 1_000_000) latencies.push(done - t);
        entries++;
        index++;
        if (done >= deadline) running = false;
      }
    });
    const start = performance.now();
    await Promise.all(loops);
    const elapsed = (performance.now() - start) / 1000;
    const after = node.stats();
    latencies.sort((a, b) => a - b);
    const fsyncs = after.syncedBatches - before.syncedBatches;
    return {
      fsync,
      groups: groupCount,
      entriesPerSec: entries / elapsed,
      fsyncsPerSec: fsyncs / elapsed,
      entriesPerBatch: entries / Math.max(1, after.batches - before.batches),
      latencyMsP50: percentile(latencies, 0.5),
      latencyMsP99: percentile(latencies, 0.99),
      entryBytes,
    };
  } finally {
    await node.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The floor, measured beside the cases: classic-level alone (no records, checksums or
 * bookkeeping), writing the same values as sync batches of `perBatch` entries (each with
 * a ~70-byte second value, like our group state record), one batch at a time.
 */
async function rawLevel(perBatch: number, seconds: number, entryBytes: number): Promise<number> {
  const dir = await tempDir('raw');
  const db = new ClassicLevel<Uint8Array, Uint8Array>(join(dir, 'db'), { keyEncoding: 'view', valueEncoding: 'view', writeBufferSize: 64 * 1024 * 1024 });
  await db.open();
  try {
    const value = new Uint8Array(Math.round(entryBytes)).fill(7);
    const small = new Uint8Array(70).fill(3);
    let n = 0;
    const start = performance.now();
    // Bounded by the deadline.
    while (performance.now() - start < seconds * 1000) {
      const b = db.batch();
      for (let g = 0; g < perBatch; g++) {
        const key = new Uint8Array(14);
        new DataView(key.buffer).setUint32(1, g);
        new DataView(key.buffer).setUint32(10, n);
        b.put(key, value);
        b.put(key.subarray(0, 6), small);
      }
      await b.write({ sync: true });
      n++;
    }
    return (n * perBatch) / ((performance.now() - start) / 1000);
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------
// Recovery
// ---------------------------------------------------------------------------------------

/** Keys per checkpoint frame: 10k keys is ~0.5 MiB of msgpackr, a few ms to encode or decode. */
const KEYS_PER_FRAME = 10_000;

interface RecoveryResult {
  readonly keys: number;
  readonly entries: number;
  readonly checkpointBytes: number;
  readonly logBytes: number;
  readonly buildSeconds: number;
  readonly openSeconds: number;
  readonly checkpointSeconds: number;
  readonly replaySeconds: number;
  readonly recoverySeconds: number;
  readonly raftCoreSeconds: number;
  readonly keysAfter: number;
}

function putMutation(store: StateStore, m: Mutation): void {
  store.put(m[0], 'search', 'gcra', 'gcra', { tatMs: m[2], tatFrac: m[3] } satisfies GcraState, m[4]);
}

/** Writes one frame: u32 length, then the bytes. */
function frame(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + bytes.byteLength);
  new DataView(out.buffer).setUint32(0, bytes.byteLength);
  out.set(bytes, 4);
  return out;
}

async function recovery(keyCount: number, entryCount: number): Promise<RecoveryResult> {
  const dir = await tempDir('rec');
  const location = join(dir, 'db');
  const G = toGroupId(1);
  try {
    const tb = performance.now();
    // 1. A group: entry 1, a checkpoint at 1 of `keyCount` GCRA states, then the log.
    let store: StateStore | null = new StateStore({ slotsMax: keyCount * 2 });
    const next = rng(12345);
    for (let k = 0; k < keyCount; k++) {
      const tat = T0_MS + (next() % 60_000);
      store.put(`user:${k}`, 'search', 'gcra', 'gcra', { tatMs: tat, tatFrac: next() % 100 } satisfies GcraState, tat + 2000);
    }
    let node = await LevelNodeStorage.open({ location, fsync: 'batch' });
    const g = await node.createGroup(G, { bootstrap: null });
    await g.persist({ snapshot: null, entries: [{ index: toLogIndex(1), term: toTerm(1), type: 'normal', data: new Uint8Array(0) }], hardState: { term: toTerm(1), vote: null, commit: toLogIndex(1) }, mustSync: true });
    const writer = g.beginSnapshot(toLogIndex(1), CONF);
    let checkpointBytes = 0;
    // Columnar frames: the keys as strings, their numbers in one Float64Array (3 per key).
    let keys: string[] = [];
    let nums = new Float64Array(KEYS_PER_FRAME * 3);
    const flush = async (): Promise<void> => {
      const f = frame(pack({ resource: 'search', shape: 'gcra', keys, nums: new Uint8Array(nums.buffer, 0, keys.length * 24) }));
      checkpointBytes += f.byteLength;
      await writer.write(f);
      keys = [];
      nums = new Float64Array(KEYS_PER_FRAME * 3);
    };
    for (const s of store.entries()) {
      const st = s.state as GcraState;
      const k = keys.length * 3;
      nums[k] = st.tatMs;
      nums[k + 1] = st.tatFrac;
      nums[k + 2] = s.expiresAtMs;
      keys.push(s.key);
      if (keys.length === KEYS_PER_FRAME) await flush();
    }
    if (keys.length > 0) await flush();
    const committed = await writer.commit();
    if (committed.type !== 'committed') throw new Error('checkpoint superseded');
    store = null;
    let logBytes = 0;
    // 500 entries per persist: the bench fills the log fast; the entries are what matters.
    for (let i = 2; i <= entryCount + 1; i += 500) {
      const batch: Entry[] = [];
      for (let k = i; k < Math.min(i + 500, entryCount + 2); k++) {
        const data = mutationBatch(next, keyCount, T0_MS + 60_000 + k);
        logBytes += data.byteLength;
        batch.push({ index: toLogIndex(k), term: toTerm(1), type: 'normal', data });
      }
      const last = (batch[batch.length - 1] as Entry).index;
      await g.persist({ snapshot: null, entries: batch, hardState: { term: toTerm(1), vote: null, commit: last }, mustSync: true });
    }
    await node.close();
    const buildSeconds = (performance.now() - tb) / 1000;

    // 2. Recover: open and verify, load the checkpoint, replay the log after it.
    const t0 = performance.now();
    node = await LevelNodeStorage.open({ location, fsync: 'batch' });
    const r = await node.openGroup(G);
    const t1 = performance.now();
    const restored = new StateStore({ slotsMax: keyCount * 2 });
    let pending = new Uint8Array(0);
    for await (const piece of r.readSnapshot()) {
      const buf = new Uint8Array(pending.byteLength + piece.byteLength);
      buf.set(pending);
      buf.set(piece, pending.byteLength);
      let o = 0;
      const view = new DataView(buf.buffer);
      // Bounded by the bytes in buf: each frame consumes at least 4.
      while (o + 4 <= buf.byteLength) {
        const n = view.getUint32(o);
        if (o + 4 + n > buf.byteLength) break;
        const f = unpack(buf.subarray(o + 4, o + 4 + n)) as { resource: string; shape: string; keys: string[]; nums: Uint8Array };
        const nums = new Float64Array(f.nums.slice().buffer);
        for (let k = 0; k < f.keys.length; k++) {
          restored.put(f.keys[k] as string, f.resource, f.shape, 'gcra', { tatMs: nums[k * 3] as number, tatFrac: nums[k * 3 + 1] as number } satisfies GcraState, nums[k * 3 + 2] as number);
        }
        o += 4 + n;
      }
      pending = buf.subarray(o);
    }
    const t2 = performance.now();
    const commit = r.initialState().hardState.commit;
    let lo = r.snapshot().index + 1;
    // Bounded by the log: each page advances lo by at least one entry.
    while (lo <= commit) {
      const page = await r.readEntries(lo as LogIndex, (commit + 1) as LogIndex, 16 * 1024 * 1024);
      for (const e of page) {
        const { mutations } = unpack(e.data) as { mutations: Mutation[] };
        for (const m of mutations) putMutation(restored, m);
      }
      lo += page.length;
    }
    const t3 = performance.now();
    // The Raft core over the recovered storage, applied up to the commit index.
    createRaftNode({ id: toNodeId('a'), appliedIndex: commit }, { storage: r, prng: createSeededPrng(1) });
    const t4 = performance.now();
    await node.close();
    return {
      keys: keyCount,
      entries: entryCount,
      checkpointBytes,
      logBytes,
      buildSeconds,
      openSeconds: (t1 - t0) / 1000,
      checkpointSeconds: (t2 - t1) / 1000,
      replaySeconds: (t3 - t2) / 1000,
      recoverySeconds: (t3 - t0) / 1000,
      raftCoreSeconds: (t4 - t3) / 1000,
      keysAfter: restored.keyCount,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------

const out: {
  throughput?: ThroughputResult[];
  ratio64?: number;
  targetMet?: boolean;
  rawLevel?: { syncBatch64EntriesPerSec: number; syncSingleEntriesPerSec: number; ratio: number };
  recovery?: RecoveryResult;
} = {};
if (only === null || only === 'throughput') {
  log(
    `storage throughput: median of ${ROUNDS} rounds of ${SECONDS} s per case, cases interleaved round by round (the disk's speed drifts); one ~3.3 KiB entry (${MUTATIONS_PER_ENTRY} mutations) per persist, one persist in flight per group`,
  );
  const cases: (readonly [FsyncMode, number])[] = [
    ['batch', 1],
    ['batch', 8],
    ['batch', 64],
    ['always', 1],
    ['always', 64],
  ];
  if (args.includes('--with-off')) cases.push(['off', 64]);
  const runs = new Map<string, ThroughputResult[]>();
  const raw64: number[] = [];
  const raw1: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const [mode, groups] of cases) {
      const r = await throughput(mode, groups, SECONDS);
      const key = `${mode}/${groups}`;
      runs.set(key, [...(runs.get(key) ?? []), r]);
    }
    raw64.push(await rawLevel(64, SECONDS, 3353));
    raw1.push(await rawLevel(1, SECONDS, 3353));
  }
  const median = (rs: readonly ThroughputResult[]): ThroughputResult => [...rs].sort((a, b) => a.entriesPerSec - b.entriesPerSec)[Math.floor(rs.length / 2)] as ThroughputResult;
  log('| fsync | groups | entries/s | fsyncs/s | entries/batch | persist p50 ms | persist p99 ms | entries/s of each round |');
  log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  const results: ThroughputResult[] = [];
  for (const [mode, groups] of cases) {
    const rs = runs.get(`${mode}/${groups}`) ?? [];
    const r = median(rs);
    results.push(r);
    log(
      `| ${r.fsync} | ${r.groups} | ${Math.round(r.entriesPerSec)} | ${Math.round(r.fsyncsPerSec)} | ${r.entriesPerBatch.toFixed(1)} | ${r.latencyMsP50.toFixed(2)} | ${r.latencyMsP99.toFixed(2)} | ${rs.map((x) => Math.round(x.entriesPerSec)).join(', ')} |`,
    );
  }
  const batch64 = results.find((r) => r.fsync === 'batch' && r.groups === 64) as ThroughputResult;
  const always64 = results.find((r) => r.fsync === 'always' && r.groups === 64) as ThroughputResult;
  out.throughput = results;
  out.ratio64 = batch64.entriesPerSec / always64.entriesPerSec;
  out.targetMet = out.ratio64 >= 10;
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  out.rawLevel = { syncBatch64EntriesPerSec: med(raw64), syncSingleEntriesPerSec: med(raw1), ratio: med(raw64) / med(raw1) };
  log(`64 groups, group commit vs each fsyncing alone: ${out.ratio64.toFixed(1)}× (target ≥ 10×: ${out.targetMet ? 'met' : 'NOT met'}); entry ${Math.round(batch64.entryBytes)} bytes`);
  log(
    `floor, classic-level alone with the same values, same rounds: sync batches of 64 entries ${Math.round(out.rawLevel.syncBatch64EntriesPerSec)} entries/s (${raw64.map(Math.round).join(', ')}), single sync writes ${Math.round(out.rawLevel.syncSingleEntriesPerSec)}/s (${raw1.map(Math.round).join(', ')}): ${out.rawLevel.ratio.toFixed(1)}×`,
  );
}
if (only === null || only === 'recovery') {
  log(`recovery: ${KEYS} keys in a checkpoint, ${ENTRIES} log entries of ${MUTATIONS_PER_ENTRY} mutations after it (building takes a while)`);
  const r = await recovery(KEYS, ENTRIES);
  out.recovery = r;
  log(
    `recovered ${r.keysAfter} keys in ${r.recoverySeconds.toFixed(2)} s: open+verify ${r.openSeconds.toFixed(2)} s, checkpoint ${r.checkpointSeconds.toFixed(2)} s (${(r.checkpointBytes / 2 ** 20).toFixed(0)} MiB), replay ${r.replaySeconds.toFixed(2)} s (${(r.logBytes / 2 ** 20).toFixed(0)} MiB of log); Raft core construction ${r.raftCoreSeconds.toFixed(2)} s; build ${r.buildSeconds.toFixed(1)} s`,
  );
}
if (json) console.log(JSON.stringify(out));
