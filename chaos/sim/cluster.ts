import { createRaftNode, decodeConfChangeEntry, MemoryStorage } from '../../raft/index.js';
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  NodeId,
  ProposeResult,
  RaftNode,
  RaftStatus,
  Ready,
  ReadIndexResult,
  Role,
  Snapshot,
  TransferResult,
} from '../../raft/index.js';
import { toLogIndex, toNodeId } from '../../raft/index.js';
import { DriftingClock, VirtualClock } from './clock.js';
import { SimDisk } from './disk.js';
import { TimedHeap } from './heap.js';
import { fail } from './invariants.js';
import type { ConfigChecker, EntryFacts, LeaseChecker, RestartImage, SafetyChecker } from './invariants.js';
import { SimNetwork } from './network.js';
import type { Prng } from './prng.js';
import type { SimProfile } from './schedule.js';
import { CounterMachine, decodeSnapshot, entryHash } from './state-machine.js';
import type { Trace } from './trace.js';
import { checkDurableBeforeSend } from './contract.js';
import { describeMessage, describeReady, describeResult } from './describe.js';

/**
 * N Raft nodes in one process on the simulated clock, network and disk. The cluster owns
 * the event queue (ticks, fsync completions, restarts) and the network's delivery queue,
 * and carries out each node's `Ready` exactly as the ordering rule on `Ready` in
 * raft/types.ts says:
 *
 * 1. the Ready's writes (snapshot, entries, hard state) go to the node's disk as one
 *    atomic batch, *pending* until an fsync completes `fsyncMs` later (or never, if the
 *    node crashes first);
 * 2. `messages` are sent at once, in parallel with the write;
 * 3. `messagesAfterPersist` are sent only when the fsync completes (rule 3), then
 * 4. the snapshot is restored and `committedEntries` applied, 5. read states handed to
 *    the clients, and 6. `advance` is called. Until then the node keeps ticking and
 *    stepping messages, but no new Ready is taken (one outstanding at a time).
 *
 * A Ready whose `mustSync` is false is completed at once; its write stays pending (it can
 * only be a commit-index update, which the contract says may be lost).
 *
 * The node's `MemoryStorage` is its *persisted* image: the core reads it, and it changes
 * only when writes become durable, so it is exactly what a restart finds.
 */

/** What one Ready writes to disk, in the order the contract gives. */
export interface DiskWrite {
  readonly snapshot: Snapshot | null;
  readonly entries: readonly Entry[];
  readonly hardState: HardState | null;
}

function applyDiskWrite(storage: MemoryStorage, w: DiskWrite): void {
  if (w.snapshot !== null) storage.applySnapshot(w.snapshot);
  storage.append(w.entries);
  if (w.hardState !== null) storage.setHardState(w.hardState);
}

/**
 * How much likelier a crash before fsync is for a Ready that changes term or vote:
 * elections are rare next to appends, and a crash there is what tests vote durability.
 */
const VOTE_CRASH_BIAS = 10;

type SimEvent =
  | { readonly kind: 'tick'; readonly node: number; readonly gen: number }
  | { readonly kind: 'crash'; readonly node: number; readonly incarnation: number }
  | { readonly kind: 'fsync'; readonly node: number; readonly incarnation: number }
  | { readonly kind: 'restart'; readonly node: number; readonly incarnation: number };

/** Called by the cluster so the client workload can acknowledge writes and serve reads. */
export interface ClientHooks {
  /** Node `node` applied `entry`; `write` is the counter it changed, if a client write. */
  onApplied(node: number, entry: Entry, write: { readonly key: string; readonly value: number } | null): void;
  /** Node `node` confirmed ReadIndex `ctx` at `index`. */
  onReadState(node: number, ctx: string, index: number): void;
  /** Node `node` crashed: its pending client requests get no answer. */
  onNodeDown(node: number): void;
}

interface InflightReady {
  readonly ready: Ready;
  readonly writeId: number;
}

/** One simulated machine: its disk and clock survive crashes; its process does not. */
export class SimNode {
  raft: RaftNode | null = null;
  incarnation = 0;
  readonly storage: MemoryStorage;
  readonly disk: SimDisk<MemoryStorage, DiskWrite>;
  readonly clock: DriftingClock;
  sm = new CounterMachine();
  inflight: InflightReady | null = null;
  /** Role, term and leader as of the last Ready taken (this incarnation). */
  role: Role = 'follower';
  term = 0;
  vote: NodeId | null = null;
  leader: NodeId | null = null;
  tickGen = 0;
  lastTickLocalMs = 0;
  readonly prng: Prng;

  constructor(
    readonly num: number,
    readonly id: NodeId,
    storage: MemoryStorage,
    clock: DriftingClock,
    prng: Prng,
  ) {
    this.storage = storage;
    this.disk = new SimDisk<MemoryStorage, DiskWrite>(storage, applyDiskWrite);
    this.clock = clock;
    this.prng = prng;
  }

  get up(): boolean {
    return this.raft !== null;
  }
}

export class SimCluster {
  readonly clock = new VirtualClock();
  readonly network: SimNetwork<Message>;
  readonly nodes: readonly SimNode[];
  hooks: ClientHooks | null = null;
  fsyncMsMax: number;
  /** Per-Ready probability of a crash before its fsync (0 in the heal phase). */
  crashMidWrite: number;
  private readonly events = new TimedHeap<SimEvent>();
  private readonly numById = new Map<string, number>();
  private leaseHolders: number[] = [];
  /** Crashes injected between a Ready's write and its fsync. */
  midWriteCrashes = 0;
  /** Crash-restarts of a voter while a campaign message was in flight to it. */
  campaignRestarts = 0;
  /** Per campaign message, probability of restarting its recipient first (0 in the heal phase). */
  campaignRestart: number;
  /** Events processed so far (the step counter of the run). */
  eventsProcessed = 0;

  constructor(
    readonly profile: SimProfile,
    prng: Prng,
    readonly checker: SafetyChecker,
    private readonly leaseChecker: LeaseChecker,
    private readonly configChecker: ConfigChecker,
    readonly trace: Trace,
  ) {
    this.network = new SimNetwork<Message>(prng.fork(), profile.network);
    this.fsyncMsMax = profile.fsyncMsMax;
    this.crashMidWrite = profile.faults.crashMidWrite;
    this.campaignRestart = profile.faults.campaignRestart;
    const ids: NodeId[] = [];
    for (let num = 1; num <= profile.nodeCount; num++) ids.push(toNodeId(`n${num}`));
    const conf: ConfState = { voters: ids, learners: [] };
    const nodes: SimNode[] = [];
    ids.forEach((id, i) => {
      const num = i + 1;
      this.numById.set(id, num);
      const clock = new DriftingClock({ driftMax: profile.clockDriftMax, startLocalMs: prng.intBetween(0, 1_000_000) });
      if (profile.clockDriftMax > 0) clock.setRate(0, 1 + prng.floatBetween(-profile.clockDriftMax, profile.clockDriftMax));
      nodes.push(new SimNode(num, id, MemoryStorage.bootstrap(conf), clock, prng.fork()));
    });
    this.nodes = nodes;
    for (const n of nodes) {
      checker.addNode(n.num);
      this.start(n);
    }
  }

  get nowMs(): number {
    return this.clock.nowMs;
  }

  node(num: number): SimNode {
    const n = this.nodes[num - 1];
    if (n === undefined) throw new RangeError(`No simulated node ${num}`);
    return n;
  }

  numOf(id: NodeId): number {
    const num = this.numById.get(id);
    if (num === undefined) throw new Error(`Invariant: message names unknown node ${id}`);
    return num;
  }

  idOf(num: number): NodeId {
    return this.node(num).id;
  }

  private log(text: string): void {
    this.trace.add(this.clock.nowMs, text);
  }

  localMs(n: SimNode): number {
    return n.clock.localAt(this.clock.nowMs);
  }

  // -------------------------------------------------------------------------------------
  // Lifecycle: start, crash, restart
  // -------------------------------------------------------------------------------------

  private restartImage(n: SimNode): RestartImage {
    const s = n.storage;
    const meta = s.snapshot();
    const chain = meta.index === 0 ? 0 : decodeSnapshot(s.snapshotData().data).chain;
    // Entries kept before the snapshot index (compaction may keep some) are covered by
    // the snapshot; the checker's view of the log starts at the snapshot.
    const first = Math.max(s.firstIndex(), meta.index + 1);
    const last = s.lastIndex();
    const entries: EntryFacts[] =
      last >= first ? s.entries(toLogIndex(first), toLogIndex(last + 1), Number.MAX_SAFE_INTEGER).map(factsOf) : [];
    const hs = s.initialState().hardState;
    return { base: { index: meta.index, term: meta.term, chain }, entries, term: hs.term, commit: hs.commit };
  }

  private start(n: SimNode): void {
    const p = this.profile;
    this.checker.restarted(n.num, this.restartImage(n));
    n.incarnation++;
    n.sm = new CounterMachine();
    const snap = n.storage.snapshotData();
    if (snap.meta.index > 0) {
      const doc = n.sm.restore(snap.data);
      if (doc.index !== snap.meta.index) {
        throw new Error(`Invariant: snapshot data index ${doc.index} differs from its meta ${snap.meta.index}`);
      }
    }
    const raft = createRaftNode(
      {
        id: n.id,
        electionTimeoutTicks: p.electionTimeoutTicks,
        heartbeatIntervalTicks: p.heartbeatIntervalTicks,
        tickIntervalMs: p.tickIntervalMs,
        clockDriftMsMax: p.clockDriftMsMax,
        preVote: p.preVote,
        checkQuorum: true,
        snapshotChunkBytes: p.snapshotChunkBytes,
        appendBytesMax: p.appendBytesMax,
        inflightMessagesMax: p.inflightMessagesMax,
      },
      { storage: n.storage, prng: n.prng.fork() },
    );
    n.raft = raft;
    n.inflight = null;
    n.role = 'follower';
    n.term = n.storage.initialState().hardState.term;
    n.vote = n.storage.initialState().hardState.vote;
    n.leader = null;
    const local = this.localMs(n);
    raft.setTimeMs(local);
    n.lastTickLocalMs = local;
    if (this.trace.enabled) {
      const hs = n.storage.initialState().hardState;
      this.log(
        `${n.id} start #${n.incarnation} term=${hs.term} vote=${hs.vote ?? '-'} commit=${hs.commit} snap=${snap.meta.index} log=${n.storage.firstIndex()}..${n.storage.lastIndex()}`,
      );
    }
    this.scheduleTick(n);
    this.pump(n);
  }

  /** Kills the node's process: unsynced writes are lost (but for a flushed prefix), in-flight work vanishes. */
  crash(num: number, flushedWrites: number): void {
    const n = this.node(num);
    if (n.raft === null) return;
    const pending = n.disk.pendingCount;
    const lost = n.disk.crash(flushedWrites);
    n.raft = null;
    n.inflight = null;
    n.tickGen++;
    this.checker.crashed(num);
    if (this.trace.enabled) this.log(`${n.id} CRASH pending=${pending} flushed=${pending - lost} lost=${lost}`);
    this.hooks?.onNodeDown(num);
  }

  /**
   * Crashes the node (a random prefix of its unsynced writes may survive, per the
   * profile) and schedules its restart after a random delay.
   */
  crashAndRestart(num: number): void {
    const n = this.node(num);
    if (n.raft === null) return;
    const p = this.profile;
    const flushed = n.prng.chance(p.crashFlushProbability) ? n.prng.intBetween(0, n.disk.pendingCount) : 0;
    this.crash(num, flushed);
    // A quick restart half the time: a node back before anyone noticed is the hard case.
    const delayMs = n.prng.chance(0.5) ? n.prng.floatBetween(0.5, 5) : n.prng.floatBetween(1, p.restartDelayMsMax);
    this.scheduleRestart(num, delayMs);
  }

  /**
   * With the profile's probability, crashes a voter a campaign message is on its way to and
   * restarts it before the message can arrive (network delays are at least 1 ms).
   */
  private maybeRestartVoter(num: number): void {
    const v = this.node(num);
    if (v.raft === null || !v.prng.chance(this.campaignRestart)) return;
    if (this.trace.enabled) this.log(`${v.id} crash while a campaign message is in flight to it`);
    this.campaignRestarts++;
    this.crash(num, 0);
    this.scheduleRestart(num, v.prng.floatBetween(0.05, 0.9));
  }

  /** Restarts a crashed node `delayMs` from now. */
  scheduleRestart(num: number, delayMs: number): void {
    const n = this.node(num);
    this.events.push(this.clock.nowMs + delayMs, { kind: 'restart', node: num, incarnation: n.incarnation });
  }

  restartNow(num: number): void {
    const n = this.node(num);
    if (n.raft !== null) return;
    this.start(n);
  }

  // -------------------------------------------------------------------------------------
  // Time: ticks on each node's own clock
  // -------------------------------------------------------------------------------------

  private scheduleTick(n: SimNode): void {
    const lateness = this.profile.tickLatenessMsMax === 0 ? 0 : n.prng.floatBetween(0, this.profile.tickLatenessMsMax);
    const nextLocal = n.lastTickLocalMs + this.profile.tickIntervalMs + lateness;
    const at = Math.max(this.clock.nowMs, n.clock.realWhen(nextLocal));
    this.events.push(at, { kind: 'tick', node: n.num, gen: n.tickGen });
  }

  /** Changes a node's clock rate from now on (within the profile's drift bound). */
  setClockRate(num: number, rate: number): void {
    const n = this.node(num);
    n.clock.setRate(this.clock.nowMs, rate);
    if (this.trace.enabled) this.log(`${n.id} clock rate ${rate.toFixed(4)}`);
    if (n.raft !== null) {
      n.tickGen++;
      this.scheduleTick(n);
    }
  }

  // -------------------------------------------------------------------------------------
  // The event loop
  // -------------------------------------------------------------------------------------

  /** Time of the next event, or undefined if there is none. */
  nextEventMs(): number | undefined {
    const e = this.events.peek()?.timeMs;
    const d = this.network.nextDueMs();
    if (e === undefined) return d;
    if (d === undefined) return e;
    return Math.min(e, d);
  }

  /** Processes the next event (advancing virtual time to it). Returns false if none is left. */
  processNextEvent(): boolean {
    const e = this.events.peek();
    const d = this.network.nextDueMs();
    if (e === undefined && d === undefined) return false;
    this.eventsProcessed++;
    if (e !== undefined && (d === undefined || e.timeMs <= d)) {
      this.events.pop();
      this.clock.advanceTo(e.timeMs);
      this.handleEvent(e.item);
    } else {
      const next = this.network.popNext();
      if (next === undefined) return false;
      this.clock.advanceTo(next.timeMs);
      this.deliver(next.delivery.from, next.delivery.to, next.delivery.message, next.blocked, next.delivery.duplicate);
    }
    this.checkLeases();
    return true;
  }

  private handleEvent(ev: SimEvent): void {
    const n = this.node(ev.node);
    switch (ev.kind) {
      case 'tick': {
        if (n.raft === null || ev.gen !== n.tickGen) return;
        const local = this.localMs(n);
        n.lastTickLocalMs = local;
        n.raft.setTimeMs(local);
        n.raft.tick();
        this.scheduleTick(n);
        this.pump(n);
        return;
      }
      case 'fsync': {
        if (n.raft === null || ev.incarnation !== n.incarnation || n.inflight === null) return;
        const inflight = n.inflight;
        n.disk.syncThrough(inflight.writeId);
        this.finishReady(n, inflight.ready);
        this.pump(n);
        return;
      }
      case 'crash': {
        if (n.raft === null || ev.incarnation !== n.incarnation) return;
        if (this.trace.enabled) this.log(`${n.id} crash mid-write`);
        this.midWriteCrashes++;
        this.crashAndRestart(n.num);
        return;
      }
      case 'restart': {
        if (n.raft !== null || ev.incarnation !== n.incarnation) return;
        this.start(n);
        return;
      }
    }
  }

  private deliver(from: number, to: number, message: Message, blocked: boolean, duplicate: boolean): void {
    const n = this.node(to);
    if (blocked) {
      if (this.trace.enabled) this.log(`n${from}->n${to} LOST(link cut) ${describeMessage(message)}`);
      return;
    }
    if (n.raft === null) {
      if (this.trace.enabled) this.log(`n${from}->n${to} LOST(down) ${describeMessage(message)}`);
      return;
    }
    if (this.trace.enabled) this.log(`n${from}->n${to}${duplicate ? ' DUP' : ''} ${describeMessage(message)}`);
    n.raft.setTimeMs(this.localMs(n));
    n.raft.step(message);
    this.pump(n);
  }

  private send(n: SimNode, messages: readonly Message[]): void {
    for (const m of messages) {
      checkDurableBeforeSend(n.id, n.storage, m);
      const to = this.numOf(m.to);
      if (m.type === 'requestVoteResponse' && m.granted) this.checker.observeVoteGranted(n.num, m.term, to);
      const outcome = this.network.send(n.num, to, m, this.clock.nowMs);
      if ((m.type === 'requestVote' || m.type === 'requestPreVote') && this.campaignRestart > 0) {
        this.maybeRestartVoter(to);
      }
      if (this.trace.enabled && outcome !== 'queued') this.log(`${n.id}->n${to} send ${outcome} ${describeMessage(m)}`);
    }
  }

  // -------------------------------------------------------------------------------------
  // Ready handling (see the ordering rule on `Ready` in raft/types.ts)
  // -------------------------------------------------------------------------------------

  /** Takes and handles Readys until the node has none or one is waiting for its fsync. */
  pump(n: SimNode): void {
    for (;;) {
      const raft = n.raft;
      if (raft === null || n.inflight !== null || !raft.hasReady()) return;
      const rd = raft.ready();
      // A Ready that changes term or vote is where a vote may leave before it is durable.
      const votes = rd.hardState !== null && (rd.hardState.term !== n.term || rd.hardState.vote !== n.vote);
      this.beginReady(n, rd);
      if (rd.mustSync) {
        const latency = n.prng.floatBetween(this.profile.fsyncMsMin, this.fsyncMsMax);
        this.events.push(this.clock.nowMs + latency, { kind: 'fsync', node: n.num, incarnation: n.incarnation });
        const crashChance = votes ? Math.min(1, this.crashMidWrite * VOTE_CRASH_BIAS) : this.crashMidWrite;
        if (crashChance > 0 && n.prng.chance(crashChance)) {
          // Lands before the fsync completes: the crash the ordering rule must survive.
          this.events.push(this.clock.nowMs + latency * n.prng.nextFloat(), {
            kind: 'crash',
            node: n.num,
            incarnation: n.incarnation,
          });
        }
        return;
      }
      this.finishReady(n, rd);
    }
  }

  /** Rule 1 (issue the writes) and rule 2 (send `messages` at once). */
  private beginReady(n: SimNode, rd: Ready): void {
    if (!rd.mustSync && (rd.entries.length > 0 || rd.snapshot !== null)) {
      throw new Error(`Invariant (Ready contract): entries or a snapshot with mustSync false on ${n.id}`);
    }
    if (rd.softState !== null) {
      if (rd.softState.role === 'leader' && n.role !== 'leader') this.checkElectedOutsideLeases(n);
      n.role = rd.softState.role;
      n.leader = rd.softState.leader;
    }
    if (rd.hardState !== null) {
      n.term = rd.hardState.term;
      n.vote = rd.hardState.vote;
    }
    this.checker.observeRole(n.num, n.term, n.role === 'leader');
    const leaderTerm = n.role === 'leader' ? n.term : null;
    if (rd.snapshot !== null) {
      const doc = decodeSnapshot(rd.snapshot.data);
      if (doc.index !== rd.snapshot.meta.index) {
        throw new Error(`Invariant: snapshot data index ${doc.index} differs from its meta ${rd.snapshot.meta.index}`);
      }
      this.configChecker.observeSnapshotConf(n.num, rd.snapshot.meta.index, rd.snapshot.meta.confState);
      this.checker.observeSnapshotInstall(
        n.num,
        { index: rd.snapshot.meta.index, term: rd.snapshot.meta.term, chain: doc.chain },
        doc.digest,
      );
    }
    const first = rd.entries[0];
    if (first !== undefined) this.checker.observeLogWrite(n.num, first.index, rd.entries.map(factsOf), leaderTerm);
    else this.checker.observeLeaderStatus(n.num, leaderTerm);
    if (rd.hardState !== null) {
      this.checker.observeHardStateWrite(n.num, rd.hardState.term, rd.hardState.commit);
      this.checker.observeCommit(n.num, rd.hardState.commit);
    }
    const writeId =
      rd.snapshot !== null || rd.entries.length > 0 || rd.hardState !== null
        ? n.disk.write({ snapshot: rd.snapshot, entries: rd.entries, hardState: rd.hardState })
        : n.disk.lastWriteId;
    n.inflight = { ready: rd, writeId };
    if (this.trace.enabled) this.log(`${n.id} ready ${describeReady(rd)}`);
    this.send(n, rd.messages);
  }

  /** Rules 3 to 6, once the writes are durable (or need not be). */
  private finishReady(n: SimNode, rd: Ready): void {
    const raft = n.raft;
    if (raft === null) return;
    this.send(n, rd.messagesAfterPersist);
    if (rd.snapshot !== null) {
      n.sm.restore(rd.snapshot.data);
      if (this.trace.enabled) this.log(`${n.id} restored snapshot @${rd.snapshot.meta.index}`);
    }
    for (const e of rd.committedEntries) {
      if (e.index <= n.sm.applied) {
        throw new Error(`Invariant: ${n.id} handed committed entry ${e.index} already applied (applied ${n.sm.applied})`);
      }
      const write = n.sm.apply(e);
      this.checker.observeApply(n.num, e.index, factsOf(e), n.sm.digest);
      if (e.type === 'confChange') this.configChecker.observeApplied(n.num, e.index, decodeConfChangeEntry(e.data).confState);
      this.hooks?.onApplied(n.num, e, write);
    }
    for (const rs of rd.readStates) this.hooks?.onReadState(n.num, rs.ctx, rs.index);
    n.inflight = null;
    raft.advance(rd);
  }

  // -------------------------------------------------------------------------------------
  // Leases: checked after every event
  // -------------------------------------------------------------------------------------

  private checkLeases(): void {
    const holders: number[] = [];
    for (const n of this.nodes) {
      if (n.raft !== null && n.raft.leaseValid(this.localMs(n))) holders.push(n.num);
    }
    if (this.trace.enabled && !sameNumbers(holders, this.leaseHolders)) {
      this.log(`lease holders [${holders.map((h) => `n${h}`).join(',')}]`);
    }
    this.leaseHolders = holders;
    this.leaseChecker.observe(this.clock.nowMs, holders);
  }

  /**
   * A node was just elected: no other node may hold a valid lease now. This is the claim
   * leases rest on (a new leader needs a vote from a member of the old lease's quorum,
   * which refuses votes until the lease has ended), checked when the election happens,
   * before the new leader could get a lease of its own. Only an election in the lease
   * holder's term or later counts: a late-finishing election of an older term cannot give
   * a lease, since any quorum acknowledging its heartbeats meets the holder's newer-term
   * election quorum, whose members refuse older terms (seed 1176856198, 5 nodes).
   */
  private checkElectedOutsideLeases(elected: SimNode): void {
    const electedTerm = elected.raft?.status().term ?? 0;
    for (const o of this.nodes) {
      if (o === elected || o.raft === null) continue;
      const local = this.localMs(o);
      if (o.raft.leaseValid(local) && electedTerm >= o.raft.status().term) {
        fail(
          'lease-exclusive',
          `${elected.id} becomes leader at real time ${this.clock.nowMs.toFixed(3)}ms while ${o.id} holds a lease for ${o.raft.leaseRemainingMs(local).toFixed(3)} more ms (its clock)`,
        );
      }
    }
  }

  /** Nodes holding a valid lease as of the last event. */
  get currentLeaseHolders(): readonly number[] {
    return this.leaseHolders;
  }

  // -------------------------------------------------------------------------------------
  // Client and operator inputs
  // -------------------------------------------------------------------------------------

  propose(num: number, data: Uint8Array): ProposeResult | null {
    const n = this.node(num);
    if (n.raft === null) return null;
    n.raft.setTimeMs(this.localMs(n));
    const r = n.raft.propose(data);
    this.pump(n);
    return r;
  }

  readIndex(num: number, ctx: string): ReadIndexResult | null {
    const n = this.node(num);
    if (n.raft === null) return null;
    n.raft.setTimeMs(this.localMs(n));
    const r = n.raft.readIndex(ctx);
    this.pump(n);
    return r;
  }

  leaseValid(num: number): boolean {
    const n = this.node(num);
    return n.raft !== null && n.raft.leaseValid(this.localMs(n));
  }

  proposeConfChange(num: number, change: ConfChange): ProposeResult | null {
    const n = this.node(num);
    if (n.raft === null) return null;
    n.raft.setTimeMs(this.localMs(n));
    const r = n.raft.proposeConfChange(change);
    if (this.trace.enabled) this.log(`${n.id} proposeConfChange ${change.type} ${change.nodeId} -> ${describeResult(r)}`);
    this.pump(n);
    return r;
  }

  transferLeadership(num: number, to: number): TransferResult | null {
    const n = this.node(num);
    if (n.raft === null) return null;
    n.raft.setTimeMs(this.localMs(n));
    const r = n.raft.transferLeadership(this.idOf(to));
    if (this.trace.enabled) this.log(`${n.id} transferLeadership n${to} -> ${r.type}`);
    this.pump(n);
    return r;
  }

  /** The up node that believes it leads in the highest term (as of its last Ready), if any. */
  likelyLeader(): number | null {
    let best: SimNode | null = null;
    for (const n of this.nodes) {
      if (n.raft !== null && n.role === 'leader' && (best === null || n.term > best.term)) best = n;
    }
    return best === null ? null : best.num;
  }

  status(num: number): RaftStatus | null {
    return this.node(num).raft?.status() ?? null;
  }

  /**
   * Snapshots the node's state machine at its applied index and compacts its log there,
   * keeping `keepEntries` entries before it (a snapshot write is durable at once: it
   * flushes the disk first). Only between Readys, so the state machine and the core
   * agree on the applied index.
   */
  compact(num: number, keepEntries: number): boolean {
    const n = this.node(num);
    const raft = n.raft;
    if (raft === null || n.inflight !== null) return false;
    n.disk.syncAll();
    const s = n.storage;
    const index = Math.min(n.sm.applied, s.initialState().hardState.commit, s.lastIndex());
    if (index <= s.snapshot().index) return false;
    const status = raft.status();
    if (status.applied !== n.sm.applied) {
      throw new Error(`Invariant: ${n.id} core applied ${status.applied} but state machine applied ${n.sm.applied}`);
    }
    if (index !== n.sm.applied) return false;
    const chain = this.checker.mirrorOf(num).chainAt(index);
    if (chain === undefined) throw new Error(`Invariant: ${n.id} has no chain hash at its applied index ${index}`);
    this.configChecker.observeSnapshotConf(num, index, status.confStateApplied);
    s.createSnapshot(toLogIndex(index), status.confStateApplied, n.sm.encodeSnapshot(chain));
    const compactTo = Math.max(s.firstIndex() - 1, index - keepEntries);
    if (compactTo > s.firstIndex() - 1) {
      s.compact(toLogIndex(compactTo));
      this.checker.observeCompaction(num, compactTo);
    }
    if (this.trace.enabled) this.log(`${n.id} snapshot @${index} compact to ${compactTo}`);
    return true;
  }

  // -------------------------------------------------------------------------------------
  // Heal
  // -------------------------------------------------------------------------------------

  /** Lifts every fault: all links restored, network reliable, every node restarted. */
  healAll(network: SimNetwork<Message>['options']): void {
    this.network.healAll();
    this.network.setOptions(network);
    this.fsyncMsMax = Math.min(this.fsyncMsMax, 2);
    this.crashMidWrite = 0;
    this.campaignRestart = 0;
    if (this.trace.enabled) this.log('HEAL all links, reliable network');
    for (const n of this.nodes) if (n.raft === null) this.start(n);
  }

  /** Logs a line from outside (faults, clients). */
  note(text: string): void {
    if (this.trace.enabled) this.log(text);
  }
}

export function factsOf(e: Entry): EntryFacts {
  return { term: e.term, hash: entryHash(e) };
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

