/**
 * The multi-raft host: many Raft groups in one node, over one storage (group commit
 * across groups) and one transport (messages coalesced per peer per turn). It owns the
 * timers and the I/O the pure core asks for, following the `Ready` ordering rule
 * (raft/types.ts): leader messages leave at once, everything else after the Ready's
 * writes are durable; committed entries are applied after persistence; `advance` last.
 */
import {
  createRaftNode,
  type Entry,
  type LogIndex,
  type Message,
  type NodeId,
  type Prng,
  type ProposeResult,
  type ConfChange,
  type RaftNode,
  type RaftOptions,
  type Ready,
  type Term,
} from '../../raft/index.js';
import type { GroupStorage, NodeStorage } from '../../storage/index.js';
import { toGroupId } from '../../storage/index.js';
import { RateLimiterError } from '../../src/protocol/errors.js';
import { SnapshotPacer } from './snapshot-pacer.js';
import type { GroupStateMachine, GroupStats, GroupView, HostTransport, MonotonicClock } from './types.js';

/** Default cap on snapshot bytes this node sends per second, all groups together (see SnapshotPacer). */
export const DEFAULT_SNAPSHOT_SEND_BYTES_PER_SECOND_MAX = 32 * 1024 * 1024;

export interface MultiRaftHostOptions {
  readonly nodeId: NodeId;
  /** Real time between ticks. [100] */
  readonly tickIntervalMs?: number;
  /** Raft options every group gets (minus id). */
  readonly raft?: Omit<RaftOptions, 'id' | 'tickIntervalMs' | 'appliedIndex'>;
  /**
   * Applied entries between snapshots of a group. A snapshot bounds restart replay and
   * log size: 10,000 batch entries of ~100 mutations is ~1M mutations to replay. [10000]
   */
  readonly snapshotEntriesInterval?: number;
  /** Entries kept in the log behind a snapshot, so slow followers catch up without one. [1000] */
  readonly snapshotTrailingEntries?: number;
  /**
   * Snapshot bytes this node streams to followers per second, all groups together: a
   * replica move (a new learner catching up by snapshot) must not take the network or
   * the disks from the checks. 32 MiB/s moves a 1 GiB group in about 30 s. [32 MiB/s]
   */
  readonly snapshotSendBytesPerSecondMax?: number;
}

export interface HostLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  /** A logger with `bindings` on every line (pino's `child`); each group logs through one bound to its `groupId`. */
  child?(bindings: Record<string, unknown>): HostLogger;
}

/** Plain counters per group, for metrics: bumped per Ready or per message, never per check. */
interface GroupCounters {
  leaderChanges: number;
  elections: number;
  snapshotsSent: number;
  snapshotSentBytes: number;
  snapshotsWritten: number;
  snapshotWrittenBytes: number;
  snapshotAcksReceived: number;
}

export interface MultiRaftHostDeps {
  readonly storage: NodeStorage;
  readonly transport: HostTransport;
  readonly clock: MonotonicClock;
  readonly prng: Prng;
  readonly logger: HostLogger | null;
}

interface Waiter {
  readonly index: number;
  readonly term: number;
  /** Settles once the entry is known committed (`waitCommitted`), not only once it is applied. */
  readonly onCommit: boolean;
  resolve(): void;
  reject(err: Error): void;
}

interface Group {
  readonly id: number;
  readonly node: RaftNode;
  readonly storage: GroupStorage;
  readonly sm: GroupStateMachine;
  /** A Ready is being persisted/applied: no other may be taken (raft/types.ts). */
  busy: boolean;
  waiters: Waiter[];
  /** Waiters in `waiters` that settle on commit (so a message that moves the commit index looks at them). */
  commitWaiters: number;
  lastRole: string;
  /** Role, leader and term as of the last Ready: cheap to read on every check (status() allocates). */
  role: string;
  leader: NodeId | null;
  term: number;
  snapshotting: boolean;
  lastSnapshotIndex: number;
  failed: boolean;
  readonly counters: GroupCounters;
  readonly logger: HostLogger | null;
}

const MESSAGE_TYPES: ReadonlySet<string> = new Set([
  'appendEntries',
  'appendEntriesResponse',
  'heartbeat',
  'heartbeatResponse',
  'requestVote',
  'requestVoteResponse',
  'requestPreVote',
  'requestPreVoteResponse',
  'installSnapshot',
  'installSnapshotResponse',
  'timeoutNow',
]);

/** A shape check for what arrives from the network; `step` validates the rest. */
function asMessage(v: unknown, self: string): Message | null {
  if (typeof v !== 'object' || v === null) return null;
  const m = v as Record<string, unknown>;
  if (typeof m['type'] !== 'string' || !MESSAGE_TYPES.has(m['type'])) return null;
  if (typeof m['from'] !== 'string' || m['to'] !== self || typeof m['term'] !== 'number') return null;
  return v as Message;
}

/**
 * @example
 * ```ts
 * const host = new MultiRaftHost({ nodeId: toNodeId('n1') }, { storage, transport, clock, prng, logger: null });
 * await host.addGroup(1, { bootstrap: { voters: ['n1', 'n2', 'n3'], learners: [] }, stateMachine });
 * host.start();
 * const r = host.propose(1, bytes); // then await host.waitApplied(1, r)
 * ```
 */
export class MultiRaftHost {
  private readonly groups = new Map<number, Group>();
  private readonly dirty = new Set<Group>();
  private scheduled = false;
  private ticker: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly tickIntervalMs: number;
  private readonly snapshotEntriesInterval: number;
  private readonly snapshotTrailingEntries: number;
  private readonly pacer: SnapshotPacer;

  constructor(
    private readonly options: MultiRaftHostOptions,
    private readonly deps: MultiRaftHostDeps,
  ) {
    this.tickIntervalMs = options.tickIntervalMs ?? 100;
    this.snapshotEntriesInterval = options.snapshotEntriesInterval ?? 10_000;
    this.snapshotTrailingEntries = options.snapshotTrailingEntries ?? 1_000;
    if (!Number.isInteger(this.tickIntervalMs) || this.tickIntervalMs < 1) {
      throw new RangeError(`'tickIntervalMs' must be a positive integer (got ${this.tickIntervalMs})`);
    }
    if (!Number.isInteger(this.snapshotEntriesInterval) || this.snapshotEntriesInterval < 1) {
      throw new RangeError(`'snapshotEntriesInterval' must be a positive integer (got ${this.snapshotEntriesInterval})`);
    }
    this.pacer = new SnapshotPacer(options.snapshotSendBytesPerSecondMax ?? DEFAULT_SNAPSHOT_SEND_BYTES_PER_SECOND_MAX, {
      nowMs: () => deps.clock.nowMs(),
      setTimer: (fn, delayMs) => setTimeout(fn, delayMs),
      clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
    });
    deps.transport.onMessage((from, groupId, message) => this.receive(from, groupId, message));
  }

  /**
   * Opens (or, first time, creates) group `groupId` on this node. `bootstrap` is the
   * initial configuration when the group is created; ignored if it already exists.
   */
  async addGroup(groupId: number, init: { readonly bootstrap: { voters: NodeId[]; learners: NodeId[] } | null; readonly stateMachine: GroupStateMachine }): Promise<void> {
    if (this.groups.has(groupId)) throw new RangeError(`group ${groupId} is already hosted`);
    const gid = toGroupId(groupId);
    const storage = this.deps.storage.groupIds().includes(gid)
      ? await this.deps.storage.openGroup(gid)
      : await this.deps.storage.createGroup(gid, { bootstrap: init.bootstrap });
    // The state machine is restored from the latest snapshot before the core starts, so
    // the core hands out only the committed entries after what the machine holds.
    const snap = storage.snapshot();
    if (snap.index > init.stateMachine.appliedIndex()) await init.stateMachine.restore(snap, storage.readSnapshot());
    const node = createRaftNode(
      { ...this.options.raft, id: this.options.nodeId, tickIntervalMs: this.tickIntervalMs, appliedIndex: init.stateMachine.appliedIndex() as LogIndex },
      { storage, prng: this.deps.prng },
    );
    const group: Group = {
      id: groupId,
      node,
      storage,
      sm: init.stateMachine,
      busy: false,
      waiters: [],
      commitWaiters: 0,
      lastRole: 'follower',
      role: 'follower',
      leader: null,
      term: node.status().term,
      snapshotting: false,
      lastSnapshotIndex: snap.index,
      failed: false,
      counters: { leaderChanges: 0, elections: 0, snapshotsSent: 0, snapshotSentBytes: 0, snapshotsWritten: 0, snapshotWrittenBytes: 0, snapshotAcksReceived: 0 },
      logger: this.deps.logger?.child?.({ groupId }) ?? this.deps.logger,
    };
    this.groups.set(groupId, group);
    this.markDirty(group);
  }

  /** Starts ticking every group. */
  start(): void {
    if (this.ticker !== null) return;
    this.ticker = setInterval(() => this.tickAll(), this.tickIntervalMs);
  }

  /** Stops ticking and processing; pending waiters are rejected as unavailable. */
  stop(): void {
    this.stopped = true;
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
    this.pacer.close();
    for (const g of this.groups.values()) this.rejectWaiters(g, 'RL_ERR_UNAVAILABLE', 'node is shutting down');
  }

  /** Starts an election in `groupId` now (bootstrap with a chosen first leader; tests). */
  campaign(groupId: number): void {
    const g = this.group(groupId);
    g.node.setTimeMs(this.deps.clock.nowMs());
    g.node.campaign();
    this.markDirty(g);
  }

  /** Proposes `data` as one entry of `groupId`. */
  propose(groupId: number, data: Uint8Array): ProposeResult {
    const g = this.group(groupId);
    g.node.setTimeMs(this.deps.clock.nowMs());
    const r = g.node.propose(data);
    if (r.type === 'accepted') this.markDirty(g);
    return r;
  }

  /**
   * Resolves once the entry at (index, term) is applied on this node; rejects with
   * RL_ERR_NOT_LEADER when leadership is lost first (the entry may or may not commit
   * later: retries must carry an idempotency id), or when another entry took its index.
   */
  waitApplied(groupId: number, at: { readonly index: LogIndex; readonly term: Term }): Promise<void> {
    const g = this.group(groupId);
    if (g.sm.appliedIndex() >= at.index) {
      return g.storage.term(at.index) === at.term || at.index < g.storage.firstIndex()
        ? Promise.resolve()
        : Promise.reject(this.notLeader(g, 'the entry was replaced by another leader'));
    }
    return new Promise((resolve, reject) => {
      g.waiters.push({ index: at.index, term: at.term, onCommit: false, resolve, reject });
    });
  }

  /**
   * Resolves once the entry at (index, term) is known committed on this node, which on a
   * leader can be before it is applied: while the leader persists its next batch, a
   * follower's acknowledgement commits the previous one, and its answers need not wait
   * for that write (applying still happens in order, in the next Ready). For callers whose
   * answer does not depend on the applied state (the check path decides before it
   * proposes). Rejects like `waitApplied`.
   */
  waitCommitted(groupId: number, at: { readonly index: LogIndex; readonly term: Term }): Promise<void> {
    const g = this.group(groupId);
    if (g.sm.appliedIndex() >= at.index) return this.waitApplied(groupId, at);
    if (g.node.commitIndex() >= at.index && g.storage.term(at.index) === at.term) return Promise.resolve();
    g.commitWaiters++;
    return new Promise((resolve, reject) => {
      g.waiters.push({ index: at.index, term: at.term, onCommit: true, resolve, reject });
    });
  }

  /** Settles `waitCommitted` waiters whose entries the commit index now covers (after a message moved it). */
  private settleCommitted(g: Group): void {
    const commit = g.node.commitIndex();
    if (g.waiters.length === 0 || (g.waiters[0] as Waiter).index > commit) return;
    const keep: Waiter[] = [];
    for (const w of g.waiters) {
      if (!w.onCommit || w.index > commit) keep.push(w);
      else {
        g.commitWaiters--;
        if (g.storage.term(w.index as LogIndex) === w.term) w.resolve();
        else w.reject(this.notLeader(g, 'the entry was replaced by another leader'));
      }
    }
    g.waiters = keep;
  }

  /** True when this node leads `groupId` and holds a valid lease now. */
  leaseValid(groupId: number): boolean {
    const g = this.groups.get(groupId);
    return g !== undefined && g.node.leaseValid(this.deps.clock.nowMs());
  }

  /**
   * True when this node leads `groupId` and has applied an entry of its own term: only
   * then does its state machine hold every entry committed by earlier leaders, so only
   * then may it decide (and it must have applied everything up to `fenceIndex` too).
   */
  leaderReady(groupId: number, fenceIndex = 0): boolean {
    const g = this.groups.get(groupId);
    if (g === undefined || g.failed || g.role !== 'leader') return false;
    const applied = g.sm.appliedIndex();
    return applied >= fenceIndex && applied >= g.storage.firstIndex() - 1 && g.storage.term(applied as LogIndex) === g.term;
  }

  /** The leader this node knows of for `groupId` (as of its last Ready), or null. */
  leaderOf(groupId: number): NodeId | null {
    return this.groups.get(groupId)?.leader ?? null;
  }

  /** True when `groupId` has a replica on this node. */
  hosts(groupId: number): boolean {
    return this.groups.has(groupId);
  }

  /** Index of the last entry in the group's log on this node. */
  lastIndex(groupId: number): number {
    return this.group(groupId).storage.lastIndex();
  }

  /**
   * Proposes one single-server membership change of `groupId` (this node must lead it).
   * The core refuses a second change while one is uncommitted, a promotion of a learner
   * that has not caught up, and nonsense changes; the caller retries later.
   */
  proposeConfChange(groupId: number, change: ConfChange): ProposeResult {
    const g = this.group(groupId);
    g.node.setTimeMs(this.deps.clock.nowMs());
    const r = g.node.proposeConfChange(change);
    if (r.type === 'accepted') {
      g.logger?.info({ change: change.type, nodeId: change.nodeId, index: r.index }, 'membership change proposed');
      this.markDirty(g);
    }
    return r;
  }

  /**
   * Leader only: how far each member's log matches this leader's (entries), and the commit
   * index; null when this node does not lead `groupId`.
   */
  progressOf(groupId: number): { readonly commit: number; readonly match: ReadonlyMap<NodeId, number> } | null {
    const g = this.groups.get(groupId);
    if (g === undefined || g.failed || g.role !== 'leader') return null;
    const s = g.node.status();
    const match = new Map<NodeId, number>();
    for (const [peer, pr] of s.progress) match.set(peer, pr.match);
    return { commit: s.commit, match };
  }

  /**
   * Stops hosting `groupId` here and deletes its records: for a replica the group has
   * removed from its membership (the placement moved it away). Waiters are rejected; later
   * messages for the group are dropped. A Ready being persisted finishes first.
   */
  async removeGroup(groupId: number): Promise<void> {
    const g = this.groups.get(groupId);
    if (g === undefined) return;
    this.groups.delete(groupId);
    this.dirty.delete(g);
    this.rejectWaiters(g, 'RL_ERR_UNAVAILABLE', `group ${groupId} moved off node ${this.options.nodeId}`);
    // Bounded wait (5 s) for an in-flight Ready: its persist resolves or fails on its own.
    for (let i = 0; i < 500 && g.busy && !g.failed; i++) await new Promise((r) => setTimeout(r, 10));
    g.failed = true; // whatever still holds it does nothing more
    await this.deps.storage.dropGroup(toGroupId(groupId));
    g.logger?.info({}, 'group removed from this node');
  }

  /**
   * Stops hosting `groupId` here and keeps its records: for a group whose storage failed
   * its checksums (marked corrupt), which the node rebuilds rather than drops. Waiters are
   * rejected; later messages for the group are dropped.
   */
  async detachGroup(groupId: number): Promise<void> {
    const g = this.groups.get(groupId);
    if (g === undefined) return;
    this.groups.delete(groupId);
    this.dirty.delete(g);
    this.rejectWaiters(g, 'RL_ERR_UNAVAILABLE', `group ${groupId} on node ${this.options.nodeId} is being rebuilt after a storage failure`);
    for (let i = 0; i < 500 && g.busy && !g.failed; i++) await new Promise((r) => setTimeout(r, 10));
    g.failed = true;
    g.logger?.warn({}, 'group detached from this node for a rebuild');
  }

  transferLeadership(groupId: number, to: NodeId): void {
    const g = this.group(groupId);
    g.node.setTimeMs(this.deps.clock.nowMs());
    g.node.transferLeadership(to);
    this.markDirty(g);
  }

  view(groupId: number): GroupView | null {
    const g = this.groups.get(groupId);
    if (g === undefined) return null;
    const s = g.node.status();
    return { groupId, role: s.role, leader: s.leader, term: s.term, commit: s.commit, applied: s.applied, confState: s.confState, confStateApplied: s.confStateApplied };
  }

  groupIds(): number[] {
    return [...this.groups.keys()];
  }

  /** Counters and gauges of `groupId` for metrics, or null when it is not hosted here. Allocates: call at scrape time. */
  groupStats(groupId: number): GroupStats | null {
    const g = this.groups.get(groupId);
    if (g === undefined) return null;
    const s = g.node.status();
    const lag = new Map<NodeId, number>();
    for (const [peer, pr] of s.progress) if (peer !== this.options.nodeId) lag.set(peer, Math.max(0, s.lastIndex - pr.match));
    return {
      groupId,
      role: s.role,
      leader: s.leader,
      term: s.term,
      commit: s.commit,
      applied: s.applied,
      lastIndex: s.lastIndex,
      pendingEntries: s.role === 'leader' ? Math.max(0, s.lastIndex - g.sm.appliedIndex()) : 0,
      replicationLagEntries: lag,
      ...g.counters,
      failed: g.failed,
    };
  }

  private group(groupId: number): Group {
    const g = this.groups.get(groupId);
    if (g === undefined) throw new RateLimiterError('RL_ERR_UNAVAILABLE', `group ${groupId} is not hosted on node ${this.options.nodeId}`);
    if (g.failed) throw new RateLimiterError('RL_ERR_STORAGE_CORRUPT', `group ${groupId} on node ${this.options.nodeId} stopped after a storage failure`);
    return g;
  }

  private receive(from: string, groupId: number, raw: unknown): void {
    if (this.stopped) return;
    const g = this.groups.get(groupId);
    if (g === undefined || g.failed) return; // not (or no longer) a member: the sender retries or gives up
    const m = asMessage(raw, this.options.nodeId);
    if (m === null || m.from !== from) {
      this.deps.logger?.warn({ from, groupId }, 'dropped a malformed raft message');
      return;
    }
    if (m.type === 'installSnapshotResponse') g.counters.snapshotAcksReceived++;
    try {
      g.node.setTimeMs(this.deps.clock.nowMs());
      g.node.step(m);
      if (g.commitWaiters > 0) this.settleCommitted(g);
    } catch (err) {
      this.deps.logger?.warn({ err, from, groupId, type: m.type }, 'raft rejected a message');
      return;
    }
    this.markDirty(g);
  }

  private tickAll(): void {
    if (this.stopped) return;
    const now = this.deps.clock.nowMs();
    for (const g of this.groups.values()) {
      if (g.failed) continue;
      g.node.setTimeMs(now);
      g.node.tick();
      this.markDirty(g);
    }
  }

  private markDirty(g: Group): void {
    this.dirty.add(g);
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    // Once per event-loop turn: every group's Ready of this turn persists in one
    // storage batch (group commit) and its messages leave in one frame per peer.
    setImmediate(() => {
      this.scheduled = false;
      this.processDirty();
    });
  }

  private processDirty(): void {
    const groups = [...this.dirty];
    this.dirty.clear();
    for (const g of groups) {
      if (g.busy || g.failed || this.stopped || !g.node.hasReady()) continue;
      this.handleReady(g, g.node.ready());
    }
  }

  private send(g: Group, messages: readonly Message[]): void {
    for (const m of messages) {
      if (m.type === 'installSnapshot') {
        if (m.offsetBytes === 0) {
          g.counters.snapshotsSent++;
          g.logger?.info({ to: m.to, snapshotIndex: m.meta.index }, 'sending a snapshot');
        }
        g.counters.snapshotSentBytes += m.data.byteLength;
        // Paced: the chunk leaves once the node's snapshot byte rate allows (a group
        // removed meanwhile sends nothing more; Raft resends what is lost).
        this.pacer.submit(`${g.id}:${m.to}`, m.data.byteLength, () => {
          if (!this.stopped && this.groups.get(g.id) === g) this.deps.transport.send(m.to, g.id, m);
        });
        continue;
      }
      this.deps.transport.send(m.to, g.id, m);
    }
  }

  private handleReady(g: Group, ready: Ready): void {
    g.busy = true;
    const previousTerm = g.term;
    if (ready.hardState !== null) g.term = ready.hardState.term;
    // An election starts when this node becomes a candidate, or campaigns again in a new term.
    if ((ready.softState?.role ?? g.role) === 'candidate' && (g.role !== 'candidate' || g.term > previousTerm)) {
      g.counters.elections++;
      g.logger?.info({ term: g.term }, 'election started');
    }
    if (ready.softState !== null) {
      const { role, leader } = ready.softState;
      if (leader !== g.leader) {
        if (leader !== null) g.counters.leaderChanges++;
        g.logger?.info({ leader, previousLeader: g.leader, role, term: g.term }, leader === null ? 'leader lost' : 'leader changed');
      }
      g.role = role;
      g.leader = leader;
    }
    this.send(g, ready.messages);
    let persisted: Promise<void>;
    try {
      persisted = g.storage.persist(ready); // the in-memory view changes now; durability follows
    } catch (err) {
      this.fail(g, err);
      return;
    }
    // Committed entries already durable here (below this Ready's first new entry) need not
    // wait for this Ready's fsync: applying them now takes one fsync off every answer on
    // the leader, whose next batch is always being persisted while the last one commits.
    // Entries that arrive in this Ready, and anything after a snapshot, wait (Ready rule 4).
    const committed = ready.committedEntries;
    const firstNew = ready.entries[0]?.index ?? Number.POSITIVE_INFINITY;
    let early = 0;
    if (ready.snapshot === null) while (early < committed.length && (committed[early] as Entry).index < firstNew) early++;
    if (early > 0) {
      try {
        this.apply(g, early === committed.length ? committed : committed.slice(0, early));
      } catch (err) {
        this.fail(g, err);
        return;
      }
    }
    if (!ready.mustSync && ready.snapshot === null && ready.entries.length === 0) {
      // Nothing here needs to be durable before going on: no entries, no term or vote
      // (Raft's commit index is volatile state; its write is ordered after everything this
      // group wrote before, and nothing acknowledged waits on it). Its messages acknowledge
      // only what earlier Readys made durable. So the group takes its next Ready now
      // instead of one LevelDB write later: on every replica, each batch would otherwise
      // wait for the commit-only write of the batch before it.
      persisted.catch((err: unknown) => this.fail(g, err));
      try {
        this.send(g, ready.messagesAfterPersist);
        this.finishReady(g, ready);
      } catch (err) {
        this.fail(g, err);
      }
      return;
    }
    persisted
      .then(async () => {
        if (this.stopped) return;
        this.send(g, ready.messagesAfterPersist);
        if (ready.snapshot !== null) {
          await g.sm.restore(ready.snapshot.meta, g.storage.readSnapshot());
          // The installed snapshot is this replica's latest: the next local one must come after it
          // (storage refuses a snapshot at an index it already holds, which would stop the group).
          g.lastSnapshotIndex = Math.max(g.lastSnapshotIndex, ready.snapshot.meta.index);
        }
        if (early < committed.length) this.apply(g, early === 0 ? committed : committed.slice(early));
        this.finishReady(g, ready);
      })
      .catch((err: unknown) => this.fail(g, err));
  }

  /** The end of a Ready once its writes may be relied on: role news, `advance`, and the group is free for its next Ready. */
  private finishReady(g: Group, ready: Ready): void {
    if (ready.softState !== null) this.roleChanged(g, ready);
    g.node.advance(ready);
    if (g.commitWaiters > 0) this.settleCommitted(g);
    g.busy = false;
    this.maybeSnapshot(g);
    this.markDirty(g);
  }

  private apply(g: Group, entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.index <= g.sm.appliedIndex()) continue; // restored from a snapshot that covers it
      // Index 1 is the bootstrap configuration every fresh group starts with: not news.
      if (e.type !== 'normal' && e.index > 1) g.logger?.info({ index: e.index, term: e.term, type: e.type }, 'membership change applied');
      g.sm.apply(e);
      this.settleWaiters(g, e);
    }
    const last = entries[entries.length - 1];
    if (last !== undefined) void g.storage.setAppliedIndex(g.sm.appliedIndex() as LogIndex).catch((err: unknown) => this.fail(g, err));
  }

  private settleWaiters(g: Group, e: Entry): void {
    if (g.waiters.length === 0) return;
    const keep: Waiter[] = [];
    for (const w of g.waiters) {
      if (w.index > e.index) {
        keep.push(w);
        continue;
      }
      if (w.onCommit) g.commitWaiters--;
      if (w.index === e.index && w.term === e.term) w.resolve();
      else w.reject(this.notLeader(g, 'the entry was replaced by another leader'));
    }
    g.waiters = keep;
  }

  private roleChanged(g: Group, ready: Ready): void {
    const soft = ready.softState;
    if (soft === null) return;
    const s = g.node.status();
    if (g.lastRole === 'leader' && soft.role !== 'leader') {
      this.rejectWaiters(g, 'RL_ERR_NOT_LEADER', 'leadership was lost before the entry was applied');
    }
    g.lastRole = soft.role;
    g.sm.onRoleChange(soft.role, soft.leader, s.term);
  }

  private rejectWaiters(g: Group, code: 'RL_ERR_NOT_LEADER' | 'RL_ERR_UNAVAILABLE', why: string): void {
    const waiters = g.waiters;
    g.waiters = [];
    g.commitWaiters = 0;
    for (const w of waiters) w.reject(code === 'RL_ERR_NOT_LEADER' ? this.notLeader(g, why) : new RateLimiterError(code, why));
  }

  private notLeader(g: Group, why: string): RateLimiterError {
    const leader = g.node.status().leader;
    return new RateLimiterError('RL_ERR_NOT_LEADER', `group ${g.id}: ${why}`, { details: { groupId: g.id, leader } });
  }

  /** Checkpoints the state machine and compacts the log behind it, one group at a time, off the check path. */
  private maybeSnapshot(g: Group): void {
    const applied = g.sm.appliedIndex();
    if (g.snapshotting || applied - g.lastSnapshotIndex < this.snapshotEntriesInterval) return;
    g.snapshotting = true;
    const confState = g.node.status().confStateApplied;
    const writer = g.storage.beginSnapshot(applied as LogIndex, confState);
    const chunks = g.sm.snapshotChunks();
    void (async () => {
      try {
        let bytes = 0;
        for (const chunk of chunks) {
          bytes += chunk.byteLength;
          await writer.write(chunk);
          await new Promise<void>((r) => setImmediate(r)); // yield between chunks: checks keep flowing
        }
        const done = await writer.commit();
        if (done.type === 'committed') {
          g.lastSnapshotIndex = applied;
          g.counters.snapshotsWritten++;
          g.counters.snapshotWrittenBytes += bytes;
          const upTo = applied - this.snapshotTrailingEntries;
          if (upTo >= g.storage.firstIndex()) await g.storage.compact(upTo as LogIndex);
        }
      } catch (err) {
        await writer.abort().catch(() => undefined);
        this.deps.logger?.error({ err, groupId: g.id }, 'snapshot failed');
      } finally {
        g.snapshotting = false;
      }
    })();
  }

  private fail(g: Group, err: unknown): void {
    if (g.failed) return;
    g.failed = true;
    this.deps.logger?.error({ err, groupId: g.id }, 'group stopped: storage failure');
    this.rejectWaiters(g, 'RL_ERR_UNAVAILABLE', 'group stopped after a storage failure');
  }
}
