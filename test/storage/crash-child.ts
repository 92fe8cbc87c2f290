/**
 * The child of the crash tests (crash-harness.ts): opens a LevelNodeStorage with
 * `fsync: batch`, then every group runs a random workload of appends, conflicting
 * suffixes, commit-only updates, snapshots, compactions, snapshot installs and applied
 * indexes, one write at a time per group, all groups at once, until it is killed.
 *
 * Protocol on stdout (pipes are synchronous on Linux, so a line is with the parent before
 * the next statement runs):
 *   start <g> <digest>    the group's state at start
 *   ready                 every group is open (or created) and durable
 *   staged <g> <digest>   a LevelDB batch holding this state of group g is about to be written
 *   ack <g> <digest>      the write leading to this state resolved: it is durable
 * Usage: node child.mjs <location> <seed> <groups>
 */
import { toLogIndex, toNodeId, toTerm } from '../../raft/index.js';
import type { Entry, HardState } from '../../raft/index.js';
import { LevelNodeStorage, toGroupId } from '../../storage/index.js';
import type { GroupId, GroupStorage } from '../../storage/index.js';
import type { BatchOp, BatchTarget } from '../../storage/group-committer.js';
import { groupIdOfKey } from '../../storage/keys.js';
import { digestGroup } from './crash-model.js';
import { CONF } from './fixtures.js';

const [location, seedArg, groupsArg] = process.argv.slice(2);
if (location === undefined || seedArg === undefined || groupsArg === undefined) {
  process.stderr.write('usage: child.mjs <location> <seed> <groups>\n');
  process.exit(2);
}
const seed = Number(seedArg);
const groupCount = Number(groupsArg);

/** xorshift32, seeded per group: the workload replays from the seed (timing aside). */
function prng(s: number): (n: number) => number {
  let x = s | 0 || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

const groups = new Map<GroupId, GroupStorage>();
const printed = new Map<GroupId, string>();

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Before each batch reaches LevelDB: the state of every group with writes in it. */
function target(db: BatchTarget): BatchTarget {
  return {
    batch: async (ops: BatchOp[], options) => {
      const touched = new Set<GroupId>();
      for (const op of ops) if (op.key[0] === 1) touched.add(toGroupId(groupIdOfKey(op.key)));
      for (const id of touched) {
        const g = groups.get(id);
        if (g === undefined) continue;
        const d = digestGroup(g);
        if (printed.get(id) !== d) {
          printed.set(id, d);
          say(`staged ${id} ${d}`);
        }
      }
      await db.batch(ops, options);
    },
  };
}

const node = await LevelNodeStorage.open({ location, fsync: 'batch', snapshotChunkBytes: 8192, groupEntryCacheBytesMax: 16 * 1024 }, { wrapTarget: target });
const existing = new Set(node.groupIds());
for (let k = 1; k <= groupCount; k++) {
  const id = toGroupId(k);
  const g = existing.has(id) ? await node.openGroup(id) : await node.createGroup(id, { bootstrap: CONF });
  groups.set(id, g);
  const d = digestGroup(g);
  printed.set(id, d);
  say(`start ${id} ${d}`);
}
say('ready');

function payload(rand: (n: number) => number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  const fill = rand(256);
  for (let k = 0; k < size; k += 97) b[k] = (fill + k) & 0xff;
  return b;
}

/** One random write on `g`; returns its promise (the view already shows it). */
function step(g: GroupStorage, rand: (n: number) => number): Promise<unknown> {
  const hs = g.initialState().hardState;
  const first = g.firstIndex();
  const last = g.lastIndex();
  const commit = hs.commit;
  const term = Math.max(hs.term, 1);
  const r = rand(100);
  const entriesFrom = (from: number, n: number, t: number): Entry[] =>
    Array.from({ length: n }, (_, k) => ({ index: toLogIndex(from + k), term: toTerm(t), type: 'normal' as const, data: payload(rand, rand(3000)) }));
  const hard = (t: number, c: number): HardState => ({ term: toTerm(t), vote: toNodeId('a'), commit: toLogIndex(c) });
  if (r < 8 && last > commit) {
    // A new leader overwrites the uncommitted suffix.
    const from = Math.max(commit + 1, last - rand(3));
    const es = entriesFrom(from, 1 + rand(3), term + 1);
    return g.persist({ snapshot: null, entries: es, hardState: hard(term + 1, commit), mustSync: true });
  }
  if (r < 14 && commit < last) return g.persist({ snapshot: null, entries: [], hardState: hard(term, commit + 1), mustSync: false });
  if (r < 22 && commit > g.snapshot().index && commit >= first - 1) {
    return g.createSnapshot(toLogIndex(commit), CONF, payload(rand, rand(40_000)));
  }
  if (r < 28 && g.snapshot().index >= first) return g.compact(toLogIndex(g.snapshot().index - rand(Math.min(5, g.snapshot().index - first + 1))));
  if (r < 31) {
    const index = Math.max(last, commit) + 1 + rand(10);
    const snapshot = { meta: { index: toLogIndex(index), term: toTerm(term + 1), confState: CONF }, data: payload(rand, rand(30_000)) };
    return g.persist({ snapshot, entries: entriesFrom(index + 1, rand(3), term + 1), hardState: hard(term + 1, index), mustSync: true });
  }
  if (r < 36 && commit > g.appliedIndex()) return g.setAppliedIndex(toLogIndex(g.appliedIndex() + 1 + rand(commit - g.appliedIndex())));
  const n = 1 + rand(4);
  return g.persist({ snapshot: null, entries: entriesFrom(last + 1, n, term), hardState: hard(term, Math.min(last + n, commit + rand(n + 1))), mustSync: true });
}

/** Ops per group before the child stops on its own; the parent kills it long before. */
const OPS_MAX = 1_000_000;

await Promise.all(
  [...groups].map(async ([id, g]) => {
    const rand = prng(seed * 1009 + id * 7919);
    for (let k = 0; k < OPS_MAX; k++) {
      await step(g, rand);
      say(`ack ${id} ${digestGroup(g)}`);
    }
  }),
);
await node.close();
