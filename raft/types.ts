/**
 * The public types of the Raft core: identifiers, log entries, messages, the durable
 * state, the storage read interface the core needs, the `Ready` batch of work the core
 * hands to its shell, and the `RaftNode` interface itself.
 *
 * This file is the contract between `raft/` and everything built on it (the simulator in
 * `chaos/sim/`, `storage/`, `cluster/`). Changes after publication are additive only.
 *
 * Semantics in one paragraph: the core is a pure, deterministic state machine. Its inputs
 * are `tick()`, `step(message)`, `propose(data)`, `proposeConfChange(change)`,
 * `transferLeadership(to)`, `readIndex(ctx)` and `setTimeMs(nowMs)`; its output is a
 * `Ready` (what to persist, what to send, what to apply), acknowledged with
 * `advance(ready)`. Randomness comes from the injected `Prng`; the core reads no clock.
 */

// ---------------------------------------------------------------------------------------
// Identifiers and log positions (branded; made only by the constructors below)
// ---------------------------------------------------------------------------------------

declare const nodeIdBrand: unique symbol;
declare const termBrand: unique symbol;
declare const logIndexBrand: unique symbol;

/** A Raft peer's identity within one group: a non-empty string of at most 256 UTF-16 units. */
export type NodeId = string & { readonly [nodeIdBrand]: true };
/** A Raft term: a non-negative safe integer. 0 means "before any election". */
export type Term = number & { readonly [termBrand]: true };
/** A position in the Raft log: a non-negative safe integer. 0 means "before the first entry". */
export type LogIndex = number & { readonly [logIndexBrand]: true };

/** Longest accepted `NodeId`; bounds message and map-key sizes. */
export const NODE_ID_LENGTH_MAX = 256;

/**
 * The one constructor of `NodeId`.
 * @throws TypeError when `value` is not a non-empty string of at most 256 characters.
 * @example
 * ```ts
 * const id = toNodeId('n1');
 * ```
 */
export function toNodeId(value: string): NodeId {
  if (typeof value !== 'string' || value.length === 0 || value.length > NODE_ID_LENGTH_MAX) {
    throw new TypeError(
      `Invalid NodeId: must be a non-empty string of at most ${NODE_ID_LENGTH_MAX} characters (got ${JSON.stringify(value)})`,
    );
  }
  return value as NodeId;
}

/**
 * The one constructor of `Term`.
 * @throws RangeError when `value` is not a non-negative safe integer.
 * @example
 * ```ts
 * const t = toTerm(3);
 * ```
 */
export function toTerm(value: number): Term {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Invalid Term: must be a non-negative safe integer (got ${String(value)})`);
  }
  return value as Term;
}

/**
 * The one constructor of `LogIndex`.
 * @throws RangeError when `value` is not a non-negative safe integer.
 * @example
 * ```ts
 * const i = toLogIndex(42);
 * ```
 */
export function toLogIndex(value: number): LogIndex {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Invalid LogIndex: must be a non-negative safe integer (got ${String(value)})`);
  }
  return value as LogIndex;
}

// ---------------------------------------------------------------------------------------
// Log entries, configuration, snapshots, durable state
// ---------------------------------------------------------------------------------------

/**
 * `normal`: application data (an empty `data` is the leader's no-op on election).
 * `confChange`: a membership change; `data` is `encodeConfChangeEntry(...)`, decode it
 * with `decodeConfChangeEntry(entry.data)`. Further types may be added (additively).
 */
export type EntryType = 'normal' | 'confChange';

/**
 * One log entry. Entries are immutable once created and may be shared by reference
 * between the core, storage and (in-process) peers; nobody mutates `data`.
 */
export interface Entry {
  readonly term: Term;
  readonly index: LogIndex;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/**
 * Bytes charged for an entry in every byte limit (message size, in-flight bytes,
 * uncommitted bytes, Ready size): payload plus a fixed 24-byte header, roughly what
 * term, index, type and a length prefix cost on the wire. The header makes empty entries
 * count, so byte limits also bound entry counts.
 */
export const ENTRY_HEADER_BYTES = 24;

/** The size an entry is charged in byte limits; see `ENTRY_HEADER_BYTES`. */
export function entrySizeBytes(entry: Entry): number {
  return entry.data.byteLength + ENTRY_HEADER_BYTES;
}

/**
 * A membership configuration. Single-server changes only (no joint consensus).
 * Invariant: `voters` and `learners` are disjoint and hold no duplicates.
 */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/**
 * One single-server membership change, proposed with `proposeConfChange`.
 * - `addLearner`: add a non-voting member (or demote a voter to learner).
 * - `addVoter`: promote a caught-up learner to voter. A node that is not yet a learner
 *   must be added as a learner first (the Raft dissertation's catch-up rule, 4.2.1).
 * - `removeNode`: remove a voter or a learner.
 */
export interface ConfChange {
  readonly type: 'addVoter' | 'addLearner' | 'removeNode';
  readonly nodeId: NodeId;
}

/**
 * What a `confChange` entry carries: the change and the whole configuration it yields.
 * `change` is null in the bootstrap entry (`bootstrapEntry`), which sets the initial
 * configuration.
 */
export interface ConfChangeEntryData {
  readonly change: ConfChange | null;
  readonly confState: ConfState;
}

/**
 * Describes a snapshot: it replaces every entry up to and including `index`, whose term
 * was `term`, and carries the membership configuration in effect at `index`.
 * `index` 0 (term 0) means "no snapshot": the initial state before any entry.
 */
export interface SnapshotMeta {
  readonly index: LogIndex;
  readonly term: Term;
  readonly confState: ConfState;
}

/** A whole snapshot: the meta plus the state machine's opaque bytes. */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

/**
 * The state that must be durable before a node answers votes or appends.
 * `vote` is the candidate voted for in `term`, or null.
 * `commit` is persisted to speed up restarts; losing it is safe (it is re-learned).
 */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId | null;
  readonly commit: LogIndex;
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile state a shell may want to observe (leader hint for routing, role for metrics). */
export interface SoftState {
  readonly leader: NodeId | null;
  readonly role: Role;
}

/** A linearizable read point: reads for `ctx` may be served once `index` is applied. */
export interface ReadState {
  readonly index: LogIndex;
  readonly ctx: string;
}

// ---------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------

/** Fields every message has. `term` is the sender's term (see each type for exceptions). */
export interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}

/** Leader → follower: entries after (prevLogIndex, prevLogTerm), and the leader's commit. */
export interface AppendEntriesMessage extends MessageBase {
  readonly type: 'appendEntries';
  readonly prevLogIndex: LogIndex;
  readonly prevLogTerm: Term;
  /** Consecutive entries starting at prevLogIndex + 1; may be empty (commit update / probe). */
  readonly entries: readonly Entry[];
  readonly commit: LogIndex;
}

/**
 * Follower → leader. Success: `index` is the last index the follower now holds matching
 * the leader's log. Reject: `index` is the rejected `prevLogIndex`, and
 * (`hintIndex`, `hintTerm`) is the follower's last entry at or below it whose term is at
 * most the leader's `prevLogTerm`, so the leader can skip a whole term per round trip.
 */
export interface AppendEntriesResponseMessage extends MessageBase {
  readonly type: 'appendEntriesResponse';
  readonly reject: boolean;
  readonly index: LogIndex;
  readonly hintIndex: LogIndex;
  readonly hintTerm: Term;
}

/**
 * Leader → follower: keeps followers from campaigning; `seq` numbers the heartbeat round
 * (per leadership, increasing) so acknowledgements confirm ReadIndex and extend the lease.
 * `commit` is at most the follower's known match index, so it never points past its log.
 */
export interface HeartbeatMessage extends MessageBase {
  readonly type: 'heartbeat';
  readonly commit: LogIndex;
  readonly seq: number;
}

export interface HeartbeatResponseMessage extends MessageBase {
  readonly type: 'heartbeatResponse';
  readonly seq: number;
}

/**
 * Candidate → voter. `transfer` is set when campaigning on a leader's TimeoutNow: voters
 * then ignore their "recently heard from a leader" guard (the leader asked for it).
 */
export interface RequestVoteMessage extends MessageBase {
  readonly type: 'requestVote';
  readonly lastLogIndex: LogIndex;
  readonly lastLogTerm: Term;
  readonly transfer: boolean;
}

export interface RequestVoteResponseMessage extends MessageBase {
  readonly type: 'requestVoteResponse';
  readonly granted: boolean;
}

/**
 * Pre-candidate → voter: "would you vote for me in `term`?" `term` is the term the sender
 * would campaign in (its own term + 1); nobody changes state on a pre-vote.
 */
export interface RequestPreVoteMessage extends MessageBase {
  readonly type: 'requestPreVote';
  readonly lastLogIndex: LogIndex;
  readonly lastLogTerm: Term;
}

/** `term` is the request's term when granted, the voter's own term when rejected. */
export interface RequestPreVoteResponseMessage extends MessageBase {
  readonly type: 'requestPreVoteResponse';
  readonly granted: boolean;
}

/**
 * Leader → follower: one chunk of the snapshot `meta` describes, `data` starting at byte
 * `offsetBytes`; `last` marks the final chunk. Chunks are read through
 * `RaftStorage.snapshotChunk` and assembled by the follower.
 */
export interface InstallSnapshotMessage extends MessageBase {
  readonly type: 'installSnapshot';
  readonly meta: SnapshotMeta;
  readonly offsetBytes: number;
  readonly data: Uint8Array;
  readonly last: boolean;
}

/**
 * Follower → leader: the follower holds the first `nextOffsetBytes` bytes of the snapshot
 * at (`snapshotIndex`, `snapshotTerm`) and wants the chunk that starts there. Completion is
 * reported with an `appendEntriesResponse` once the snapshot is installed and durable.
 */
export interface InstallSnapshotResponseMessage extends MessageBase {
  readonly type: 'installSnapshotResponse';
  readonly snapshotIndex: LogIndex;
  readonly snapshotTerm: Term;
  readonly nextOffsetBytes: number;
}

/** Leader → transfer target: campaign now, skipping pre-vote and the election timeout. */
export interface TimeoutNowMessage extends MessageBase {
  readonly type: 'timeoutNow';
}

/** Every message the core sends and receives, discriminated by `type`. */
export type Message =
  | AppendEntriesMessage
  | AppendEntriesResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | RequestVoteMessage
  | RequestVoteResponseMessage
  | RequestPreVoteMessage
  | RequestPreVoteResponseMessage
  | InstallSnapshotMessage
  | InstallSnapshotResponseMessage
  | TimeoutNowMessage;

export type MessageType = Message['type'];

// ---------------------------------------------------------------------------------------
// Ready: the core's output, and the ordering rule the shell must follow
// ---------------------------------------------------------------------------------------

/**
 * A batch of work for the shell. Obtain one with `ready()` when `hasReady()` is true,
 * carry it out, then call `advance(ready)`. At most one Ready is outstanding at a time;
 * `step`, `tick`, `propose`, ... may still be called while it is being handled.
 *
 * ORDERING RULE (what must be durable before what may leave or be applied):
 *
 * 1. Persist, in this order: `snapshot` (if not null: it replaces the whole log up to and
 *    including its index, and the state machine), then `entries` (appending an entry with
 *    index i first discards every stored entry with index >= i), then `hardState` (if not
 *    null). If `mustSync` is true these writes must be durable (fsync) before any message
 *    in `messagesAfterPersist` is sent.
 * 2. `messages` may be sent at once: before, while or after step 1 runs. The core only
 *    puts messages there whose safety does not depend on this Ready's local writes: a
 *    leader's appendEntries, heartbeat, installSnapshot and timeoutNow, and pre-vote
 *    requests (a leader's own entries count towards commit only after they are durable
 *    here, which the shell reports with `advance`; this is etcd-raft's "a leader may send
 *    MsgApp in parallel with its own append"). When this Ready changes the term or vote,
 *    the core moves every message to `messagesAfterPersist`. Likewise a candidate's own
 *    vote counts only after the Ready carrying its term and vote is advanced, so a node
 *    reported as leader always leads a term that is durable. Messages of a term the node
 *    has since left are dropped, never handed out.
 * 3. `messagesAfterPersist` must be sent only after step 1 is durable: vote requests
 *    (carry a term and self-vote that must survive a crash), vote and pre-vote responses,
 *    appendEntries / heartbeat / installSnapshot responses (each acknowledges log state
 *    that must not be lost after it is acknowledged).
 * 4. Apply `committedEntries` to the state machine in order, after step 1 (some of them
 *    may be in `entries` of this same Ready). A `confChange` entry has already taken
 *    effect in the core when it was appended (see `proposeConfChange`); applying it tells
 *    the shell the change is committed (e.g. to stop a removed peer's transport).
 * 5. `readStates`: serve each read once the applied index reaches its `index`.
 * 6. Call `advance(ready)`: it tells the core step 1 is durable and step 4 is done.
 *
 * Sending everything after step 1 is always safe (just slower on a leader).
 */
export interface Ready {
  /** Changed leader or role since the previous Ready; null when unchanged. */
  readonly softState: SoftState | null;
  /** Changed durable state since the previous Ready; null when unchanged. */
  readonly hardState: HardState | null;
  /** A snapshot received from the leader, to install; null when none. */
  readonly snapshot: Snapshot | null;
  /** Entries to append to stable storage (possibly overwriting a conflicting suffix). */
  readonly entries: readonly Entry[];
  /** Entries committed by a quorum, to apply in order. */
  readonly committedEntries: readonly Entry[];
  /** Messages that may be sent immediately (rule 2). */
  readonly messages: readonly Message[];
  /** Messages to send only after this Ready's writes are durable (rule 3). */
  readonly messagesAfterPersist: readonly Message[];
  /** Confirmed ReadIndex requests (rule 5). */
  readonly readStates: readonly ReadState[];
  /** True when `entries`, `hardState` term/vote or `snapshot` must be fsynced. */
  readonly mustSync: boolean;
}

// ---------------------------------------------------------------------------------------
// Storage read interface and injected dependencies
// ---------------------------------------------------------------------------------------

/** Result of reading one snapshot chunk. */
export type SnapshotChunkResult =
  | { readonly type: 'chunk'; readonly data: Uint8Array; readonly last: boolean }
  /** The snapshot at the requested index is no longer stored (a newer one replaced it). */
  | { readonly type: 'unavailable' };

/**
 * What the core reads from stable storage. The shell writes it (following the `Ready`
 * ordering rule); the core only reads, and only between its own calls, so the view is
 * consistent for the duration of any one core call. Implementations: `MemoryStorage`
 * (in raft/), the LevelDB store (in storage/).
 *
 * Contract (the core never calls outside these ranges; implementations may assert):
 * - `firstIndex() - 1` is the compaction point: every entry up to it is discarded. It is
 *   at most the latest snapshot's index (0 when nothing was ever compacted), and
 *   `firstIndex() <= lastIndex() + 1`; `lastIndex()` is at least the snapshot's index.
 * - `term(i)` for `firstIndex() - 1 <= i <= lastIndex()` (the compaction point's term is
 *   kept, so the entry after it can be matched).
 * - `entries(lo, hi, bytesMax)` for `firstIndex() <= lo < hi <= lastIndex() + 1`: entries
 *   `[lo, hi)` in order, stopping before the entry that would push the total of
 *   `entrySizeBytes` over `bytesMax`, but always at least one entry.
 * - `snapshot()` returns the meta of the latest snapshot; index 0 when none, whose
 *   `confState` is then the configuration before any log entry (usually empty).
 * - `snapshotChunk(index, offsetBytes, bytesMax)` returns at most `bytesMax` bytes of the
 *   data of the snapshot at `index`, starting at `offsetBytes`, and whether it is the last
 *   chunk; `unavailable` if that snapshot is gone.
 */
export interface RaftStorage {
  initialState(): { readonly hardState: HardState };
  entries(lo: LogIndex, hi: LogIndex, bytesMax: number): readonly Entry[];
  term(index: LogIndex): Term;
  firstIndex(): LogIndex;
  lastIndex(): LogIndex;
  snapshot(): SnapshotMeta;
  snapshotChunk(index: LogIndex, offsetBytes: number, bytesMax: number): SnapshotChunkResult;
}

/** A seeded pseudo-random source; the core's only source of randomness. */
export interface Prng {
  /** A uniformly distributed integer in [0, maxExclusive); `maxExclusive` >= 1. */
  nextInt(maxExclusive: number): number;
}

/** Dependencies of a `RaftNode`: substituted by simulated twins in tests. */
export interface RaftDeps {
  readonly storage: RaftStorage;
  readonly prng: Prng;
}

/**
 * Options of a `RaftNode`. Only `id` is required; every other field has a default,
 * given in brackets, and is validated by `createRaftNode` (RangeError / TypeError naming
 * the option and its value; unknown options are rejected).
 */
export interface RaftOptions {
  /** This node's id. */
  readonly id: NodeId;
  /** Ticks without hearing from a leader before campaigning (randomized in (E, 2E]). [10] */
  readonly electionTimeoutTicks?: number;
  /** Ticks between heartbeat rounds; must be < electionTimeoutTicks. [1] */
  readonly heartbeatIntervalTicks?: number;
  /**
   * Real-time length of one tick in ms: the shell must not tick more often than this
   * (ticking late is safe). Converts the election timeout to ms for the lease. [100]
   */
  readonly tickIntervalMs?: number;
  /**
   * Bound on how much a peer's clock may run fast relative to the leader's over one
   * election timeout; the lease is `electionTimeoutTicks * tickIntervalMs - clockDriftMsMax`.
   * Must be < the election timeout in ms. [100]
   */
  readonly clockDriftMsMax?: number;
  /** Pre-vote phase before real elections (dissertation 9.6). [true] */
  readonly preVote?: boolean;
  /** Leader steps down without a quorum's contact each election timeout; needed for leases. [true] */
  readonly checkQuorum?: boolean;
  /** Byte budget of one appendEntries message (at least one entry is always sent). [1 MiB] */
  readonly appendBytesMax?: number;
  /** Unacknowledged appendEntries messages per follower in replicate state. [256] */
  readonly inflightMessagesMax?: number;
  /** Unacknowledged entry bytes per follower in replicate state. [64 MiB] */
  readonly inflightBytesMax?: number;
  /** Bytes of proposed but uncommitted entries a leader accepts before dropping proposals. [64 MiB] */
  readonly uncommittedBytesMax?: number;
  /** Byte budget of `committedEntries` in one Ready (at least one entry). [16 MiB] */
  readonly committedBytesMax?: number;
  /** Size of one installSnapshot chunk. [1 MiB] */
  readonly snapshotChunkBytes?: number;
  /** Largest snapshot a follower assembles in memory. [1 GiB] */
  readonly snapshotBytesMax?: number;
  /** ReadIndex requests waiting for confirmation. [4096] */
  readonly readIndexPendingMax?: number;
  /**
   * Index the state machine has already applied at start (restart). Defaults to the
   * snapshot index in storage: committed entries after it are handed out again.
   */
  readonly appliedIndex?: LogIndex;
}

// ---------------------------------------------------------------------------------------
// Results of the RaftNode inputs (expected conditions are values, not exceptions)
// ---------------------------------------------------------------------------------------

/** The node is not the leader; `leaderHint` is the leader it knows of in `term`, if any. */
export interface NotLeader {
  readonly type: 'notLeader';
  readonly leaderHint: NodeId | null;
  readonly term: Term;
}

/**
 * Why a leader dropped a proposal:
 * - `transferInProgress`: leadership is being transferred; retry on the new leader.
 * - `uncommittedBytesMax`: too much proposed but uncommitted data; retry later.
 * - `confChangePending`: an earlier configuration change is not committed yet.
 * - `leaderNotReady`: the new leader has not committed an entry of its own term yet
 *   (its election no-op); configuration changes wait for it.
 * - `invalidConfChange`: the change makes no sense against the current configuration
 *   (see `detail`), e.g. removing the last voter or adding an existing voter.
 * - `learnerNotCaughtUp`: `addVoter` for a learner whose log is behind the leader's commit.
 */
export type DropReason =
  | 'transferInProgress'
  | 'uncommittedBytesMax'
  | 'confChangePending'
  | 'leaderNotReady'
  | 'invalidConfChange'
  | 'learnerNotCaughtUp';

export interface ProposalDropped {
  readonly type: 'dropped';
  readonly reason: DropReason;
  readonly detail: string;
}

/** The entry was appended to the leader's log at (index, term); it commits later, or never. */
export interface ProposalAccepted {
  readonly type: 'accepted';
  readonly index: LogIndex;
  readonly term: Term;
}

export type ProposeResult = ProposalAccepted | NotLeader | ProposalDropped;

export type TransferResult =
  | { readonly type: 'started'; readonly to: NodeId }
  | NotLeader
  | {
      readonly type: 'rejected';
      readonly reason: 'self' | 'notVoter';
      readonly detail: string;
    };

/**
 * `pending`: the request is registered; its `ReadState` appears in a later Ready (or
 * never, if leadership is lost: callers time out and retry).
 * `dropped`: too many reads are pending (`readIndexPendingMax`).
 */
export type ReadIndexResult =
  | { readonly type: 'pending' }
  | NotLeader
  | { readonly type: 'dropped'; readonly reason: 'readIndexPendingMax'; readonly detail: string };

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** The leader's view of one peer. */
export interface ProgressStatus {
  readonly match: LogIndex;
  readonly next: LogIndex;
  readonly state: ProgressState;
  readonly inflightMessages: number;
  readonly inflightBytes: number;
  readonly recentActive: boolean;
  readonly isLearner: boolean;
}

/** A snapshot of the node's state for tests, metrics and the admin CLI. */
export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: Term;
  readonly vote: NodeId | null;
  readonly leader: NodeId | null;
  readonly commit: LogIndex;
  readonly applied: LogIndex;
  readonly firstIndex: LogIndex;
  readonly lastIndex: LogIndex;
  /** The configuration in effect: the latest one in the log (appended, maybe uncommitted). */
  readonly confState: ConfState;
  /** The configuration as of the applied index (what a snapshot at `applied` carries). */
  readonly confStateApplied: ConfState;
  /** Leader only: progress per peer (including itself); empty otherwise. */
  readonly progress: ReadonlyMap<NodeId, ProgressStatus>;
  readonly leadTransferee: NodeId | null;
  readonly uncommittedBytes: number;
}

// ---------------------------------------------------------------------------------------
// The node
// ---------------------------------------------------------------------------------------

/**
 * One member of one Raft group. Deterministic: the same inputs (and Prng sequence) give
 * the same outputs. No I/O; see `Ready` for what the shell does with the output.
 * Not reentrant: call from one thread of control (there is only one in Node).
 */
export interface RaftNode {
  readonly id: NodeId;
  /** Advances logical time by one tick (elections, heartbeats, check-quorum, transfer timeout). */
  tick(): void;
  /**
   * Starts an election now, as if the election timeout had elapsed (pre-vote first when
   * enabled). Does nothing on a leader or a non-voter. Voters still refuse while they are
   * within an election timeout of hearing from a leader. For bootstrapping a group with a
   * chosen first leader, and for tests.
   */
  campaign(): void;
  /**
   * Sets the local monotonic time in ms, used only for lease bookkeeping (the send time
   * of heartbeat rounds). Call it before `tick`/`step`/`readIndex` with a fresh reading;
   * a stale value is safe (leases come out shorter). Throws RangeError if time goes back.
   */
  setTimeMs(nowMs: number): void;
  /** Feeds one message from a peer. Messages for another node or malformed are caller errors. */
  step(message: Message): void;
  /** Proposes application data as one `normal` entry. */
  propose(data: Uint8Array): ProposeResult;
  /**
   * Proposes a single-server membership change. The change takes effect on each node as
   * soon as the entry is appended to its log (Raft dissertation 4.1), and is reverted if
   * that entry is truncated. A leader accepts it only after committing an entry of its
   * own term, and only when no earlier change is uncommitted.
   */
  proposeConfChange(change: ConfChange): ProposeResult;
  /**
   * Starts handing leadership to `to` (sends TimeoutNow once `to` is caught up). Proposals
   * are dropped while it runs; it aborts after an election timeout. It voids this
   * leader's lease for the rest of its term (the target's campaign overrides the voters'
   * lease guard, and a delayed TimeoutNow may arrive after an abort); ReadIndex still works.
   */
  transferLeadership(to: NodeId): TransferResult;
  /** Requests a linearizable read point for `ctx`; see `ReadIndexResult`. */
  readIndex(ctx: string): ReadIndexResult;
  /** True when this node is leader and holds a lease valid at `nowMs` (local monotonic ms). */
  leaseValid(nowMs: number): boolean;
  /** Ms of lease left at `nowMs`; 0 when none. */
  leaseRemainingMs(nowMs: number): number;
  /** True when `ready()` has work. False while a Ready is outstanding (not yet advanced). */
  hasReady(): boolean;
  /** The pending work; call only when no other Ready is outstanding. */
  ready(): Ready;
  /** Acknowledges the Ready last returned by `ready()` (see the ordering rule on `Ready`). */
  advance(ready: Ready): void;
  status(): RaftStatus;
  /** The commit index as this node knows it now (cheap; `status()` builds the whole view). */
  commitIndex(): LogIndex;
}
