/**
 * Crash testing with real processes: a child (crash-child.ts, bundled once) writes under
 * load with `fsync: batch` and is killed with SIGKILL at a random moment, during its
 * recovery or under load; the parent then reopens the database and checks that every
 * group opens without any record failing verification (so no gap, nothing after one),
 * and shows either the last state the child acknowledged as durable or a state the child
 * had already handed to LevelDB after it. The next child continues on the same database,
 * so recovery itself is crashed into too. Used by crash.test.ts (npm test) and
 * crash-soak.ts (npm run test:crash).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { LevelNodeStorage, MemoryNodeStorage, toGroupId } from '../../storage/index.js';
import { bundleScript } from './bundle.js';
import { digestGroup, parseLine } from './crash-model.js';
import { CONF } from './fixtures.js';
import { makeTempDir, removeDir } from './temp-dir.js';

export interface CrashOptions {
  readonly iterations: number;
  readonly seed: number;
  readonly groups: number;
  /** Longest run under load before the kill, ms. */
  readonly loadMsMax: number;
  readonly log?: (line: string) => void;
}

export interface CrashSummary {
  readonly iterations: number;
  readonly killedDuringStartup: number;
  /** Acknowledged writes seen across all iterations, and states verified after reopening. */
  readonly acks: number;
  readonly verified: number;
  readonly startupMsMedian: number;
  readonly elapsedMs: number;
}

interface GroupModel {
  /** The last state acknowledged durable, or null while the group may not exist yet. */
  acked: string | null;
  /** States handed to LevelDB after the last acknowledgement. */
  staged: string[];
}

function rng(seed: number): (n: number) => number {
  let x = seed | 0 || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** Digest of a freshly created (bootstrapped) group: what an unacknowledged creation leaves. */
async function freshDigest(): Promise<string> {
  const mem = await MemoryNodeStorage.open();
  const g = await mem.createGroup(toGroupId(1), { bootstrap: CONF });
  return digestGroup(g);
}

interface ChildRun {
  readonly acks: number;
  readonly sawReady: boolean;
  readonly startupMs: number | null;
}

/** Starts the child, kills it at the chosen moment, and feeds its lines to the model. */
async function runChild(script: string, location: string, seed: number, groups: number, killAtReady: number | null, killAtSpawnMs: number, models: Map<number, GroupModel>): Promise<ChildRun> {
  const child = spawn(process.execPath, [script, location, String(seed), String(groups)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const t0 = performance.now();
  let buffer = '';
  let stderr = '';
  let acks = 0;
  let readyAt: number | null = null;
  let timer: NodeJS.Timeout | null = null;
  const kill = (): void => {
    child.kill('SIGKILL');
  };
  if (killAtReady === null) timer = setTimeout(kill, killAtSpawnMs);
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 10_000) stderr += d.toString();
  });
  child.stdout.on('data', (d: Buffer) => {
    buffer += d.toString();
    let nl = buffer.indexOf('\n');
    // Bounded by the bytes received.
    while (nl >= 0) {
      const line = parseLine(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf('\n');
      if (line === null) continue;
      if (line.kind === 'ready') {
        readyAt = performance.now() - t0;
        if (killAtReady !== null) timer = setTimeout(kill, killAtReady);
        continue;
      }
      const m = models.get(line.group);
      if (m === undefined) continue;
      if (line.kind === 'start' || line.kind === 'ack') {
        if (line.kind === 'ack') acks++;
        m.acked = line.digest;
        m.staged = [];
      } else if (line.kind === 'staged') {
        m.staged.push(line.digest);
      }
    }
  });
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (c, s) => resolve({ code: c, signal: s })),
  );
  if (timer !== null) clearTimeout(timer);
  if (signal !== 'SIGKILL') throw new Error(`child exited by itself (code ${String(code)}, signal ${String(signal)}): ${stderr}`);
  return { acks, sawReady: readyAt !== null, startupMs: readyAt };
}

/** Reopens the database and checks every group against the model; returns groups verified. */
async function verify(location: string, models: Map<number, GroupModel>, fresh: string, where: string): Promise<number> {
  const node = await LevelNodeStorage.open({ location });
  try {
    if (node.openReport.droppedLogLines.length > 0) throw new Error(`${where}: LevelDB dropped log bytes: ${node.openReport.droppedLogLines.join('; ')}`);
    if (node.corruptGroups().length > 0) throw new Error(`${where}: corrupt groups ${JSON.stringify(node.corruptGroups())}`);
    const present = new Set<number>(node.groupIds());
    let verified = 0;
    for (const [id, m] of models) {
      if (!present.has(id)) {
        if (m.acked !== null) throw new Error(`${where}: group ${id} was acknowledged but is gone`);
        continue;
      }
      const g = await node.openGroup(toGroupId(id));
      await g.snapshotData(); // reads and verifies every snapshot chunk
      const d = digestGroup(g);
      const candidates = m.acked === null ? [fresh, ...m.staged] : [m.acked, ...m.staged];
      if (!candidates.includes(d)) {
        throw new Error(
          `${where}: group ${id} reopened as ${d}, not the acknowledged state ${String(m.acked)} or one of ${m.staged.length} later staged states (last index ${g.lastIndex()}, commit ${g.initialState().hardState.commit})`,
        );
      }
      m.acked = d;
      m.staged = [];
      verified++;
    }
    return verified;
  } finally {
    await node.close();
  }
}

export async function runCrashIterations(opts: CrashOptions): Promise<CrashSummary> {
  const t0 = performance.now();
  const dir = await makeTempDir('crash');
  try {
    const script = await bundleScript(fileURLToPath(new URL('./crash-child.ts', import.meta.url)), dir);
    const location = join(dir, 'db');
    const fresh = await freshDigest();
    const models = new Map<number, GroupModel>();
    for (let g = 1; g <= opts.groups; g++) models.set(g, { acked: null, staged: [] });
    const rand = rng(opts.seed);
    let acks = 0;
    let verified = 0;
    let killedDuringStartup = 0;
    const startups: number[] = [];
    for (let i = 0; i < opts.iterations; i++) {
      // One in five kills lands during startup and recovery; the rest under load.
      const duringStartup = rand(5) === 0;
      const where = `seed ${opts.seed}, iteration ${i}`;
      const run = await runChild(script, location, opts.seed * 100_003 + i, opts.groups, duringStartup ? null : 5 + rand(opts.loadMsMax), rand(150), models);
      if (!run.sawReady) killedDuringStartup++;
      if (run.startupMs !== null) startups.push(run.startupMs);
      acks += run.acks;
      verified += await verify(location, models, fresh, where);
      opts.log?.(`${where}: ${run.sawReady ? `killed under load after ${run.acks} acks` : 'killed during startup'}; reopened and verified`);
    }
    startups.sort((a, b) => a - b);
    return {
      iterations: opts.iterations,
      killedDuringStartup,
      acks,
      verified,
      startupMsMedian: startups[Math.floor(startups.length / 2)] ?? 0,
      elapsedMs: performance.now() - t0,
    };
  } finally {
    await removeDir(dir);
  }
}
