import { SimCluster } from './cluster.js';
import { FaultPlanner } from './faults.js';
import type { FaultStats } from './faults.js';
import { ConfigChecker, InvariantViolation, LeaseChecker, ReadChecker, SafetyChecker } from './invariants.js';
import type { NetworkStats } from './network.js';
import { Prng } from './prng.js';
import { HEALED_NETWORK, makeProfile } from './schedule.js';
import type { SimProfile } from './schedule.js';
import { encodeWrite } from './state-machine.js';
import { Trace } from './trace.js';
import { Workload } from './workload.js';
import type { WorkloadStats } from './workload.js';

/**
 * Runs one seeded schedule: a fault phase of `steps` steps (each step may inject faults
 * and client requests, then processes exactly one event), then a heal phase in which every
 * fault is lifted and the cluster must, within bounded virtual time, elect a leader,
 * restore full membership, commit a barrier write, apply it everywhere and resolve every
 * proposal ever accepted. Invariants are checked after every step. The result is a pure
 * function of the options.
 */
export interface SimFeatures {
  /** Membership changes during the fault phase (and restoring full membership when healing). */
  readonly membership: boolean;
}

/** Steps of the fault phase when not given: what `npm test` runs per schedule. */
export const DEFAULT_STEPS = 2000;

export const DEFAULT_FEATURES: SimFeatures = Object.freeze({ membership: true });

export interface RunOptions {
  readonly seed: number;
  readonly nodeCount: number;
  readonly steps: number;
  /** Record the event trace (off in bulk runs; a failing seed is re-run with it on). */
  readonly trace?: boolean;
  /** Lines of trace kept (the last ones); unbounded by default. */
  readonly traceLinesMax?: number;
  readonly features?: Partial<SimFeatures>;
}

export type FailureKind = InvariantViolation['invariant'] | 'raft-assertion' | 'exception';

export interface RunResult {
  readonly ok: boolean;
  readonly seed: number;
  readonly nodeCount: number;
  readonly steps: number;
  readonly failure: { readonly kind: FailureKind; readonly message: string } | null;
  /** Events processed in the fault phase and in the heal phase. */
  readonly faultEvents: number;
  readonly healEvents: number;
  readonly virtualMs: number;
  /** Virtual ms from heal to a stable leader, and to full recovery (null if not reached). */
  readonly electedAfterHealMs: number | null;
  readonly recoveredAfterHealMs: number | null;
  readonly proposals: { readonly accepted: number; readonly committed: number; readonly superseded: number; readonly dropped: number };
  readonly workload: WorkloadStats;
  readonly faults: FaultStats;
  readonly network: NetworkStats;
  readonly trace: readonly string[];
  readonly replay: string;
}

/** Bounds of the heal phase, in election timeouts (the reason for each number is beside it). */
export const LIVENESS_BOUNDS = Object.freeze({
  // With every link restored, no loss and randomised timeouts in (E, 2E], a split vote
  // repeats with probability well under 1/2 per round; 30 rounds leave room for a
  // removed-then-re-added node's disruption and for stale leaders stepping down.
  electionTimeouts: 30,
  // Electing, then up to 2 * nodeCount membership changes (each one commit) and a
  // snapshot catch-up: generous, yet a stuck cluster fails in seconds of virtual time.
  recoveryTimeouts: 80,
  // Per entry of backlog: a healed round trip (2 x 4 ms) plus an fsync (<= 2 ms).
  catchUpMsPerEntry: 10,
});

export function replayCommand(seed: number, nodeCount: number, steps: number): string {
  return `npm run sim -- --seed ${seed} --nodes ${nodeCount} --steps ${steps}`;
}

export function runSimulation(options: RunOptions): RunResult {
  const { seed, nodeCount, steps } = options;
  if (!Number.isInteger(steps) || steps < 0) {
    throw new RangeError(`Cannot run simulation: 'steps' must be a non-negative integer (got ${steps})`);
  }
  const features: SimFeatures = { ...DEFAULT_FEATURES, ...options.features };
  const profile = makeProfile(seed, nodeCount);
  const trace = new Trace(options.trace === true, options.traceLinesMax);
  const root = new Prng(seed);
  const clusterPrng = root.fork();
  const faultPrng = root.fork();
  const workloadPrng = root.fork();
  const checker = new SafetyChecker();
  const reads = new ReadChecker();
  let cluster: SimCluster | null = null;
  let workload: Workload | null = null;
  let planner: FaultPlanner | null = null;
  let failure: RunResult['failure'] = null;
  let faultEvents = 0;
  let healEvents = 0;
  let electedAfterHealMs: number | null = null;
  let recoveredAfterHealMs: number | null = null;
  if (trace.enabled) trace.add(0, `profile ${describeProfile(profile)}`);
  try {
    cluster = new SimCluster(profile, clusterPrng, checker, new LeaseChecker(), new ConfigChecker(), trace);
    const w = new Workload(cluster, profile.workload, profile.keyCount, workloadPrng, reads);
    workload = w;
    cluster.hooks = w;
    planner = new FaultPlanner(cluster, profile, faultPrng, w.ledger, features);
    for (let step = 0; step < steps; step++) {
      planner.act();
      w.act();
      cluster.processNextEvent();
      faultEvents++;
    }
    const heal = healPhase(cluster, w, checker, profile, features);
    healEvents = heal.events;
    electedAfterHealMs = heal.electedAfterMs;
    recoveredAfterHealMs = heal.recoveredAfterMs;
  } catch (err) {
    failure = classify(err);
    if (cluster !== null) cluster.note(`FAILURE ${failure.kind}: ${failure.message}`);
  }
  const fates = workload?.ledger.fates(checker);
  return {
    ok: failure === null,
    seed,
    nodeCount,
    steps,
    failure,
    faultEvents,
    healEvents,
    virtualMs: cluster?.nowMs ?? 0,
    electedAfterHealMs,
    recoveredAfterHealMs,
    proposals: {
      accepted: workload?.ledger.acceptedCount ?? 0,
      committed: fates?.committed ?? 0,
      superseded: fates?.superseded ?? 0,
      dropped: workload?.ledger.droppedByCore ?? 0,
    },
    workload: workload?.stats ?? {
      writesAcked: 0,
      writesLost: 0,
      leaseReads: 0,
      leaseReadsRefused: 0,
      readIndexReads: 0,
      readIndexIssued: 0,
    },
    faults: planner === null ? emptyFaultStats() : {
            ...planner.stats,
            crashesMidWrite: cluster?.midWriteCrashes ?? 0,
            campaignRestarts: cluster?.campaignRestarts ?? 0,
          },
    network: cluster?.network.stats ?? {
      sent: 0,
      delivered: 0,
      droppedPartition: 0,
      droppedRandom: 0,
      droppedOverflow: 0,
      duplicated: 0,
    },
    trace: trace.text(),
    replay: replayCommand(seed, nodeCount, steps),
  };
}

function emptyFaultStats(): FaultStats {
  return {
    crashes: 0,
    crashesMidWrite: 0,
    campaignRestarts: 0,
    partitions: 0,
    asymmetric: 0,
    heals: 0,
    clockChanges: 0,
    confChanges: 0,
    confChangesAccepted: 0,
    transfers: 0,
    compactions: 0,
    networkChanges: 0,
    storms: 0,
    leaseAttacks: 0,
  };
}

function classify(err: unknown): { readonly kind: FailureKind; readonly message: string } {
  if (err instanceof InvariantViolation) return { kind: err.invariant, message: err.message };
  if (err instanceof Error) {
    const code = (err as Error & { code?: unknown }).code;
    if (code === 'RAFT_ASSERTION_FAILED') return { kind: 'raft-assertion', message: err.message };
    const where = (err.stack ?? '').split('\n').slice(1, 4).map((l) => l.trim()).join(' | ');
    return { kind: 'exception', message: `${err.name}: ${err.message} @ ${where}` };
  }
  return { kind: 'exception', message: String(err) };
}

interface HealOutcome {
  readonly events: number;
  readonly electedAfterMs: number;
  readonly recoveredAfterMs: number;
}

/** How often (virtual ms) the heal phase re-examines the cluster; status() is not free. */
const HEAL_POLL_MS = 5;
/** Barrier writes proposed at once in the heal phase: a batch, well under any byte limit. */
const BARRIER_WRITES_MAX = 256;
/** Virtual ms between retries of a membership change the leader refused. */
const CONF_RETRY_MS = 20;

function healPhase(
  cluster: SimCluster,
  workload: Workload,
  checker: SafetyChecker,
  profile: SimProfile,
  features: SimFeatures,
): HealOutcome {
  cluster.healAll(HEALED_NETWORK);
  const healAtMs = cluster.nowMs;
  const electionMs = profile.electionTimeoutTicks * profile.tickIntervalMs;
  const electBoundMs = LIVENESS_BOUNDS.electionTimeouts * electionMs;
  // A node far behind catches up at worst one entry per round trip (tiny appendBytesMax,
  // one message in flight): the bound grows with the backlog at heal time.
  const lowestApplied = Math.min(...cluster.nodes.map((n) => n.sm.applied));
  const backlogEntries = Math.max(0, checker.committedMax - lowestApplied);
  const recoverBoundMs = LIVENESS_BOUNDS.recoveryTimeouts * electionMs + backlogEntries * LIVENESS_BOUNDS.catchUpMsPerEntry;
  let events = 0;
  let electedAtMs: number | null = null;
  let nextPollMs = healAtMs;
  let nextConfMs = healAtMs;
  let barrier: { index: number; term: number } | null = null;
  let barrierOp = 2_000_000;
  for (;;) {
    if (!cluster.processNextEvent()) throw new Error('Invariant: the event queue ran dry (ticks never stop)');
    events++;
    const now = cluster.nowMs;
    if (now < nextPollMs) continue;
    nextPollMs = now + HEAL_POLL_MS;
    const elapsed = now - healAtMs;
    const leader = stableLeader(cluster);
    if (leader === null) {
      if (electedAtMs === null && elapsed > electBoundMs) {
        throw new InvariantViolation('liveness', `no stable leader ${electBoundMs}ms after healing (${describeRoles(cluster)})`);
      }
      if (elapsed > recoverBoundMs) {
        throw new InvariantViolation('liveness', `leadership unstable ${recoverBoundMs}ms after healing (${describeRoles(cluster)})`);
      }
      continue;
    }
    if (electedAtMs === null) {
      electedAtMs = now;
      cluster.note(`HEAL stable leader n${leader} after ${(now - healAtMs).toFixed(1)}ms`);
    }
    if (elapsed > recoverBoundMs) {
      const pending = workload.ledger.fates(checker).pending;
      throw new InvariantViolation(
        'liveness',
        `not recovered ${recoverBoundMs}ms after healing: leader n${leader}, barrier ${barrier === null ? 'none' : `${barrier.index}/t${barrier.term}`}, committed ${checker.committedMax}, applied [${cluster.nodes.map((n) => n.sm.applied).join(',')}], ${pending.length} proposals unresolved${pending[0] === undefined ? '' : ` (first: ${pending[0].what} at ${pending[0].index}/t${pending[0].term})`}, conf ${JSON.stringify(cluster.status(leader)?.confState)}`,
      );
    }
    const st = cluster.status(leader);
    if (st === null) continue;
    if (features.membership) {
      const missing = cluster.nodes.find((n) => !st.confState.voters.includes(n.id));
      if (missing !== undefined) {
        if (now >= nextConfMs) {
          nextConfMs = now + CONF_RETRY_MS;
          const change = st.confState.learners.includes(missing.id)
            ? ({ type: 'addVoter', nodeId: missing.id } as const)
            : ({ type: 'addLearner', nodeId: missing.id } as const);
          const r = cluster.proposeConfChange(leader, change);
          if (r !== null) workload.ledger.record(barrierOp++, leader, `heal ${change.type} ${change.nodeId}`, r);
        }
        continue;
      }
    }
    // A barrier from an earlier leadership may have been lost with it: propose anew.
    if (barrier !== null && barrier.term !== st.term) barrier = null;
    if (barrier === null) {
      // One write, or as many as it takes to reach past every proposal accepted at an index
      // the log has not reached again (their fate is settled once the log passes them).
      let pendingIndexMax = 0;
      for (const p of workload.ledger.fates(checker).pending) pendingIndexMax = Math.max(pendingIndexMax, p.index);
      const writes = Math.min(BARRIER_WRITES_MAX, Math.max(1, pendingIndexMax - st.lastIndex));
      for (let i = 0; i < writes; i++) {
        const opId = barrierOp++;
        const r = cluster.propose(leader, encodeWrite({ opId, key: 'barrier' }));
        if (r === null) break;
        workload.ledger.record(opId, leader, `barrier w${opId}`, r);
        if (r.type !== 'accepted') break;
        barrier = { index: r.index, term: r.term };
      }
      if (barrier !== null) cluster.note(`HEAL barrier write at ${barrier.index}/t${barrier.term}`);
      continue;
    }
    if (checker.committedTermAt(barrier.index) !== barrier.term) continue;
    const pending = workload.ledger.fates(checker).pending;
    if (pending.length > 0) {
      // Proposals accepted at indexes the log has not reached again: commit more writes
      // until the committed log passes them and settles their fate.
      barrier = null;
      continue;
    }
    const target = Math.max(barrier.index, checker.committedMax);
    if (cluster.nodes.some((n) => !n.up || n.sm.applied < target)) continue;
    cluster.note(`HEAL recovered: all nodes applied ${target}, every proposal resolved`);
    return { events, electedAfterMs: electedAtMs - healAtMs, recoveredAfterMs: now - healAtMs };
  }
}

/** A leader every up node agrees on, in the same term, or null. */
function stableLeader(cluster: SimCluster): number | null {
  const candidate = cluster.likelyLeader();
  if (candidate === null) return null;
  const st = cluster.status(candidate);
  if (st === null || st.role !== 'leader') return null;
  for (const n of cluster.nodes) {
    if (n.num === candidate) continue;
    const o = cluster.status(n.num);
    if (o === null) return null;
    // A node outside the configuration may not hear from the leader; it must not lead.
    const member = st.confState.voters.includes(n.id) || st.confState.learners.includes(n.id);
    if (member && (o.leader !== st.id || o.term !== st.term)) return null;
    if (!member && o.role === 'leader') return null;
  }
  return candidate;
}

function describeRoles(cluster: SimCluster): string {
  return cluster.nodes
    .map((n) => {
      const st = cluster.status(n.num);
      return st === null ? `${n.id}:down` : `${n.id}:${st.role}/t${st.term}/leader=${st.leader ?? '-'}/last=${st.lastIndex}/commit=${st.commit}`;
    })
    .join(' ');
}

export function describeProfile(p: SimProfile): string {
  const f = p.faults;
  const w = p.workload;
  const n = p.network;
  return [
    `seed=${p.seed} nodes=${p.nodeCount} tick=${p.tickIntervalMs}ms election=${p.electionTimeoutTicks} heartbeat=${p.heartbeatIntervalTicks}`,
    `drift=${p.clockDriftMax.toFixed(4)} driftMs=${p.clockDriftMsMax} lateness=${p.tickLatenessMsMax}ms preVote=${p.preVote}`,
    `chunk=${p.snapshotChunkBytes} appendMax=${p.appendBytesMax} inflight=${p.inflightMessagesMax} fsync<=${p.fsyncMsMax}ms`,
    `net(drop=${n.dropProbability.toFixed(3)} dup=${n.duplicateProbability.toFixed(3)} reorder=${n.reorderProbability.toFixed(3)} delay=${n.delayMsMin}..${n.delayMsMax})`,
    `faults(crash=${f.crash.toFixed(4)} midWrite=${f.crashMidWrite.toFixed(4)} part=${f.partition.toFixed(4)} asym=${f.asymmetric.toFixed(4)} heal=${f.heal.toFixed(4)} clock=${f.clockRate.toFixed(4)} conf=${f.confChange.toFixed(4)} transfer=${f.transfer.toFixed(4)} compact=${f.compact.toFixed(4)} net=${f.networkChange.toFixed(4)} storm=${f.storm.toFixed(4)} leaseAttack=${f.leaseAttack.toFixed(4)} campaignRestart=${f.campaignRestart.toFixed(3)})`,
    `workload(write=${w.write.toFixed(3)} lease=${w.leaseRead.toFixed(3)} readIndex=${w.readIndexRead.toFixed(3)} idle=${w.toggleIdle.toFixed(4)} keys=${p.keyCount})`,
  ].join(' ');
}
