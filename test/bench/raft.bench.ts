/**
 * `npm run bench:raft [-- --json] [-- --seconds S] [-- --payload BYTES] [-- --window N]`:
 * committed entries per second of a 3-node Raft group in one process, on one core:
 * in-memory storage (`MemoryStorage`), messages passed as objects (no serialization), the
 * leader keeping up to `window` proposals uncommitted (pipelining) and each node carrying
 * out its Ready batches in turn, exactly as the ordering rule in raft/types.ts says.
 * Prints the setup and the result; with `--json` the last line is one JSON object.
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { MemoryStorage, createRaftNode, createSeededPrng, toNodeId } from '../../raft/index.js';
import type { Message, RaftNode } from '../../raft/index.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
function numArg(name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`bench:raft: '${name}' must be a positive number (got ${String(args[i + 1])})`);
  return v;
}
const SECONDS = numArg('--seconds', 3);
const PAYLOAD_BYTES = numArg('--payload', 128);
const WINDOW = numArg('--window', 4096);
const PROPOSALS_PER_TURN = numArg('--batch', 256);
/** One tick per this many turns: heartbeats keep flowing but stay off the hot path, as in a real node. */
const TURNS_PER_TICK = 200;
/** Each node snapshots and compacts every this many applied entries, so memory stays bounded as in production. */
const COMPACT_EVERY_ENTRIES = 100_000;

interface Member {
  readonly node: RaftNode;
  readonly storage: MemoryStorage;
  applied: number;
  compactedAt: number;
}

function buildCluster(): Member[] {
  const ids = ['a', 'b', 'c'].map(toNodeId);
  const conf = { voters: ids, learners: [] };
  return ids.map((id, k) => {
    const storage = MemoryStorage.bootstrap(conf);
    const node = createRaftNode({ id }, { storage, prng: createSeededPrng(k + 1) });
    return { node, storage, applied: 0, compactedAt: 0 };
  });
}

const EMPTY = new Uint8Array(0);

function maybeCompact(m: Member): void {
  if (m.applied - m.compactedAt < COMPACT_EVERY_ENTRIES) return;
  const st = m.node.status();
  m.storage.createSnapshot(st.applied, st.confStateApplied, EMPTY);
  m.storage.compact(st.applied);
  m.compactedAt = m.applied;
}

interface RunResult {
  readonly committed: number;
  readonly elapsedMs: number;
  readonly turns: number;
  readonly messages: number;
  readonly appends: number;
  readonly appendedEntries: number;
}

function run(seconds: number): RunResult {
  const members = buildCluster();
  const byId = new Map(members.map((m) => [m.node.id, m]));
  const leader = members[0] as Member;
  const payload = new Uint8Array(PAYLOAD_BYTES).fill(7);
  let queue: Message[] = [];
  let messages = 0;
  let appends = 0;
  let appendedEntries = 0;

  const processAll = (): void => {
    for (const m of members) {
      if (!m.node.hasReady()) continue;
      const rd = m.node.ready();
      m.storage.persist(rd);
      for (const msg of rd.messages) queue.push(msg);
      for (const msg of rd.messagesAfterPersist) queue.push(msg);
      m.applied += rd.committedEntries.length;
      m.node.advance(rd);
      maybeCompact(m);
    }
  };
  const deliver = (): void => {
    const batch = queue;
    queue = [];
    messages += batch.length;
    for (const msg of batch) {
      if (msg.type === 'appendEntries' && msg.entries.length > 0) {
        appends++;
        appendedEntries += msg.entries.length;
      }
      (byId.get(msg.to) as Member).node.step(msg);
    }
  };

  leader.node.campaign();
  for (let i = 0; i < 20 && leader.node.status().role !== 'leader'; i++) {
    processAll();
    deliver();
  }
  if (leader.node.status().role !== 'leader') throw new Error('bench:raft: no leader elected');
  processAll();
  deliver();

  let proposed = 0;
  const base = leader.applied;
  let turns = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let now = start;
  while (now < deadline) {
    for (let k = 0; k < PROPOSALS_PER_TURN && proposed - (leader.applied - base) < WINDOW; k++) {
      const r = leader.node.propose(payload);
      if (r.type !== 'accepted') throw new Error(`bench:raft: proposal ${r.type}`);
      proposed++;
    }
    processAll();
    deliver();
    turns++;
    if (turns % TURNS_PER_TICK === 0) {
      now = performance.now();
      for (const m of members) m.node.tick();
    }
  }
  const elapsedMs = performance.now() - start;
  return { committed: leader.applied - base, elapsedMs, turns, messages, appends, appendedEntries };
}

// Warm up the JIT, then measure.
run(Math.min(1, SECONDS / 3));
const r = run(SECONDS);
const perSec = Math.round((r.committed / r.elapsedMs) * 1000);
const result = {
  committed_entries_per_sec: perSec,
  committed_entries: r.committed,
  elapsed_ms: Math.round(r.elapsedMs),
  nodes: 3,
  payload_bytes: PAYLOAD_BYTES,
  window_entries: WINDOW,
  proposals_per_turn: PROPOSALS_PER_TURN,
  entries_per_append_avg: Math.round(r.appendedEntries / Math.max(1, r.appends)),
  messages_per_sec: Math.round((r.messages / r.elapsedMs) * 1000),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
};
console.log(
  `raft bench: 3 voters in one process, MemoryStorage, objects as messages, one core\n` +
    `  payload ${PAYLOAD_BYTES} B, up to ${WINDOW} uncommitted proposals, ${PROPOSALS_PER_TURN} proposals per turn, ${SECONDS} s,\n` +
    `  snapshot + compaction every ${COMPACT_EVERY_ENTRIES} entries per node, one tick per ${TURNS_PER_TICK} turns\n` +
    `  committed ${r.committed} entries in ${Math.round(r.elapsedMs)} ms: ${perSec.toLocaleString('en-US')} entries/s ` +
    `(${r.turns} turns, ${r.messages} messages, ${result.entries_per_append_avg} entries per append)`,
);
if (json) console.log(JSON.stringify(result));
