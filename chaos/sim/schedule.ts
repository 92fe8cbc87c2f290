import type { NetworkOptions } from './network.js';
import { Prng } from './prng.js';

/**
 * The fault schedule of one seed. A seed picks a *profile* (swarm testing, as in
 * FoundationDB's and TigerBeetle's simulators: each seed enables a random subset of fault
 * kinds at random intensities, which finds more bugs than every fault at once), then a
 * `FaultPlanner` draws, step by step, which faults to inject during the fault phase. The
 * heal phase that follows is fixed: every fault is lifted and the cluster must recover
 * within a bounded time (see run.ts).
 */
export interface FaultRates {
  /** Per-step probability of crashing an up node (the leader half the time). */
  readonly crash: number;
  /**
   * Per-Ready probability, for a Ready that must be fsynced, of crashing the node before
   * the fsync completes: a crash exactly where persistence-ordering bugs live (a vote or an
   * acknowledgement sent before its state is durable).
   */
  readonly crashMidWrite: number;
  /** Per-step probability of a symmetric partition (the leader alone, a third of the time). */
  readonly partition: number;
  /** Per-step probability of cutting random one-way links (asymmetric partition). */
  readonly asymmetric: number;
  /** Per-step probability of restoring every link. */
  readonly heal: number;
  /** Per-step probability of changing a node's clock rate (within the drift bound). */
  readonly clockRate: number;
  /** Per-step probability of proposing a membership change on the leader. */
  readonly confChange: number;
  /** Per-step probability of a leadership transfer. */
  readonly transfer: number;
  /** Per-step probability of a node snapshotting and compacting its log. */
  readonly compact: number;
  /** Per-step probability of drawing new network loss/duplication/reordering rates. */
  readonly networkChange: number;
  /**
   * Per-step probability of a lease attack: cut the leader off from one node, and crash
   * and quickly restart another that acknowledged the leader. The cut-off node then
   * campaigns while the leader may still hold its lease; only the voters' lease guard
   * (which must survive the restart) keeps it from winning inside that lease.
   */
  readonly leaseAttack: number;
  /**
   * Per campaign message (pre-vote or vote request) sent, probability of crashing its
   * recipient and restarting it before the message arrives: the restarted voter must still
   * refuse campaigns inside a lease it acknowledged before the crash.
   */
  readonly campaignRestart: number;
  /**
   * Per-step probability of a fault storm: for the next 20 to 200 steps every fault rate
   * is multiplied by `STORM_FACTOR`, so faults coincide (a transfer and a partition in
   * the same round trip) far more often than independent rates would make them.
   */
  readonly storm: number;
}

/** Fault-rate multiplier during a storm (see `FaultRates.storm`). */
export const STORM_FACTOR = 20;

export interface WorkloadRates {
  /** Per-step probability of a client write. */
  readonly write: number;
  /** Per-step probability of a lease read. */
  readonly leaseRead: number;
  /** Per-step probability of a ReadIndex read. */
  readonly readIndexRead: number;
  /**
   * Per-step probability of switching between busy and idle; idle clients send nothing.
   * Idle stretches let logs converge, which some elections (and lease hazards) need.
   */
  readonly toggleIdle: number;
}

export interface SimProfile {
  readonly seed: number;
  readonly nodeCount: number;
  readonly tickIntervalMs: number;
  readonly electionTimeoutTicks: number;
  readonly heartbeatIntervalTicks: number;
  /** Ticks fire up to this much late (event-loop delay); late ticks are safe by contract. */
  readonly tickLatenessMsMax: number;
  /** Largest |rate - 1| of any node's local clock. */
  readonly clockDriftMax: number;
  /** The Raft option derived from `clockDriftMax` (see `leaseDriftMs`). */
  readonly clockDriftMsMax: number;
  readonly preVote: boolean;
  readonly snapshotChunkBytes: number;
  readonly appendBytesMax: number;
  readonly inflightMessagesMax: number;
  /** Network behaviour during the fault phase (changes when `networkChange` fires). */
  readonly network: NetworkOptions;
  readonly fsyncMsMin: number;
  readonly fsyncMsMax: number;
  /** Probability that a crash still flushes a prefix of the unsynced writes. */
  readonly crashFlushProbability: number;
  readonly restartDelayMsMax: number;
  readonly faults: FaultRates;
  readonly workload: WorkloadRates;
  /** Number of distinct counter keys the clients write and read. */
  readonly keyCount: number;
}

/**
 * Clock drift in ms the lease must tolerate: a leader whose clock runs slow by `d` and a
 * peer whose clock runs fast by `d` disagree, over an election timeout of `E` ms, by at
 * most `E * 2d / (1 + d)` (the lease of `E - drift` leader-ms must end, in real time,
 * before the peer's `E` peer-ms of election timeout do).
 */
export function leaseDriftMs(electionTimeoutMs: number, driftMax: number): number {
  return Math.ceil((electionTimeoutMs * 2 * driftMax) / (1 + driftMax));
}

/** Draws network rates for the fault phase. */
export function drawNetwork(prng: Prng): NetworkOptions {
  const lossy = prng.chance(0.7);
  const delayMsMax = prng.intBetween(2, 20);
  return {
    dropProbability: lossy ? prng.floatBetween(0, 0.25) : 0,
    duplicateProbability: prng.chance(0.5) ? prng.floatBetween(0, 0.1) : 0,
    reorderProbability: prng.chance(0.6) ? prng.floatBetween(0, 0.3) : 0,
    delayMsMin: 1,
    delayMsMax,
    reorderDelayMsMax: prng.intBetween(0, 60),
    inflightMessagesMax: 10_000,
  };
}

/** Network during the heal phase: no loss, no duplication, short delays. */
export const HEALED_NETWORK: NetworkOptions = Object.freeze({
  dropProbability: 0,
  duplicateProbability: 0,
  reorderProbability: 0,
  delayMsMin: 1,
  delayMsMax: 4,
  reorderDelayMsMax: 0,
  inflightMessagesMax: 10_000,
});

function maybe(prng: Prng, enabledProbability: number, min: number, max: number): number {
  return prng.chance(enabledProbability) ? prng.floatBetween(min, max) : 0;
}

/** The profile of a seed: a pure function of (seed, nodeCount). */
export function makeProfile(seed: number, nodeCount: number): SimProfile {
  if (!(nodeCount === 3 || nodeCount === 5)) {
    throw new RangeError(`Cannot build a simulation profile: 'nodeCount' must be 3 or 5 (got ${nodeCount})`);
  }
  const prng = new Prng(seed ^ 0x5eed_0001);
  // 10 ms ticks and a 10-tick election timeout: a LAN-like 100 ms timeout, short enough
  // that a 2,000-step schedule spans many elections.
  const tickIntervalMs = 10;
  const electionTimeoutTicks = 10;
  // Real clocks drift by ppm; a sim drifts by percent so that a lease that ignores drift
  // (or counts it wrong) overlaps visibly. Up to 30% stresses the lease arithmetic.
  const driftKind = prng.nextInt(3);
  const clockDriftMax = driftKind === 0 ? 0 : driftKind === 1 ? prng.floatBetween(0, 0.05) : prng.floatBetween(0.05, 0.3);
  return {
    seed,
    nodeCount,
    tickIntervalMs,
    electionTimeoutTicks,
    heartbeatIntervalTicks: prng.intBetween(1, 3),
    tickLatenessMsMax: prng.intBetween(0, 4),
    clockDriftMax,
    clockDriftMsMax: leaseDriftMs(tickIntervalMs * electionTimeoutTicks, clockDriftMax),
    preVote: prng.chance(0.75),
    // Small chunks and messages so snapshots arrive in several chunks and logs in pieces.
    snapshotChunkBytes: prng.pick([16, 64, 256, 4096]),
    appendBytesMax: prng.pick([64, 256, 4096, 1 << 20]),
    inflightMessagesMax: prng.pick([1, 2, 4, 64]),
    network: drawNetwork(prng),
    fsyncMsMin: 0,
    fsyncMsMax: prng.pick([0.5, 2, 5, 15]),
    crashFlushProbability: prng.floatBetween(0, 0.5),
    restartDelayMsMax: prng.pick([5, 20, 100, 400]),
    faults: {
      crash: maybe(prng, 0.75, 0.0005, 0.008),
      crashMidWrite: maybe(prng, 0.5, 0.001, 0.02),
      partition: maybe(prng, 0.6, 0.0005, 0.005),
      asymmetric: maybe(prng, 0.6, 0.0005, 0.005),
      heal: prng.floatBetween(0.002, 0.01),
      clockRate: clockDriftMax > 0 ? prng.floatBetween(0.001, 0.01) : 0,
      confChange: maybe(prng, 0.6, 0.001, 0.01),
      transfer: maybe(prng, 0.5, 0.0005, 0.005),
      compact: maybe(prng, 0.7, 0.002, 0.03),
      networkChange: maybe(prng, 0.5, 0.0005, 0.003),
      storm: maybe(prng, 0.5, 0.0005, 0.003),
      leaseAttack: maybe(prng, 0.5, 0.0005, 0.004),
      campaignRestart: maybe(prng, 0.5, 0.01, 0.1),
    },
    workload: {
      write: prng.floatBetween(0.02, 0.2),
      leaseRead: prng.floatBetween(0, 0.1),
      readIndexRead: prng.floatBetween(0, 0.1),
      toggleIdle: maybe(prng, 0.5, 0.001, 0.01),
    },
    keyCount: prng.intBetween(1, 5),
  };
}
