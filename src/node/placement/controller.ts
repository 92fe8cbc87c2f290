/**
 * Dynamic placement on one node: follows the cluster map that group 0 replicates.
 *
 * - Every node hosts exactly the groups whose target or current membership names it
 *   (creating an empty replica, which the group's leader fills by snapshot or appends,
 *   and dropping one once its group has removed it), and connects to every member.
 * - The leader of each group (group 0 included) reconciles the group's Raft membership
 *   toward the map's target one single-server change at a time (reconcile.ts), and
 *   reports the membership it applied back to group 0.
 * - The meta leader runs the planner (planner.ts): one step per round, at most
 *   `movesMax` groups moving at once, each step a conditional write to group 0. A move
 *   without progress for `moveStallMsMax` is retargeted (or rolled back) by the planner.
 * - Group splits are driven by the split driver (split-driver.ts), one round per round
 *   here; the groups of a split in progress are frozen for the planner.
 */
import type { MultiRaftHost } from '../../../cluster/host/multi-raft-host.js';
import { META_GROUP_ID, META_VOTERS_MAX, type ClusterMap, type GroupPlacement, type MetaCommand, type MetaOutcome } from '../../../cluster/meta/index.js';
import { toNodeId } from '../../../raft/index.js';
import type { Placement } from '../placement.js';
import { planMetaVoters, planNext, type PlanReason } from './planner.js';
import type { SlotTable } from './slot-table.js';
import type { SplitDriver } from './split-driver.js';
import { targetMembership } from './corrupt-replica.js';
import { reconcileMembership } from './reconcile.js';

export interface PlacementLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface PlacementTransport {
  addPeer(id: string, address: string): void;
  removePeer(id: string): void;
  updatePeerAddress(id: string, address: string): void;
  peerState(id: string): string | undefined;
}

export interface PlacementControllerOptions {
  readonly nodeId: string;
  readonly replicationFactor: number;
  /**
   * Peer addresses given to this node at start (`--peers`): they win over the addresses
   * in the map, so a node reaches a member the way it was told to (through a proxy, a
   * NAT, a test's fault injector) rather than at the address the member announced.
   */
  readonly peerOverrides?: Readonly<Record<string, string>>;
  /** The placement before group 0 holds a map (static, from the member list). */
  readonly initial: Placement;
  /** Groups moving at once at most: each move streams a snapshot, so checks keep their latency. [1] */
  readonly movesMax?: number;
  /** How often the controller follows the map, reconciles and plans. [500] */
  readonly intervalMs?: number;
  /** The node's slot → group table: follows the map's slot layout as group 0 applies it. */
  readonly slots: SlotTable;
  /** A move whose group's membership has not changed for this long is stalled: the planner retargets it. [60000] */
  readonly moveStallMsMax?: number;
}

export interface PlacementControllerDeps {
  readonly host: MultiRaftHost;
  readonly map: () => ClusterMap | null;
  readonly submit: (make: (requestId: string) => MetaCommand) => Promise<MetaOutcome>;
  readonly transport: PlacementTransport;
  /**
   * Creates a replica of a shard group here: empty (null: the leader fills it), or, for
   * the new group of a split, bootstrapped with its first voters (every one of them alike).
   */
  readonly openGroup: (groupId: number, bootstrap: readonly string[] | null) => Promise<void>;
  /** Drops this node's replica of a shard group. */
  readonly closeGroup: (groupId: number) => Promise<void>;
  readonly logger: PlacementLogger;
  /** Group splits (absent: none are driven from this node). */
  readonly splits?: SplitDriver;
  /** Monotonic milliseconds (stall timing). [performance.now] */
  readonly nowMs?: () => number;
}

/** A move in progress: a group whose applied membership differs from its target. */
export interface MoveView {
  readonly groupId: number;
  readonly voters: readonly string[];
  readonly learners: readonly string[];
  readonly target: readonly string[];
  readonly adding: readonly string[];
  readonly removing: readonly string[];
}

export interface PlacementCounters {
  /** Planner steps written to group 0, by reason. */
  readonly steps: Record<PlanReason, number>;
  /** Membership changes this node proposed as a group leader, by type. */
  readonly confChanges: Record<'addLearner' | 'addVoter' | 'removeNode', number>;
  /** Leadership hand-offs this node started because it leaves a group. */
  readonly transfers: number;
}

/** A leaving leader hands off at most once per this long per group (a transfer takes about an election round). */
const TRANSFER_RETRY_MS = 3000;
/** A node that stalled a move receives nothing for this many stall bounds (it may be up but unable to catch up). */
const STALLED_NODE_AVOID_STALLS = 10;

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** The membership a group is known to have: reported, or (never reported) its target. */
export function currentOf(g: GroupPlacement): { voters: readonly string[]; learners: readonly string[] } {
  return g.current ?? { voters: g.replicas, learners: [] };
}

export function settled(g: GroupPlacement): boolean {
  const c = currentOf(g);
  return c.learners.length === 0 && sameSet(c.voters, g.replicas);
}

/** Moves in progress in `map`, by group id. */
export function movesOf(map: ClusterMap): MoveView[] {
  return map.groups
    .filter((g) => !settled(g))
    .map((g) => {
      const c = currentOf(g);
      return {
        groupId: g.id,
        voters: c.voters,
        learners: c.learners,
        target: g.replicas,
        adding: g.replicas.filter((r) => !c.voters.includes(r)),
        removing: [...c.voters, ...c.learners].filter((r) => !g.replicas.includes(r)),
      };
    });
}

export class PlacementController implements Placement {
  readonly slots: SlotTable;
  private readonly counters = {
    steps: { replace: 0, add: 0, shrink: 0, balance: 0, leader: 0, zone: 0, retarget: 0 } as Record<PlanReason, number>,
    confChanges: { addLearner: 0, addVoter: 0, removeNode: 0 },
    transfers: 0,
  };
  private timer: NodeJS.Timeout | null = null;
  private following: Promise<void> | null = null;
  private followAgain = false;
  private planning = false;
  private readonly reporting = new Set<number>();
  private readonly lastTransferMs = new Map<number, number>();
  /** Meta leader: per moving group, its move's shape and since when it has not changed. */
  private readonly moveSeen = new Map<number, { readonly shape: string; readonly sinceMs: number }>();
  /** Nodes that stalled a move, until when they receive nothing. */
  private readonly avoidUntilMs = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly options: PlacementControllerOptions,
    private readonly deps: PlacementControllerDeps,
  ) {
    // Slot → group changes only when a split switches slots (the map's slotMapVersion);
    // moves change the cluster map's version (meta.mapVersion) but not this table.
    this.slots = options.slots;
  }

  /** Shard group ids: the map's (splits add groups), or the static placement's before group 0 holds one. */
  get groupIds(): readonly number[] {
    const map = this.deps.map();
    return map === null ? this.options.initial.groupIds : map.groups.map((g) => g.id).sort((a, b) => a - b);
  }

  /** Target replicas of `groupId` (the first is the preferred leader). */
  replicasOf(groupId: number): readonly string[] {
    const g = this.deps.map()?.groups.find((x) => x.id === groupId);
    return g === undefined ? this.options.initial.replicasOf(groupId) : g.replicas;
  }

  /** The group's voters as last reported (or its target): where a check can be forwarded. */
  votersOf(groupId: number): readonly string[] {
    const g = this.deps.map()?.groups.find((x) => x.id === groupId);
    return g === undefined ? this.options.initial.replicasOf(groupId) : currentOf(g).voters;
  }

  moves(): MoveView[] {
    const map = this.deps.map();
    return map === null ? [] : movesOf(map);
  }

  stats(): PlacementCounters & { readonly movesInProgress: number } {
    return { ...this.counters, movesInProgress: this.moves().length };
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.round(), this.options.intervalMs ?? 500);
    this.round();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * The map changed: follow it on the next turn (also runs every interval). Called inside
   * group 0's apply, so the groups it opens or drops change hands outside that call.
   */
  mapChanged(): void {
    // Routing follows at once, between two checks: a split's switch takes effect here as group 0 applies it.
    const map = this.deps.map();
    if (map !== null) this.slots.follow(map);
    if (this.timer !== null) setImmediate(() => this.follow());
  }

  private round(): void {
    if (this.stopped) return;
    this.follow();
    const map = this.deps.map();
    if (map === null) return;
    for (const groupId of this.deps.host.groupIds()) this.lead(map, groupId);
    const idle = this.plan(map);
    this.deps.splits?.round(map, idle);
  }

  /** Serialized: peers and hosted groups after the map, one pass at a time. */
  private follow(): void {
    if (this.following !== null) {
      this.followAgain = true;
      return;
    }
    this.following = this.followOnce()
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'placement: following the cluster map failed; retrying'))
      .finally(() => {
        this.following = null;
        if (this.followAgain && !this.stopped) {
          this.followAgain = false;
          this.follow();
        }
      });
  }

  private async followOnce(): Promise<void> {
    const map = this.deps.map();
    if (map === null || this.stopped) return;
    const self = this.options.nodeId;
    const { transport, host } = this.deps;
    for (const n of map.nodes) {
      if (n.id === self) continue;
      const address = this.options.peerOverrides?.[n.id] ?? n.peerAddress;
      const state = transport.peerState(n.id);
      if (state === undefined) {
        transport.addPeer(n.id, address);
        this.deps.logger.info({ peer: n.id, address }, 'placement: connecting to a new member');
      } else transport.updatePeerAddress(n.id, address);
    }
    const wanted = new Set<number>();
    for (const g of map.groups) {
      const c = currentOf(g);
      if (g.replicas.includes(self) || c.voters.includes(self) || c.learners.includes(self)) wanted.add(g.id);
    }
    for (const groupId of [...wanted].sort((a, b) => a - b)) {
      if (this.stopped) return;
      if (!host.hosts(groupId)) {
        // The new group of a split starts here: every first voter bootstraps it with the same membership.
        const split = map.split;
        if (split !== undefined && split.target === groupId && split.phase === 'seeding' && split.replicas.includes(self)) {
          this.deps.logger.info({ groupId, splitId: split.id, voters: split.replicas }, 'placement: a split makes a new group; bootstrapping its replica here');
          await this.deps.openGroup(groupId, split.replicas);
          continue;
        }
        this.deps.logger.info({ groupId }, 'placement: this node joins a group; waiting for its leader to fill the replica');
        await this.deps.openGroup(groupId, null);
      }
    }
    for (const groupId of host.groupIds()) {
      if (this.stopped) return;
      if (groupId === META_GROUP_ID || wanted.has(groupId)) continue;
      this.deps.logger.info({ groupId }, 'placement: the group removed this replica; dropping it');
      await this.deps.closeGroup(groupId);
    }
    // Members that left the map: no more connection to them (never this node itself).
    const known = new Set(map.nodes.map((n) => n.id));
    for (const id of this.everSeen) {
      if (known.has(id) || transport.peerState(id) === undefined) continue;
      transport.removePeer(id);
      this.deps.logger.info({ peer: id }, 'placement: member left the cluster map; disconnected');
    }
    for (const id of known) if (id !== self) this.everSeen.add(id);
  }

  /** Members seen in any map applied here (removed ones stay: bounded by the members a cluster ever had). */
  private readonly everSeen = new Set<string>();

  /** This node leads `groupId`: move its membership one step toward the map, and report what it applied. */
  private lead(map: ClusterMap, groupId: number): void {
    const { host } = this.deps;
    if (!host.leaderReady(groupId)) return;
    const view = host.view(groupId);
    const progress = host.progressOf(groupId);
    if (view === null || progress === null) return;
    const self = this.options.nodeId;
    let targetVoters: readonly string[];
    let targetLearners: readonly string[];
    const placement = map.groups.find((g) => g.id === groupId);
    if (groupId === META_GROUP_ID) {
      targetVoters = map.metaVoters;
      targetLearners = map.nodes.map((n) => n.id).filter((id) => !map.metaVoters.includes(id));
    } else {
      if (placement === undefined) return;
      // A replica lost to corruption leaves the group until its node has wiped it and cleared the mark.
      ({ voters: targetVoters, learners: targetLearners } = targetMembership(placement));
    }
    const reachable = new Set<string>();
    for (const id of [...view.confState.voters, ...view.confState.learners]) if (id === self || this.deps.transport.peerState(id) === 'connected') reachable.add(id);
    const action = reconcileMembership({
      self,
      voters: view.confState.voters,
      learners: view.confState.learners,
      targetVoters,
      targetLearners,
      match: progress.match,
      commit: progress.commit,
      reachable,
    });
    if (action !== null && action.type !== 'wait') {
      if (action.type === 'transfer') {
        const now = Date.now();
        if (now - (this.lastTransferMs.get(groupId) ?? 0) >= TRANSFER_RETRY_MS) {
          this.lastTransferMs.set(groupId, now);
          this.counters.transfers++;
          this.deps.logger.info({ groupId, to: action.to }, 'placement: this leader leaves the group; handing leadership away first');
          host.transferLeadership(groupId, toNodeId(action.to));
        }
      } else {
        const r = host.proposeConfChange(groupId, { type: action.type, nodeId: toNodeId(action.nodeId) });
        if (r.type === 'accepted') this.counters.confChanges[action.type]++;
      }
    }
    if (placement !== undefined) this.report(placement, view.confStateApplied, view.applied, view.term);
  }

  private report(g: GroupPlacement, applied: { readonly voters: readonly string[]; readonly learners: readonly string[] }, index: number, term: number): void {
    const c = currentOf(g);
    if (sameSet(c.voters, applied.voters) && sameSet(c.learners, applied.learners)) return;
    if (g.current !== undefined && index <= g.current.index) return;
    if (this.reporting.has(g.id)) return;
    this.reporting.add(g.id);
    const conf = { voters: [...applied.voters], learners: [...applied.learners], index, term };
    this.deps
      .submit((requestId) => ({ t: 'groupConf', requestId, groupId: g.id, conf }))
      .catch((err: unknown) => this.deps.logger.warn({ err, groupId: g.id }, 'placement: membership report failed; retrying'))
      .finally(() => this.reporting.delete(g.id));
  }

  private nowMs(): number {
    return this.deps.nowMs?.() ?? performance.now();
  }

  private stallMsMax(): number {
    return this.options.moveStallMsMax ?? 60_000;
  }

  /** Moving groups whose move (target, reported membership, learners' catch-up) has not changed for the stall bound. */
  private stalledMoves(map: ClusterMap): Set<number> {
    const now = this.nowMs();
    const out = new Set<number>();
    const moving = new Set<number>();
    for (const g of map.groups) {
      if (settled(g)) continue;
      moving.add(g.id);
      const shape = JSON.stringify([g.replicas, g.current ?? null, this.deps.splits?.moveProgress(g.id) ?? null]);
      const seen = this.moveSeen.get(g.id);
      if (seen === undefined || seen.shape !== shape) this.moveSeen.set(g.id, { shape, sinceMs: now });
      else if (now - seen.sinceMs >= this.stallMsMax()) out.add(g.id);
    }
    for (const id of this.moveSeen.keys()) if (!moving.has(id)) this.moveSeen.delete(id);
    return out;
  }

  /**
   * On the meta leader: one planner step per round, written conditionally on the map
   * version it was planned from. True when this node leads group 0 and the planner had
   * nothing to do (a split may then begin).
   */
  private plan(map: ClusterMap): boolean {
    const { host } = this.deps;
    if (this.planning || !host.leaderReady(META_GROUP_ID)) return false;
    const self = this.options.nodeId;
    const up = (id: string): boolean => id === self || this.deps.transport.peerState(id) === 'connected';
    let make: ((requestId: string) => MetaCommand) | null = null;
    let what: Record<string, unknown> = {};
    let reason: PlanReason | null = null;
    const metaView = host.view(META_GROUP_ID);
    const metaSettled =
      metaView !== null && sameSet(metaView.confStateApplied.voters, map.metaVoters) && metaView.confStateApplied.learners.every((l) => !map.metaVoters.includes(l));
    // Group 0's voters change only on drains and joins, never because a node is merely down.
    const metaNodes = map.nodes.map((n) => ({ id: n.id, draining: n.draining === true, up: up(n.id) }));
    const voters = metaSettled ? planMetaVoters(metaNodes, map.metaVoters, META_VOTERS_MAX) : null;
    if (voters !== null) {
      make = (requestId) => ({ t: 'metaVoters', requestId, voters, ifMapVersion: map.version });
      what = { metaVoters: voters };
    } else {
      const frozen = new Set(map.split === undefined ? [] : [map.split.source, map.split.target]);
      const stalled = this.stalledMoves(map);
      const now = this.nowMs();
      for (const [id, until] of this.avoidUntilMs) if (until <= now) this.avoidUntilMs.delete(id);
      const step = planNext({
        nodes: map.nodes.map((n) => ({ id: n.id, draining: n.draining === true, up: up(n.id), ...(n.zone === undefined ? {} : { zone: n.zone }) })),
        groups: map.groups.map((g) => ({
          id: g.id,
          replicas: g.replicas,
          settled: settled(g),
          currentVoters: currentOf(g).voters,
          currentLearners: currentOf(g).learners,
          stalled: stalled.has(g.id),
          frozen: frozen.has(g.id),
        })),
        replicationFactor: this.options.replicationFactor,
        movesMax: this.options.movesMax ?? 1,
        avoid: [...this.avoidUntilMs.keys()],
      });
      if (step === null) return true;
      if (step.reason === 'retarget' && step.from !== null) {
        this.avoidUntilMs.set(step.from, now + STALLED_NODE_AVOID_STALLS * this.stallMsMax());
        this.deps.logger.warn({ groupId: step.groupId, from: step.from, to: step.to, stallMsMax: this.stallMsMax() }, 'placement: a move made no progress; retargeting it');
      }
      make = (requestId) => ({ t: 'place', requestId, groupId: step.groupId, replicas: step.replicas, ifMapVersion: map.version });
      what = { groupId: step.groupId, reason: step.reason, from: step.from, to: step.to, replicas: step.replicas };
      reason = step.reason;
    }
    this.planning = true;
    this.deps
      .submit(make)
      .then((o) => {
        if (o.status !== 'applied') return;
        if (reason !== null) this.counters.steps[reason]++;
        this.deps.logger.info(what, 'placement: planner step written');
      })
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'placement: planner step not written; retrying'))
      .finally(() => (this.planning = false));
    return false;
  }
}
