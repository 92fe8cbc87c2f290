/**
 * Defaults and validation of `RaftOptions`. Every limit has a default with the reason for
 * its number; `resolveRaftOptions` rejects unknown options and out-of-range values with a
 * message naming the option and its value, then freezes the result.
 */
import type { LogIndex, NodeId, RaftOptions } from './types.js';
import { toNodeId } from './types.js';

/** Options with every default filled in. */
export interface ResolvedRaftOptions {
  readonly id: NodeId;
  readonly electionTimeoutTicks: number;
  readonly heartbeatIntervalTicks: number;
  readonly tickIntervalMs: number;
  readonly clockDriftMsMax: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly appendBytesMax: number;
  readonly inflightMessagesMax: number;
  readonly inflightBytesMax: number;
  readonly uncommittedBytesMax: number;
  readonly committedBytesMax: number;
  readonly snapshotChunkBytes: number;
  readonly snapshotBytesMax: number;
  readonly readIndexPendingMax: number;
  readonly appliedIndex: LogIndex | null;
}

const MiB = 1024 * 1024;

export const RAFT_OPTION_DEFAULTS = Object.freeze({
  // 10 ticks of 100 ms: a 1 s election timeout, etcd's ratio to a 100 ms heartbeat.
  electionTimeoutTicks: 10,
  heartbeatIntervalTicks: 1,
  tickIntervalMs: 100,
  // 10% of the default election timeout: generous for crystal clocks (<= 200 ppm) plus
  // scheduling jitter of the tick timer.
  clockDriftMsMax: 100,
  preVote: true,
  checkQuorum: true,
  // 1 MiB per appendEntries: large enough to amortise per-message cost, small enough not
  // to stall a connection's other groups behind one frame.
  appendBytesMax: 1 * MiB,
  // 256 messages in flight per follower: with 1 MiB messages that is a deep pipeline even
  // on a 10 ms WAN round trip; the byte limit below binds first for big entries.
  inflightMessagesMax: 256,
  // 64 MiB unacknowledged per follower: bounds what a leader retransmits after a reject
  // and what queues in the transport for one slow peer.
  inflightBytesMax: 64 * MiB,
  // 64 MiB uncommitted per leader: bounds memory when followers cannot keep up; proposals
  // beyond it are dropped (typed), never queued.
  uncommittedBytesMax: 64 * MiB,
  // 16 MiB of committed entries per Ready: keeps one apply step short on the event loop.
  committedBytesMax: 16 * MiB,
  // 1 MiB snapshot chunks: same reasoning as appendBytesMax.
  snapshotChunkBytes: 1 * MiB,
  // 1 GiB assembled in memory at most: a rate-limit group's snapshot is far smaller; the
  // bound keeps a corrupt or hostile stream from exhausting memory.
  snapshotBytesMax: 1024 * MiB,
  // 4096 pending reads: one heartbeat round confirms them all, so this only caps memory
  // while a quorum is unreachable.
  readIndexPendingMax: 4096,
});

const KNOWN = new Set<string>(['id', 'appliedIndex', ...Object.keys(RAFT_OPTION_DEFAULTS)]);

/** Hints for options people are likely to spell the etcd way. */
const RENAMED: Readonly<Record<string, string>> = {
  electionTick: 'electionTimeoutTicks',
  heartbeatTick: 'heartbeatIntervalTicks',
  maxSizePerMsg: 'appendBytesMax',
  maxInflightMsgs: 'inflightMessagesMax',
  maxInflightBytes: 'inflightBytesMax',
  maxUncommittedEntriesSize: 'uncommittedBytesMax',
  maxCommittedSizePerReady: 'committedBytesMax',
  maxClockDriftMs: 'clockDriftMsMax',
  applied: 'appliedIndex',
};

function intOption(input: RaftOptions, name: keyof typeof RAFT_OPTION_DEFAULTS, min: number, max: number): number {
  const raw = (input as unknown as Record<string, unknown>)[name];
  const value = raw === undefined ? RAFT_OPTION_DEFAULTS[name] : raw;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new TypeError(`Cannot create Raft node: '${name}' must be an integer (got ${String(value)})`);
  }
  if (value < min || value > max) {
    throw new RangeError(`Cannot create Raft node: '${name}' must be in [${min}, ${max}] (got ${value})`);
  }
  return value;
}

function boolOption(input: RaftOptions, name: 'preVote' | 'checkQuorum'): boolean {
  const value = input[name] ?? RAFT_OPTION_DEFAULTS[name];
  if (typeof value !== 'boolean') throw new TypeError(`Cannot create Raft node: '${name}' must be a boolean (got ${String(value)})`);
  return value;
}

/**
 * Validates `input`, fills defaults, and freezes the result.
 * @throws TypeError / RangeError naming the option and its value.
 */
export function resolveRaftOptions(input: RaftOptions): ResolvedRaftOptions {
  if (typeof input !== 'object' || input === null) throw new TypeError(`Cannot create Raft node: options must be an object (got ${String(input)})`);
  for (const key of Object.keys(input)) {
    if (!KNOWN.has(key)) {
      const hint = RENAMED[key];
      throw new TypeError(`Cannot create Raft node: unknown option '${key}'${hint === undefined ? '' : `; did you mean '${hint}'?`}`);
    }
  }
  const id = toNodeId(input.id);
  const electionTimeoutTicks = intOption(input, 'electionTimeoutTicks', 2, 1_000_000);
  const heartbeatIntervalTicks = intOption(input, 'heartbeatIntervalTicks', 1, 1_000_000);
  if (heartbeatIntervalTicks >= electionTimeoutTicks) {
    throw new RangeError(
      `Cannot create Raft node: 'electionTimeoutTicks' must exceed 'heartbeatIntervalTicks' (got ${electionTimeoutTicks} and ${heartbeatIntervalTicks})`,
    );
  }
  const tickIntervalMs = intOption(input, 'tickIntervalMs', 1, 3_600_000);
  const clockDriftMsMax = intOption(input, 'clockDriftMsMax', 0, Number.MAX_SAFE_INTEGER);
  if (clockDriftMsMax >= electionTimeoutTicks * tickIntervalMs) {
    throw new RangeError(
      `Cannot create Raft node: 'clockDriftMsMax' must be below the election timeout in ms, electionTimeoutTicks * tickIntervalMs (got ${clockDriftMsMax} and ${electionTimeoutTicks * tickIntervalMs})`,
    );
  }
  let appliedIndex: LogIndex | null = null;
  if (input.appliedIndex !== undefined) {
    if (!Number.isSafeInteger(input.appliedIndex) || input.appliedIndex < 0) {
      throw new RangeError(`Cannot create Raft node: 'appliedIndex' must be a non-negative safe integer (got ${String(input.appliedIndex)})`);
    }
    appliedIndex = input.appliedIndex;
  }
  const GiB = 1024 * MiB;
  return Object.freeze({
    id,
    electionTimeoutTicks,
    heartbeatIntervalTicks,
    tickIntervalMs,
    clockDriftMsMax,
    preVote: boolOption(input, 'preVote'),
    checkQuorum: boolOption(input, 'checkQuorum'),
    appendBytesMax: intOption(input, 'appendBytesMax', 1, GiB),
    inflightMessagesMax: intOption(input, 'inflightMessagesMax', 1, 1_000_000),
    inflightBytesMax: intOption(input, 'inflightBytesMax', 1, 64 * GiB),
    uncommittedBytesMax: intOption(input, 'uncommittedBytesMax', 1, 64 * GiB),
    committedBytesMax: intOption(input, 'committedBytesMax', 1, 64 * GiB),
    snapshotChunkBytes: intOption(input, 'snapshotChunkBytes', 1, GiB),
    snapshotBytesMax: intOption(input, 'snapshotBytesMax', 1, 64 * GiB),
    readIndexPendingMax: intOption(input, 'readIndexPendingMax', 1, 10_000_000),
    appliedIndex,
  });
}
