/**
 * The Raft state machine: elections (pre-vote, check-quorum), log replication with
 * per-peer flow control, commitment, chunked snapshots, single-server membership changes,
 * leadership transfer, ReadIndex and the leader lease. Pure and deterministic; see
 * `types.ts` for the contract and the `Ready` ordering rule.
 */
import { assert, fail } from './assert.js';
import {
  applyConfChange,
  assertConfState,
  decodeConfChangeEntry,
  encodeConfChangeEntry,
  isLearner,
  isMember,
  isVoter,
  quorumSize,
} from './conf.js';
import { RaftLog } from './log.js';
import type { ResolvedRaftOptions } from './options.js';
import { resolveRaftOptions } from './options.js';
import { Progress } from './progress.js';
import { HeartbeatRounds } from './reads.js';
import type {
  AppendEntriesMessage,
  ConfChange,
  ConfState,
  Entry,
  HardState,
  HeartbeatMessage,
  InstallSnapshotMessage,
  InstallSnapshotResponseMessage,
  LogIndex,
  Message,
  NodeId,
  NotLeader,
  Prng,
  ProgressStatus,
  ProposeResult,
  RaftDeps,
  RaftNode,
  RaftOptions,
  RaftStatus,
  RaftStorage,
  ReadIndexResult,
  ReadState,
  Ready,
  Role,
  Snapshot,
  SnapshotMeta,
  SoftState,
  Term,
  TransferResult,
} from './types.js';
import { ENTRY_HEADER_BYTES, entrySizeBytes } from './types.js';

const EMPTY_DATA = new Uint8Array(0);

/** Heartbeat responses without snapshot progress before a chunk is resent (lost chunk). */
const SNAPSHOT_STALL_HEARTBEATS = 3;

/** Bytes per page when scanning the log for configuration entries at start. */
const CONF_SCAN_PAGE_BYTES = 1024 * 1024;

interface ConfAt {
  readonly index: LogIndex;
  readonly conf: ConfState;
}

/** A follower's partly received snapshot. */
interface SnapshotAssembly {
  readonly meta: SnapshotMeta;
  readonly chunks: Uint8Array[];
  bytes: number;
}

/**
 * Creates a Raft node over `deps.storage` (which must hold the node's durable state:
 * empty for a node joining an existing group, `MemoryStorage.bootstrap`-style for the
 * initial members of a new one).
 * @throws TypeError / RangeError for invalid options or deps (message names the option).
 * @example
 * ```ts
 * const node = createRaftNode({ id: toNodeId('a') }, { storage, prng: createSeededPrng(7) });
 * node.tick();
 * if (node.hasReady()) { const rd = node.ready(); storage.persist(rd); send(rd); node.advance(rd); }
 * ```
 */
export function createRaftNode(options: RaftOptions, deps: RaftDeps): RaftNode {
  const resolved = resolveRaftOptions(options);
  if (typeof deps !== 'object' || deps === null) throw new TypeError(`Cannot create Raft node: 'deps' must be an object (got ${String(deps)})`);
  const storage = deps.storage as Partial<RaftStorage> | undefined;
  for (const method of ['initialState', 'entries', 'term', 'firstIndex', 'lastIndex', 'snapshot', 'snapshotChunk'] as const) {
    if (typeof storage?.[method] !== 'function') {
      throw new TypeError(`Cannot create Raft node: 'deps.storage.${method}' must be a function (got ${typeof storage?.[method]})`);
    }
  }
  if (typeof deps.prng?.nextInt !== 'function') {
    throw new TypeError(`Cannot create Raft node: 'deps.prng.nextInt' must be a function (got ${typeof deps.prng?.nextInt})`);
  }
  return new Raft(resolved, deps.storage, deps.prng);
}

class Raft implements RaftNode {
  readonly id: NodeId;
  private readonly opts: ResolvedRaftOptions;
  private readonly storage: RaftStorage;
  private readonly prng: Prng;
  private readonly log: RaftLog;
  /** Lease length: the election timeout in ms minus the clock drift bound. */
  private readonly leaseDurationMs: number;

  private role: Role = 'follower';
  private term: Term;
  private vote: NodeId | null;
  private leader: NodeId | null = null;

  // Membership. Invariant: conf is the last of confHistory, or confBase when it is empty.
  /** Configuration as of `log.applied` (never reverted: applied entries are committed). */
  private confBase: ConfState;
  /** Configuration entries in the log after the applied index, in index order. */
  private confHistory: ConfAt[] = [];
  private conf: ConfState;

  // Timers, in ticks.
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  /**
   * Ticks since this node last heard from a leader. Starts at 0 on construction: a node
   * that just restarted may have acknowledged a leader's heartbeat right before crashing,
   * so it must keep refusing votes as if it had (lease safety, see `leaseRemainingMs`).
   * Exception: at a durable term <= 1 it never acknowledged any leader (the first
   * candidate term is 2, and a term is durable before anything is acknowledged in it).
   */
  private leaderContactTicks = 0;

  private votes = new Map<NodeId, boolean>();

  // Leader state.
  private readonly progress = new Map<NodeId, Progress>();
  private leadTransferee: NodeId | null = null;
  private transferElapsed = 0;
  /** The term in which this node started a transfer: no lease for the rest of that term. */
  private leaseVoidTerm: Term | null = null;
  private uncommittedBytes = 0;
  private readonly rounds: HeartbeatRounds;
  /** Scratch for quorum computations (voters are at most CONF_MEMBERS_MAX). */
  private readonly scratch: number[] = [];

  // Follower state.
  private snapAssembly: SnapshotAssembly | null = null;

  // Time for lease bookkeeping.
  private nowMs = 0;
  private timeKnown = false;

  // Output.
  private msgs: Message[] = [];
  private msgsAfterPersist: Message[] = [];
  private readStates: ReadState[] = [];
  /** Appends may be due (proposals, acks, commit changes): sent at the next flush. */
  private flushWanted = false;
  private prevHard: HardState;
  private prevSoft: SoftState;
  private outstanding: Ready | null = null;

  constructor(opts: ResolvedRaftOptions, storage: RaftStorage, prng: Prng) {
    this.id = opts.id;
    this.opts = opts;
    this.storage = storage;
    this.prng = prng;
    this.leaseDurationMs = opts.electionTimeoutTicks * opts.tickIntervalMs - opts.clockDriftMsMax;
    this.rounds = new HeartbeatRounds(opts.readIndexPendingMax);

    const { hardState } = storage.initialState();
    const snap = storage.snapshot();
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    assert(first <= last + 1, `storage: firstIndex ${first} > lastIndex ${last} + 1`);
    assert(snap.index >= first - 1 && snap.index <= last, `storage: snapshot index ${snap.index} outside [${first - 1}, ${last}]`);
    assertConfState(snap.confState, 'storage snapshot');
    assertSafe(hardState.term, 'hardState.term');
    assertSafe(hardState.commit, 'hardState.commit');
    // A crash between installing a snapshot and writing the hard state leaves commit behind it.
    const committed = Math.max(hardState.commit, snap.index) as LogIndex;
    const applied = opts.appliedIndex ?? snap.index;
    if (applied > committed || applied < snap.index) {
      throw new RangeError(`Cannot create Raft node: 'appliedIndex' must be in [${snap.index}, ${committed}] (got ${applied})`);
    }
    this.log = new RaftLog(storage, committed, applied);
    this.term = hardState.term;
    this.vote = hardState.vote;
    if (this.term <= 1) this.leaderContactTicks = opts.electionTimeoutTicks + 1;
    this.confBase = snap.confState;
    this.conf = snap.confState;
    this.loadConfHistory(snap.index, last);
    this.foldConfHistory();
    this.prevHard = { term: this.term, vote: this.vote, commit: committed };
    this.prevSoft = { leader: null, role: 'follower' };
    this.resetRandomizedElectionTimeout();
  }

  // -------------------------------------------------------------------------------------
  // Inputs
  // -------------------------------------------------------------------------------------

  setTimeMs(nowMs: number): void {
    if (!Number.isFinite(nowMs) || nowMs < this.nowMs) {
      throw new RangeError(`RaftNode.setTimeMs: 'nowMs' must be finite and never decrease (got ${nowMs} after ${this.nowMs})`);
    }
    this.nowMs = nowMs;
    this.timeKnown = true;
  }

  tick(): void {
    if (this.leaderContactTicks <= this.opts.electionTimeoutTicks) this.leaderContactTicks++;
    if (this.role === 'leader') this.tickLeader();
    else this.tickElection();
  }

  campaign(): void {
    this.electionElapsed = 0;
    this.hup(false);
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.leadTransferee !== null) {
      this.transferElapsed++;
      // A transfer that has not finished in an election timeout has failed: resume.
      if (this.transferElapsed >= this.opts.electionTimeoutTicks) this.leadTransferee = null;
    }
    if (this.electionElapsed >= this.opts.electionTimeoutTicks) {
      this.electionElapsed = 0;
      if (this.opts.checkQuorum) {
        if (!this.quorumActive()) {
          // Partitioned from a quorum: stop acting as leader (its lease has run out by now,
          // since no quorum acknowledged a round during the last election timeout).
          this.becomeFollower(this.term, null);
          return;
        }
        for (const [id, pr] of this.progress) pr.recentActive = id === this.id;
      }
    }
    if (this.heartbeatElapsed >= this.opts.heartbeatIntervalTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  step(m: Message): void {
    if (m.to !== this.id) throw new RangeError(`RaftNode.step: message for '${m.to}' fed to node '${this.id}'`);
    if (m.from === this.id) throw new RangeError(`RaftNode.step: message from '${m.from}' to itself`);
    if (!Number.isSafeInteger(m.term) || m.term < 0) throw new RangeError(`RaftNode.step: 'term' must be a non-negative safe integer (got ${m.term})`);
    if (m.type === 'appendEntries') checkAppend(m);

    if (m.term > this.term) {
      if (m.type === 'requestVote' || m.type === 'requestPreVote') {
        const transfer = m.type === 'requestVote' && m.transfer;
        // Lease guard: while this node may still be inside a leader's lease (it heard from a
        // leader within an election timeout, or it is the leader), it ignores campaigns;
        // only a transfer the leader itself started may override it.
        if (!transfer && this.inLease()) return;
      }
      if (m.type === 'requestPreVote') {
        // A pre-vote changes nothing; answered below without adopting its term.
      } else if (m.type === 'requestPreVoteResponse' && m.granted) {
        // A granted pre-vote carries the term we would campaign in; not a newer leader.
      } else {
        const fromLeader = m.type === 'appendEntries' || m.type === 'heartbeat' || m.type === 'installSnapshot';
        const elapsed = this.electionElapsed;
        this.becomeFollower(m.term, fromLeader ? m.from : null);
        // Only a granted vote restarts the election timer (Raft paper, figure 2), and
        // handleVoteRequest does that. Restarting it on every newer-term campaign lets a
        // candidate with a stale log and a faster clock starve the up-to-date nodes of
        // their timeouts forever when pre-vote is off.
        if (m.type === 'requestVote') this.electionElapsed = elapsed;
      }
    } else if (m.term < this.term) {
      if ((this.opts.checkQuorum || this.opts.preVote) && (m.type === 'appendEntries' || m.type === 'heartbeat')) {
        // A stale leader (e.g. back from a partition that pre-vote kept us from noticing):
        // tell it our term so it steps down.
        this.sendAfterPersist({
          type: 'appendEntriesResponse',
          from: this.id,
          to: m.from,
          term: this.term,
          reject: true,
          index: 0 as LogIndex,
          hintIndex: 0 as LogIndex,
          hintTerm: 0 as Term,
        });
      } else if (m.type === 'requestPreVote') {
        this.sendAfterPersist({ type: 'requestPreVoteResponse', from: this.id, to: m.from, term: this.term, granted: false });
      }
      return;
    }

    switch (m.type) {
      case 'requestVote':
      case 'requestPreVote':
        this.handleVoteRequest(m.type === 'requestPreVote', m.type === 'requestVote' && m.transfer, m.from, m.term, m.lastLogIndex, m.lastLogTerm);
        return;
      default:
        break;
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        return;
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(m);
        return;
      case 'follower':
        this.stepFollower(m);
        return;
    }
  }

  propose(data: Uint8Array): ProposeResult {
    if (!(data instanceof Uint8Array)) throw new TypeError(`RaftNode.propose: 'data' must be a Uint8Array (got ${typeof data})`);
    if (this.role !== 'leader') return this.notLeader();
    if (this.leadTransferee !== null) {
      return { type: 'dropped', reason: 'transferInProgress', detail: `leadership is moving to ${this.leadTransferee}` };
    }
    const size = data.byteLength + ENTRY_HEADER_BYTES;
    // One entry is always accepted when nothing is uncommitted, so a single large entry
    // can never be stuck behind the limit.
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + size > this.opts.uncommittedBytesMax) {
      return {
        type: 'dropped',
        reason: 'uncommittedBytesMax',
        detail: `${this.uncommittedBytes} bytes uncommitted, limit ${this.opts.uncommittedBytesMax}`,
      };
    }
    const index = (this.log.lastIndex() + 1) as LogIndex;
    assertSafe(index, 'log index');
    this.log.appendOne({ term: this.term, index, type: 'normal', data });
    this.uncommittedBytes += size;
    this.flushWanted = true;
    return { type: 'accepted', index, term: this.term };
  }

  proposeConfChange(change: ConfChange): ProposeResult {
    if (typeof change !== 'object' || change === null || !['addVoter', 'addLearner', 'removeNode'].includes(change.type)) {
      throw new TypeError(`RaftNode.proposeConfChange: 'change.type' must be addVoter, addLearner or removeNode (got ${JSON.stringify(change)})`);
    }
    if (typeof change.nodeId !== 'string' || change.nodeId.length === 0) {
      throw new TypeError(`RaftNode.proposeConfChange: 'change.nodeId' must be a NodeId (got ${String(change.nodeId)})`);
    }
    if (this.role !== 'leader') return this.notLeader();
    if (this.leadTransferee !== null) {
      return { type: 'dropped', reason: 'transferInProgress', detail: `leadership is moving to ${this.leadTransferee}` };
    }
    // The guard from the Raft dissertation's single-server changes (and its 2015 erratum):
    // a leader appends a configuration entry only after committing an entry of its own
    // term, so a change from a deposed leader can never mix with ours.
    if (!this.committedInCurrentTerm()) {
      return { type: 'dropped', reason: 'leaderNotReady', detail: `no entry of term ${this.term} committed yet` };
    }
    const pendingIndex = this.latestConfIndex();
    if (pendingIndex > this.log.committed) {
      return { type: 'dropped', reason: 'confChangePending', detail: `configuration entry ${pendingIndex} is not committed (commit ${this.log.committed})` };
    }
    const outcome = applyConfChange(this.conf, change);
    if (!outcome.ok) return { type: 'dropped', reason: 'invalidConfChange', detail: outcome.detail };
    if (change.type === 'addVoter') {
      if (!isLearner(this.conf, change.nodeId)) {
        return { type: 'dropped', reason: 'invalidConfChange', detail: `${change.nodeId} must be added as a learner and catch up first` };
      }
      const pr = this.progress.get(change.nodeId);
      if (pr === undefined || pr.match < this.log.committed) {
        return {
          type: 'dropped',
          reason: 'learnerNotCaughtUp',
          detail: `${change.nodeId} holds up to ${pr?.match ?? 0}, commit is ${this.log.committed}`,
        };
      }
    }
    const data = encodeConfChangeEntry({ change, confState: outcome.confState });
    const size = data.byteLength + ENTRY_HEADER_BYTES;
    const index = (this.log.lastIndex() + 1) as LogIndex;
    this.appendToLog([{ term: this.term, index, type: 'confChange', data }]);
    this.uncommittedBytes += size;
    this.flushWanted = true;
    return { type: 'accepted', index, term: this.term };
  }

  transferLeadership(to: NodeId): TransferResult {
    if (this.role !== 'leader') return this.notLeader();
    if (to === this.id) return { type: 'rejected', reason: 'self', detail: `${to} is already the leader` };
    if (!isVoter(this.conf, to)) return { type: 'rejected', reason: 'notVoter', detail: `${to} is not a voter` };
    if (this.leadTransferee === to) return { type: 'started', to };
    this.leadTransferee = to;
    this.transferElapsed = 0;
    // The target's campaign overrides the voters' lease guard, so from here on no lease
    // may be held in this term (a TimeoutNow may be delayed past an aborted transfer).
    this.leaseVoidTerm = this.term;
    const pr = this.progress.get(to);
    assert(pr !== undefined, `transferLeadership: no progress for voter ${to}`);
    if (pr.match === this.log.lastIndex()) {
      this.sendTimeoutNow(to);
    } else {
      // Probe now rather than at the next heartbeat: the target may lack a tail whose
      // appends were lost, and an append (even empty) makes it reveal the gap.
      pr.sentCommit = 0 as LogIndex;
      this.flushWanted = true;
    }
    return { type: 'started', to };
  }

  readIndex(ctx: string): ReadIndexResult {
    if (typeof ctx !== 'string') throw new TypeError(`RaftNode.readIndex: 'ctx' must be a string (got ${typeof ctx})`);
    if (this.role !== 'leader') return this.notLeader();
    if (this.rounds.full()) {
      return { type: 'dropped', reason: 'readIndexPendingMax', detail: `${this.rounds.pendingCount()} reads pending` };
    }
    // Until the leader commits an entry of its term its commit index may lag the true one;
    // reads wait for the election no-op to commit.
    if (this.committedInCurrentTerm()) this.rounds.addRead(ctx, this.log.committed);
    else this.rounds.addReadAwaitingCommit(ctx);
    this.flushWanted = true;
    return { type: 'pending' };
  }

  /**
   * Lease reasoning. The lease runs from the send time s of the latest heartbeat round a
   * quorum Q acknowledged (time read from `setTimeMs` when the round was created, which is
   * no later than the real send), for electionTimeoutMs - clockDriftMsMax.
   * Every voter in Q received that round at some r >= s and then ignores vote and pre-vote
   * requests (outside a transfer) until it has seen electionTimeoutTicks + 1 ticks without
   * a leader, i.e. at least electionTimeoutTicks * tickIntervalMs of its clock after r
   * (ticks are never early), also across a restart (`leaderContactTicks` starts at 0).
   * Any new leader needs a vote from some member of Q, so it is elected no earlier than
   * s + electionTimeoutMs - drift, when this lease has ended; and a new leader's own lease
   * starts from a round sent after its election. So two leases never overlap. The old leader
   * itself is in Q; it ignores campaigns while leader, and once it steps down it holds no
   * lease. Transfers bypass the voters' guard, hence `leaseVoidTerm`. A lease also needs an
   * entry of the current term committed (the leader's state must include every earlier
   * commit). Check-quorum steps a leader down when no quorum was heard for an election
   * timeout, by which time its lease has lapsed too.
   */
  leaseRemainingMs(nowMs: number): number {
    if (!Number.isFinite(nowMs)) throw new RangeError(`RaftNode.leaseRemainingMs: 'nowMs' must be finite (got ${nowMs})`);
    if (this.role !== 'leader' || !this.opts.checkQuorum || this.leadTransferee !== null || this.leaseVoidTerm === this.term) return 0;
    const start = this.rounds.leaseStartMs;
    // Applied, not just committed: a lease read serves the state machine's applied state,
    // which must include every entry committed before this term. Commit runs ahead of
    // apply while a Ready is being persisted, so a committed no-op is not enough.
    if (start === null || this.log.term(this.log.applied) !== this.term) return 0;
    const remaining = start + this.leaseDurationMs - nowMs;
    return Math.max(0, Math.min(remaining, this.leaseDurationMs));
  }

  leaseValid(nowMs: number): boolean {
    return this.leaseRemainingMs(nowMs) > 0;
  }

  // -------------------------------------------------------------------------------------
  // Ready / advance
  // -------------------------------------------------------------------------------------

  hasReady(): boolean {
    if (this.outstanding !== null) return false;
    this.flush();
    return (
      this.msgs.length > 0 ||
      this.msgsAfterPersist.length > 0 ||
      this.readStates.length > 0 ||
      this.log.unstable.length > 0 ||
      this.log.unstableSnapshot !== null ||
      this.log.hasNextCommitted() ||
      this.hardChanged() ||
      this.softChanged()
    );
  }

  ready(): Ready {
    assert(this.outstanding === null, 'RaftNode.ready: the previous Ready was not advanced');
    this.flush();
    const hard: HardState = { term: this.term, vote: this.vote, commit: this.log.committed };
    const termOrVoteChanged = hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote;
    const hardState = termOrVoteChanged || hard.commit !== this.prevHard.commit ? hard : null;
    const softState = this.softChanged() ? { leader: this.leader, role: this.role } : null;
    const entries = this.log.unstable.length > 0 ? this.log.unstable.slice() : [];
    const snapshot = this.log.unstableSnapshot;
    const committedEntries = this.log.nextCommitted(this.opts.committedBytesMax);
    // Messages of a term this node has since left are dropped (as a network may): a vote or
    // grant of an older term was never made durable, because the newer term replaced it
    // before any Ready carried it, and nobody acts on an older term's messages anyway.
    let messages: Message[] = dropStale(this.msgs, this.term);
    let messagesAfterPersist: Message[] = dropStale(this.msgsAfterPersist, this.term);
    if (termOrVoteChanged && messages.length > 0) {
      // Rule 2 of the Ready contract: nothing leaves before a new term or vote is durable.
      messagesAfterPersist = messages.concat(messagesAfterPersist);
      messages = [];
    }
    const rd: Ready = {
      softState,
      hardState,
      snapshot,
      entries,
      committedEntries,
      messages,
      messagesAfterPersist,
      readStates: this.readStates,
      mustSync: entries.length > 0 || snapshot !== null || termOrVoteChanged,
    };
    this.msgs = [];
    this.msgsAfterPersist = [];
    this.readStates = [];
    if (hardState !== null) this.prevHard = hardState;
    if (softState !== null) this.prevSoft = softState;
    const lastCommitted = committedEntries[committedEntries.length - 1];
    if (lastCommitted !== undefined) {
      this.log.applying = lastCommitted.index;
      if (this.role === 'leader') {
        // Approximate from below: entries of earlier terms were never counted; clamp at 0.
        let bytes = 0;
        for (const e of committedEntries) bytes += entrySizeBytes(e);
        this.uncommittedBytes = Math.max(0, this.uncommittedBytes - bytes);
      }
    }
    this.outstanding = rd;
    return rd;
  }

  advance(rd: Ready): void {
    assert(this.outstanding === rd, 'RaftNode.advance: not the Ready last returned by ready()');
    this.outstanding = null;
    if (rd.snapshot !== null) {
      this.log.stableSnapTo(rd.snapshot.meta.index);
      this.log.appliedTo(Math.max(this.log.applied, Math.min(rd.snapshot.meta.index, this.log.committed)) as LogIndex);
    }
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry !== undefined) this.log.stableTo(lastEntry.index, lastEntry.term);
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastCommitted !== undefined) {
      this.log.appliedTo(lastCommitted.index);
      this.foldConfHistory();
    }
    if (this.role === 'leader') {
      // The leader's own entries count towards commit only once durable here.
      const self = this.progress.get(this.id);
      if (self !== undefined && self.maybeUpdate(this.log.persistedIndex())) this.maybeCommit();
    } else if (this.role === 'candidate' && rd.hardState !== null && rd.hardState.term === this.term && rd.hardState.vote === this.id) {
      // The candidate's term and self-vote are durable now: its own vote counts.
      this.votes.set(this.id, true);
      this.tallyVotes();
    }
  }

  commitIndex(): LogIndex {
    return this.log.committed;
  }

  status(): RaftStatus {
    const progress = new Map<NodeId, ProgressStatus>();
    if (this.role === 'leader') {
      for (const [id, pr] of this.progress) {
        progress.set(id, {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          inflightMessages: pr.inflights.count,
          inflightBytes: pr.inflights.bytes,
          recentActive: pr.recentActive,
          isLearner: pr.isLearner,
        });
      }
    }
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leader: this.leader,
      commit: this.log.committed,
      applied: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      confState: this.conf,
      confStateApplied: this.confBase,
      progress,
      leadTransferee: this.leadTransferee,
      uncommittedBytes: this.uncommittedBytes,
    };
  }

  // -------------------------------------------------------------------------------------
  // Roles
  // -------------------------------------------------------------------------------------

  private becomeFollower(term: Term, leader: NodeId | null): void {
    // A deposed leader counts as having just heard from a leader (itself): it keeps
    // refusing campaigns for an election timeout like the followers of its last round.
    if (this.role === 'leader') this.leaderContactTicks = 0;
    if (term !== this.term) {
      assert(term > this.term, `becomeFollower: term ${term} before ${this.term}`);
      this.term = term;
      this.vote = null;
      this.snapAssembly = null;
    }
    this.role = 'follower';
    this.leader = leader;
    this.resetCommon();
  }

  private becomePreCandidate(): void {
    assert(this.role !== 'leader', 'becomePreCandidate from leader');
    // Pre-vote changes neither term nor vote: a partitioned node cannot inflate terms.
    this.role = 'preCandidate';
    this.leader = null;
    this.resetCommon();
  }

  private becomeCandidate(): void {
    assert(this.role !== 'leader', 'becomeCandidate from leader');
    const term = this.term + 1;
    assertSafe(term, 'term');
    this.term = term as Term;
    this.vote = this.id;
    this.role = 'candidate';
    this.leader = null;
    this.snapAssembly = null;
    this.resetCommon();
  }

  private becomeLeader(): void {
    assert(this.role === 'candidate', `becomeLeader from ${this.role}`);
    this.role = 'leader';
    this.leader = this.id;
    this.resetCommon();
    const next = (this.log.lastIndex() + 1) as LogIndex;
    for (const id of [...this.conf.voters, ...this.conf.learners]) this.addProgress(id, next);
    this.rounds.resetLeadership();
    this.uncommittedBytes = 0;
    // The election no-op: commits everything of earlier terms (Figure 8) and unblocks
    // configuration changes and reads (see proposeConfChange, readIndex).
    this.log.appendOne({ term: this.term, index: next, type: 'normal', data: EMPTY_DATA });
    const self = this.progress.get(this.id);
    if (self !== undefined) self.maybeUpdate(this.log.persistedIndex());
    this.flushWanted = true;
  }

  private resetCommon(): void {
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.votes.clear();
    this.progress.clear();
    this.leadTransferee = null;
    this.transferElapsed = 0;
    this.rounds.resetLeadership();
    this.flushWanted = false;
  }

  private resetRandomizedElectionTimeout(): void {
    // In (E, 2E]: above E so that voters, which ignore campaigns for E + 1 ticks after
    // hearing a leader, are not asked while they still refuse.
    const e = this.opts.electionTimeoutTicks;
    this.randomizedElectionTimeout = e + 1 + this.prng.nextInt(e);
  }

  private addProgress(id: NodeId, next: LogIndex): void {
    const pr = new Progress(next, isLearner(this.conf, id), id === this.id, this.opts.inflightMessagesMax, this.opts.inflightBytesMax);
    this.progress.set(id, pr);
  }

  private promotable(): boolean {
    // A voter of the applied configuration may campaign even if an uncommitted entry in
    // its log demotes or removes it: it may be the only node holding that entry (a leader
    // that lost leadership right after proposing its own removal), and only it can then
    // commit it (votes are counted in the latest configuration, dissertation 4.2.2).
    const voter = isVoter(this.conf, this.id) || isVoter(this.confBase, this.id);
    return voter && this.log.unstableSnapshot === null;
  }

  private inLease(): boolean {
    if (!this.opts.checkQuorum) return false;
    return this.role === 'leader' || this.leaderContactTicks <= this.opts.electionTimeoutTicks;
  }

  private notLeader(): NotLeader {
    return { type: 'notLeader', leaderHint: this.leader, term: this.term };
  }

  // -------------------------------------------------------------------------------------
  // Elections
  // -------------------------------------------------------------------------------------

  private hup(transfer: boolean): void {
    if (this.role === 'leader' || !this.promotable()) return;
    if (this.opts.preVote && !transfer) {
      this.becomePreCandidate();
      this.requestVotes(true, false);
    } else {
      this.startCampaign(transfer);
    }
  }

  private startCampaign(transfer: boolean): void {
    this.becomeCandidate();
    this.requestVotes(false, transfer);
  }

  private requestVotes(preVote: boolean, transfer: boolean): void {
    const term = (preVote ? this.term + 1 : this.term) as Term;
    const lastLogIndex = this.log.lastIndex();
    const lastLogTerm = this.log.lastTerm();
    // A candidate's own vote counts once its term and vote are durable (see advance), so
    // it never leads a term it could forget in a crash: leadership reported in a Ready
    // always rests on durable state. A pre-vote changes nothing durable: it counts at once.
    if (preVote) this.votes.set(this.id, true);
    for (const id of this.conf.voters) {
      if (id === this.id) continue;
      if (preVote) {
        this.send({ type: 'requestPreVote', from: this.id, to: id, term, lastLogIndex, lastLogTerm });
      } else {
        this.sendAfterPersist({ type: 'requestVote', from: this.id, to: id, term, lastLogIndex, lastLogTerm, transfer });
      }
    }
    this.tallyVotes();
  }

  private handleVoteRequest(preVote: boolean, transfer: boolean, from: NodeId, term: Term, lastLogIndex: LogIndex, lastLogTerm: Term): void {
    const canVote =
      this.vote === from ||
      (this.vote === null && this.leader === null) ||
      // A pre-vote for a future term: we would be free to vote then.
      (preVote && term > this.term);
    // Lease guard within a term: the guard in `step` drops newer-term campaigns, but a voter
    // can reach the candidate's term without voting (e.g. by adopting the term of a rejected
    // pre-vote response) and would then grant a same-term vote while a leader it heard from
    // may still hold its lease. So no new vote while in the lease, unless the leader itself
    // asked for the transfer. (Found by the soak: seeds 312618709/3 and 1176856198/5.)
    const leaseGuard = !transfer && this.vote !== from && this.inLease();
    // Election restriction: last log term first, then last log index.
    const granted = canVote && !leaseGuard && this.log.isUpToDate(lastLogIndex, lastLogTerm);
    if (preVote) {
      this.sendAfterPersist({ type: 'requestPreVoteResponse', from: this.id, to: from, term: granted ? term : this.term, granted });
      return;
    }
    if (granted) {
      this.electionElapsed = 0;
      this.vote = from;
    }
    this.sendAfterPersist({ type: 'requestVoteResponse', from: this.id, to: from, term: this.term, granted });
  }

  private tallyVotes(): void {
    let granted = 0;
    let rejected = 0;
    for (const id of this.conf.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    const q = quorumSize(this.conf.voters.length);
    if (q > 0 && granted >= q) {
      if (this.role === 'preCandidate') this.startCampaign(false);
      else this.becomeLeader();
    } else if (rejected > this.conf.voters.length - q) {
      this.becomeFollower(this.term, null);
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'appendEntries':
      case 'heartbeat':
      case 'installSnapshot':
        // Someone won this term.
        this.becomeFollower(this.term, m.from);
        this.stepFollower(m);
        return;
      case 'requestVoteResponse':
        if (this.role === 'candidate') {
          this.votes.set(m.from, m.granted);
          this.tallyVotes();
        }
        return;
      case 'requestPreVoteResponse':
        // Granted answers carry term + 1; rejections at a higher term made us a follower.
        if (this.role === 'preCandidate' && (!m.granted || m.term === this.term + 1)) {
          this.votes.set(m.from, m.granted);
          this.tallyVotes();
        }
        return;
      default:
        return;
    }
  }

  // -------------------------------------------------------------------------------------
  // Follower
  // -------------------------------------------------------------------------------------

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'appendEntries':
        this.heardFromLeader(m.from);
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.heardFromLeader(m.from);
        this.handleHeartbeat(m);
        return;
      case 'installSnapshot':
        this.heardFromLeader(m.from);
        this.handleSnapshotChunk(m);
        return;
      case 'timeoutNow':
        // The leader hands over: campaign at once, bypassing pre-vote and voters' lease guard.
        if (this.promotable()) this.hup(true);
        return;
      default:
        return;
    }
  }

  private heardFromLeader(from: NodeId): void {
    this.electionElapsed = 0;
    this.leaderContactTicks = 0;
    this.leader = from;
  }

  private handleAppend(m: AppendEntriesMessage): void {
    const committed = this.log.committed;
    if (m.prevLogIndex < committed) {
      this.respondAppend(m.from, false, committed);
      return;
    }
    if (this.log.matchTerm(m.prevLogIndex, m.prevLogTerm)) {
      const lastNew = (m.prevLogIndex + m.entries.length) as LogIndex;
      if (m.entries.length > 0) {
        const conflict = this.log.findConflict(m.entries);
        if (conflict !== 0) {
          // Invariant: committed entries never conflict (Log Matching + Leader Completeness).
          if (!(conflict > committed)) fail(`entry ${conflict} conflicts at or below commit ${committed}`);
          this.appendToLog(m.entries.slice(conflict - m.prevLogIndex - 1));
        }
      }
      this.log.commitTo(Math.min(m.commit, lastNew) as LogIndex);
      this.respondAppend(m.from, false, lastNew);
      return;
    }
    const hint = this.log.findConflictByTerm(Math.min(m.prevLogIndex, this.log.lastIndex()), m.prevLogTerm);
    this.sendAfterPersist({
      type: 'appendEntriesResponse',
      from: this.id,
      to: m.from,
      term: this.term,
      reject: true,
      index: m.prevLogIndex,
      hintIndex: hint.index,
      hintTerm: hint.term,
    });
  }

  private respondAppend(to: NodeId, reject: boolean, index: LogIndex): void {
    this.sendAfterPersist({
      type: 'appendEntriesResponse',
      from: this.id,
      to,
      term: this.term,
      reject,
      index,
      hintIndex: 0 as LogIndex,
      hintTerm: 0 as Term,
    });
  }

  private handleHeartbeat(m: HeartbeatMessage): void {
    // The leader sends at most our acknowledged match, which is durable here.
    this.log.commitTo(m.commit);
    this.sendAfterPersist({ type: 'heartbeatResponse', from: this.id, to: m.from, term: this.term, seq: m.seq });
  }

  private handleSnapshotChunk(m: InstallSnapshotMessage): void {
    const meta = m.meta;
    if (meta.index <= this.log.committed) {
      // Already have it (e.g. a resent final chunk): report where we are.
      this.snapAssembly = null;
      this.respondAppend(m.from, false, this.log.committed);
      return;
    }
    if (m.offsetBytes === 0) this.snapAssembly = { meta, chunks: [], bytes: 0 };
    const asm = this.snapAssembly;
    if (asm === null || asm.meta.index !== meta.index || asm.meta.term !== meta.term || m.offsetBytes !== asm.bytes) {
      const same = asm !== null && asm.meta.index === meta.index && asm.meta.term === meta.term;
      this.respondSnapshot(m.from, meta, same ? asm.bytes : 0);
      return;
    }
    if (asm.bytes + m.data.byteLength > this.opts.snapshotBytesMax) {
      // Beyond the configured bound: refuse it (the leader keeps retrying; raise the bound).
      this.snapAssembly = null;
      return;
    }
    asm.chunks.push(m.data);
    asm.bytes += m.data.byteLength;
    if (!m.last) {
      this.respondSnapshot(m.from, meta, asm.bytes);
      return;
    }
    this.snapAssembly = null;
    const data = concatChunks(asm.chunks, asm.bytes);
    if (this.restore({ meta, data })) this.respondAppend(m.from, false, this.log.lastIndex());
    else this.respondAppend(m.from, false, this.log.committed);
  }

  private respondSnapshot(to: NodeId, meta: SnapshotMeta, nextOffsetBytes: number): void {
    this.sendAfterPersist({
      type: 'installSnapshotResponse',
      from: this.id,
      to,
      term: this.term,
      snapshotIndex: meta.index,
      snapshotTerm: meta.term,
      nextOffsetBytes,
    });
  }

  /** Installs a complete snapshot; false when the log already covers it. */
  private restore(snapshot: Snapshot): boolean {
    const { index, term, confState } = snapshot.meta;
    if (index <= this.log.committed) return false;
    assertConfState(confState, 'received snapshot');
    if (this.log.matchTerm(index, term)) {
      // Our log already holds the snapshot's last entry: just learn the commit.
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(snapshot);
    this.confBase = confState;
    this.confHistory = [];
    this.setConf(confState);
    return true;
  }

  // -------------------------------------------------------------------------------------
  // Leader
  // -------------------------------------------------------------------------------------

  private stepLeader(m: Message): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return; // not a member (removed, or never was)
    switch (m.type) {
      case 'appendEntriesResponse':
        pr.recentActive = true;
        if (m.reject) {
          let nextProbe = m.hintIndex;
          if (m.hintTerm > 0) nextProbe = this.log.findConflictByTerm(m.hintIndex, m.hintTerm).index;
          if (pr.maybeDecrTo(m.index, nextProbe)) {
            if (pr.state === 'replicate') pr.becomeProbe();
            this.flushWanted = true;
          }
          return;
        }
        if (pr.maybeUpdate(m.index)) {
          if (pr.state === 'probe') {
            pr.becomeReplicate();
          } else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) {
            pr.becomeProbe();
            pr.becomeReplicate();
          } else if (pr.state === 'replicate') {
            pr.inflights.freeLE(m.index);
          }
          this.maybeCommit();
          this.flushWanted = true;
          if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
        } else if (pr.state === 'probe' && pr.probeSent && pr.match === m.index) {
          // An answer to our probe that tells nothing new (e.g. the follower's commit): unpause.
          pr.probeSent = false;
          this.flushWanted = true;
        }
        return;
      case 'heartbeatResponse':
        pr.recentActive = true;
        pr.probeSent = false;
        // The follower is alive but the window is still full: an appendEntriesResponse was
        // lost. Free one slot so replication resumes (a gap is found by the follower's
        // reject); without this the window stays full for the rest of the term.
        if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
        if (m.seq > pr.ackedSeq) pr.ackedSeq = m.seq;
        if (pr.state === 'snapshot' && pr.snapshot !== null && ++pr.snapshot.stalledHeartbeats >= SNAPSHOT_STALL_HEARTBEATS) {
          pr.snapshot.stalledHeartbeats = 0;
          this.sendSnapshotChunk(m.from, pr);
        }
        if (pr.match < this.log.lastIndex()) {
          // The follower lags: send an append even if everything was sent already (it may
          // have been lost, with no later entry to reveal the gap); as etcd-raft does, an
          // empty append probes and the follower's reject rewinds `next`.
          pr.sentCommit = 0 as LogIndex;
          this.flushWanted = true;
        }
        if (!pr.isLearner) this.checkRounds();
        return;
      case 'installSnapshotResponse':
        pr.recentActive = true;
        this.handleSnapshotResponse(m, pr);
        return;
      default:
        return;
    }
  }

  private handleSnapshotResponse(m: InstallSnapshotResponseMessage, pr: Progress): void {
    const t = pr.snapshot;
    if (pr.state !== 'snapshot' || t === null || t.index !== m.snapshotIndex || t.term !== m.snapshotTerm) return;
    t.stalledHeartbeats = 0;
    t.ackedOffsetBytes = m.nextOffsetBytes;
    // After the final chunk the follower answers with appendEntriesResponse instead.
    if (t.lastSent && m.nextOffsetBytes === t.sentOffsetBytes) return;
    this.sendSnapshotChunk(m.from, pr);
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: 'timeoutNow', from: this.id, to, term: this.term });
  }

  private quorumActive(): boolean {
    let active = 0;
    for (const id of this.conf.voters) {
      if (id === this.id || this.progress.get(id)?.recentActive === true) active++;
    }
    return active >= quorumSize(this.conf.voters.length);
  }

  /**
   * The quorum-th highest match (`acks` false) or acknowledged heartbeat round (`acks`
   * true) over the voters: the highest value a quorum has reached. Hot path (every
   * acknowledgement): an insertion sort into a reused array, no closure, no allocation.
   */
  private quorumValue(acks: boolean): number {
    const voters = this.conf.voters;
    const values = this.scratch;
    let n = 0;
    for (const id of voters) {
      const pr = this.progress.get(id);
      const v = pr === undefined ? 0 : acks ? pr.ackedSeq : pr.match;
      // Insert v keeping values[0..n) in descending order.
      let k = n;
      while (k > 0 && (values[k - 1] as number) < v) {
        values[k] = values[k - 1] as number;
        k--;
      }
      values[k] = v;
      n++;
    }
    if (n === 0) return 0;
    return values[quorumSize(n) - 1] as number;
  }

  private maybeCommit(): void {
    const index = this.quorumValue(false) as LogIndex;
    // Figure 8: only an entry of the current term is committed by counting replicas.
    if (index <= this.log.committed || this.log.term(index) !== this.term) return;
    this.log.commitTo(index);
    this.flushWanted = true;
    this.rounds.releaseAwaitingCommit(this.log.committed);
    if (!isVoter(this.conf, this.id) && this.latestConfIndex() <= this.log.committed) {
      // The configuration that removed (or demoted) this leader is committed: step down.
      this.becomeFollower(this.term, null);
    }
  }

  private checkRounds(): void {
    const self = this.progress.get(this.id);
    if (self !== undefined) self.ackedSeq = this.rounds.seq;
    const seq = this.quorumValue(true);
    this.rounds.quorumAcked(seq, this.readStates);
  }

  private bcastHeartbeat(): void {
    const sent = this.timeKnown ? this.nowMs : Number.NaN;
    const leaseVoid = this.leadTransferee !== null || this.leaseVoidTerm === this.term;
    const seq = this.rounds.startRound(sent, leaseVoid);
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      const commit = Math.min(pr.match, this.log.committed) as LogIndex;
      this.send({ type: 'heartbeat', from: this.id, to: id, term: this.term, commit, seq });
    }
    // With a single voter, the leader's own acknowledgement is a quorum.
    this.checkRounds();
  }

  /** Sends whatever is due: a heartbeat round for reads, then appends or snapshots per peer. */
  private flush(): void {
    if (this.role !== 'leader') {
      this.flushWanted = false;
      return;
    }
    if (this.rounds.roundWanted) this.bcastHeartbeat();
    if (!this.flushWanted) return;
    this.flushWanted = false;
    for (const [id, pr] of this.progress) {
      if (id !== this.id) this.sendAppends(id, pr);
    }
  }

  /** Sends appends to `to` while its flow control allows and there is something to say. */
  private sendAppends(to: NodeId, pr: Progress): void {
    const commit = this.log.committed;
    // Bounded by the in-flight window (replicate) or one message (probe).
    while (!pr.isPaused()) {
      const lastIndex = this.log.lastIndex();
      if (pr.next > lastIndex && pr.sentCommit >= commit) return;
      const prevLogIndex = (pr.next - 1) as LogIndex;
      const prevLogTerm = this.log.term(prevLogIndex);
      const entries = pr.next <= lastIndex ? this.log.entries(pr.next, lastIndex + 1, this.opts.appendBytesMax) : [];
      if (prevLogTerm === undefined || entries === null) {
        this.sendSnapshot(to, pr);
        return;
      }
      const msg: AppendEntriesMessage = { type: 'appendEntries', from: this.id, to, term: this.term, prevLogIndex, prevLogTerm, entries, commit };
      this.send(msg);
      pr.sentCommit = commit;
      let bytes = 0;
      for (const e of entries) bytes += entrySizeBytes(e);
      const last = entries.length > 0 ? (entries[entries.length - 1] as Entry).index : prevLogIndex;
      pr.sentEntries(entries.length, last, bytes);
      if (entries.length === 0) return;
    }
  }

  private sendSnapshot(to: NodeId, pr: Progress): void {
    const meta = this.storage.snapshot();
    // Invariant: entries are compacted only behind a snapshot, which covers them.
    assert(meta.index >= this.storage.firstIndex() - 1 && meta.index > 0, `sendSnapshot: no snapshot covers compacted index ${pr.next - 1}`);
    pr.becomeSnapshot(meta.index, meta.term);
    this.sendSnapshotChunk(to, pr);
  }

  private sendSnapshotChunk(to: NodeId, pr: Progress): void {
    const t = pr.snapshot;
    assert(t !== null, 'sendSnapshotChunk outside the snapshot state');
    const chunk = this.storage.snapshotChunk(t.index, t.ackedOffsetBytes, this.opts.snapshotChunkBytes);
    if (chunk.type === 'unavailable') {
      // Replaced by a newer snapshot: start over with it at the next flush.
      pr.abortSnapshot();
      this.flushWanted = true;
      return;
    }
    const meta = this.storage.snapshot();
    assert(meta.index === t.index, `sendSnapshotChunk: storage returned a chunk of ${t.index} but its snapshot is ${meta.index}`);
    this.send({ type: 'installSnapshot', from: this.id, to, term: this.term, meta, offsetBytes: t.ackedOffsetBytes, data: chunk.data, last: chunk.last });
    t.sentOffsetBytes = t.ackedOffsetBytes + chunk.data.byteLength;
    t.lastSent = chunk.last;
  }

  // -------------------------------------------------------------------------------------
  // Log and configuration
  // -------------------------------------------------------------------------------------

  /** Appends entries (possibly truncating a conflicting suffix) and tracks configuration entries. */
  private appendToLog(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    let confChanged = false;
    if (first.index <= this.log.lastIndex()) {
      // Truncation: configurations from removed entries no longer apply (dissertation 4.1).
      while (this.confHistory.length > 0 && (this.confHistory[this.confHistory.length - 1] as ConfAt).index >= first.index) {
        this.confHistory.pop();
        confChanged = true;
      }
    }
    this.log.truncateAndAppend(entries);
    for (const e of entries) {
      if (e.type === 'confChange') {
        this.confHistory.push({ index: e.index, conf: decodeConfChangeEntry(e.data).confState });
        confChanged = true;
      }
    }
    if (confChanged) {
      const latest = this.confHistory[this.confHistory.length - 1];
      this.setConf(latest === undefined ? this.confBase : latest.conf);
    }
  }

  /** Reads configuration entries after the snapshot from storage, page by page. */
  private loadConfHistory(after: LogIndex, last: LogIndex): void {
    let lo = after + 1;
    // Bounded by the log length: each page advances lo by at least one entry.
    while (lo <= last) {
      const page = this.storage.entries(lo as LogIndex, (last + 1) as LogIndex, CONF_SCAN_PAGE_BYTES);
      assert(page.length > 0 && (page[0] as Entry).index === lo, `storage: entries(${lo}) returned a bad page`);
      for (const e of page) {
        if (e.type === 'confChange') this.confHistory.push({ index: e.index, conf: decodeConfChangeEntry(e.data).confState });
      }
      lo += page.length;
    }
    const latest = this.confHistory[this.confHistory.length - 1];
    this.conf = latest === undefined ? this.confBase : latest.conf;
  }

  /** Moves configurations at or below the applied index into the base (they are final). */
  private foldConfHistory(): void {
    let k = 0;
    while (k < this.confHistory.length && (this.confHistory[k] as ConfAt).index <= this.log.applied) {
      this.confBase = (this.confHistory[k] as ConfAt).conf;
      k++;
    }
    if (k > 0) this.confHistory.splice(0, k);
  }

  private latestConfIndex(): LogIndex {
    const latest = this.confHistory[this.confHistory.length - 1];
    return latest === undefined ? (0 as LogIndex) : latest.index;
  }

  private setConf(conf: ConfState): void {
    this.conf = conf;
    if (this.role === 'leader') {
      const next = (this.log.lastIndex() + 1) as LogIndex;
      for (const id of [...conf.voters, ...conf.learners]) {
        const pr = this.progress.get(id);
        if (pr === undefined) this.addProgress(id, next);
        else pr.isLearner = isLearner(conf, id);
      }
      for (const id of [...this.progress.keys()]) {
        if (!isMember(conf, id)) this.progress.delete(id);
      }
      if (this.leadTransferee !== null && !isVoter(conf, this.leadTransferee)) this.leadTransferee = null;
      this.flushWanted = true;
      // A smaller quorum may already be satisfied.
      this.maybeCommit();
      if (this.role === 'leader') this.checkRounds();
    } else if (this.role !== 'follower' && !isVoter(conf, this.id)) {
      this.becomeFollower(this.term, null);
    }
  }

  private committedInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  // -------------------------------------------------------------------------------------
  // Output helpers
  // -------------------------------------------------------------------------------------

  private send(m: Message): void {
    this.msgs.push(m);
  }

  private sendAfterPersist(m: Message): void {
    this.msgsAfterPersist.push(m);
  }

  private hardChanged(): boolean {
    const p = this.prevHard;
    return p.term !== this.term || p.vote !== this.vote || p.commit !== this.log.committed;
  }

  private softChanged(): boolean {
    return this.prevSoft.leader !== this.leader || this.prevSoft.role !== this.role;
  }
}

/** `msgs` without those of a term before `term`; the same array when there are none. */
function dropStale(msgs: Message[], term: Term): Message[] {
  for (const m of msgs) {
    if (m.term < term) return msgs.filter((x) => x.term >= term);
  }
  return msgs;
}

/** Rejects a malformed append (a caller or transport error) before it can touch the log. */
function checkAppend(m: AppendEntriesMessage): void {
  const ok = (v: number): boolean => Number.isSafeInteger(v) && v >= 0;
  if (!ok(m.prevLogIndex) || !ok(m.prevLogTerm) || !ok(m.commit)) {
    throw new RangeError(`RaftNode.step: appendEntries positions must be non-negative safe integers (got prev ${m.prevLogIndex}/${m.prevLogTerm}, commit ${m.commit})`);
  }
  for (let k = 0; k < m.entries.length; k++) {
    const e = m.entries[k] as Entry;
    if (e.index !== m.prevLogIndex + 1 + k || !ok(e.term) || e.term > m.term || !(e.data instanceof Uint8Array)) {
      throw new RangeError(`RaftNode.step: appendEntries entry ${k} is malformed (index ${e.index} after prev ${m.prevLogIndex}, term ${e.term} in message term ${m.term})`);
    }
  }
}

function assertSafe(value: number, what: string): void {
  if (!(Number.isSafeInteger(value) && value >= 0)) fail(`${what} must be a non-negative safe integer (got ${value})`);
}

function concatChunks(chunks: readonly Uint8Array[], bytes: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(bytes);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}
