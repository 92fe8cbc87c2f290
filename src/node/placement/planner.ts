/**
 * The placement planner, pure: given the cluster map's members and groups and the
 * replication factor, the next step toward a placement where every group has
 * `replicationFactor` replicas on distinct active nodes, replicas spread within one per
 * node, and preferred leaders (each group's first replica) spread within one per node.
 *
 * One step changes the target of one group by one replica (or only reorders it), and no
 * step is taken for a group whose move is still in progress, nor while `movesMax` moves
 * are, so membership changes go one at a time per group with bounded concurrency. The
 * meta leader runs it and writes each step to group 0; the group's leader carries it out.
 *
 * Zones: when nodes carry zone labels, a group's replicas go to distinct zones as far as
 * the up, active nodes allow (a node without a label is in the zone ''), and no step
 * lowers the number of zones a group spans. A move that made no progress for the
 * caller's stall bound is retargeted to another node, or rolled back to the group's
 * current voters when no node can take it (the reconciler then removes the learner that
 * never caught up). Groups taking part in a split are frozen (no step).
 */

export interface PlannerNode {
  readonly id: string;
  /** Draining nodes receive nothing and lose everything they hold. */
  readonly draining: boolean;
  /** False: the node is unreachable now; it keeps what it holds but receives nothing. [true] */
  readonly up?: boolean;
  /** Failure-domain label; absent: the zone ''. */
  readonly zone?: string;
}

export interface PlannerGroup {
  readonly id: number;
  /** Target replicas; the first is the preferred leader. */
  readonly replicas: readonly string[];
  /** The group's applied membership equals its target (no move in progress). */
  readonly settled: boolean;
  /** Its applied voters and learners (absent: equal to `replicas`); used to retarget a stalled move. */
  readonly currentVoters?: readonly string[];
  readonly currentLearners?: readonly string[];
  /** Its move made no progress for the caller's stall bound: retarget or roll it back. */
  readonly stalled?: boolean;
  /** Taking part in a split: no step for it until the split ends. */
  readonly frozen?: boolean;
}

export interface PlannerInput {
  readonly nodes: readonly PlannerNode[];
  readonly groups: readonly PlannerGroup[];
  readonly replicationFactor: number;
  /** Groups with a move in progress at most (each move streams a snapshot). */
  readonly movesMax: number;
  /** Nodes that recently stalled a move: they receive nothing for a while. */
  readonly avoid?: readonly string[];
}

export type PlanReason = 'replace' | 'add' | 'shrink' | 'balance' | 'leader' | 'zone' | 'retarget';

export interface PlanStep {
  readonly groupId: number;
  readonly replicas: readonly string[];
  readonly reason: PlanReason;
  /** For replica moves: the node that leaves and the one that arrives (null when none). */
  readonly from: string | null;
  readonly to: string | null;
}

function byId(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The next step, or null when the placement is where it should be (or moves are in
 * progress up to the bound).
 *
 * @example
 * ```ts
 * const step = planNext({ nodes: [{ id: 'n1', draining: false }, …], groups, replicationFactor: 3, movesMax: 1 });
 * if (step !== null) propose({ t: 'place', groupId: step.groupId, replicas: step.replicas, ifMapVersion });
 * ```
 */
export function planNext(input: PlannerInput): PlanStep | null {
  const { nodes, groups, replicationFactor } = input;
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) throw new RangeError(`planNext: 'replicationFactor' must be a positive integer (got ${replicationFactor})`);
  if (!Number.isInteger(input.movesMax) || input.movesMax < 1) throw new RangeError(`planNext: 'movesMax' must be a positive integer (got ${input.movesMax})`);
  const active = nodes.filter((n) => !n.draining).map((n) => n.id).sort(byId);
  if (active.length === 0) return null;
  const activeSet = new Set(active);
  const avoid = new Set(input.avoid ?? []);
  const upSet = new Set(nodes.filter((n) => !n.draining && n.up !== false).map((n) => n.id));
  const zoneOf = new Map<string, string>(nodes.map((n) => [n.id, n.zone ?? '']));
  const zone = (id: string): string => zoneOf.get(id) ?? '';
  const sorted = [...groups].sort((a, b) => a.id - b.id);
  const load = new Map<string, number>(active.map((id) => [id, 0]));
  const leaders = new Map<string, number>(active.map((id) => [id, 0]));
  for (const g of sorted) {
    for (const r of g.replicas) if (load.has(r)) load.set(r, (load.get(r) ?? 0) + 1);
    const first = g.replicas[0];
    if (first !== undefined && leaders.has(first)) leaders.set(first, (leaders.get(first) ?? 0) + 1);
  }
  /**
   * The node to take a replica of a group holding `replicas` (in place of `replacing`, if
   * any), or undefined: an up, active node not in `exclude`, in a zone the group's other
   * replicas do not use when there is one, then the least loaded (ties by id).
   */
  const candidate = (replicas: readonly string[], replacing?: string, exclude: readonly string[] = replicas): string | undefined => {
    const used = new Set(replicas.filter((r) => r !== replacing).map(zone));
    let best: string | undefined;
    let bestNewZone = false;
    for (const id of active) {
      if (exclude.includes(id) || replicas.includes(id) || !upSet.has(id) || avoid.has(id)) continue;
      const newZone = !used.has(zone(id));
      if (best === undefined || (newZone && !bestNewZone) || (newZone === bestNewZone && (load.get(id) ?? 0) < (load.get(best) ?? 0))) {
        best = id;
        bestNewZone = newZone;
      }
    }
    return best;
  };

  // 0. A stalled move: retarget its arriving replica, or roll back to the current voters.
  for (const g of sorted) {
    if (g.settled || g.stalled !== true || g.frozen === true) continue;
    const voters = g.currentVoters ?? g.replicas;
    const learners = g.currentLearners ?? [];
    const arriving = g.replicas.find((r) => !voters.includes(r));
    if (arriving === undefined) continue; // only removals left: the group's leader finishes them
    const to = candidate(g.replicas, arriving, [...g.replicas, ...voters, ...learners]);
    if (to !== undefined) return { groupId: g.id, replicas: g.replicas.map((r) => (r === arriving ? to : r)), reason: 'retarget', from: arriving, to };
    const back = [...g.replicas.filter((r) => voters.includes(r)), ...voters.filter((v) => !g.replicas.includes(v))];
    if (back.length > 0) return { groupId: g.id, replicas: back, reason: 'retarget', from: arriving, to: null };
  }
  const inFlight = groups.filter((g) => !g.settled).length;
  if (inFlight >= input.movesMax) return null;
  const want = Math.min(replicationFactor, active.length);
  const settled = sorted.filter((g) => g.settled && g.frozen !== true);

  // 1. Replicas on draining or departed nodes move to the least-loaded active node.
  for (const g of settled) {
    const i = g.replicas.findIndex((r) => !activeSet.has(r));
    if (i < 0) continue;
    const from = g.replicas[i] as string;
    const to = candidate(g.replicas, from);
    if (to !== undefined) return { groupId: g.id, replicas: g.replicas.map((r, k) => (k === i ? to : r)), reason: 'replace', from, to };
    // No room elsewhere: drop it only while the group keeps more than the replication factor.
    if (g.replicas.length > replicationFactor) return { groupId: g.id, replicas: g.replicas.filter((_, k) => k !== i), reason: 'shrink', from, to: null };
  }
  // 2. Too few replicas: add one; too many: drop the most loaded non-first one.
  for (const g of settled) {
    if (g.replicas.length < want) {
      const to = candidate(g.replicas);
      if (to !== undefined) return { groupId: g.id, replicas: [...g.replicas, to], reason: 'add', from: null, to };
    }
    if (g.replicas.length > replicationFactor) {
      const rest = g.replicas.slice(1);
      const from = rest.reduce((a, b) => ((load.get(b) ?? 0) > (load.get(a) ?? 0) ? b : a));
      return { groupId: g.id, replicas: g.replicas.filter((r) => r !== from), reason: 'shrink', from, to: null };
    }
  }
  // 3. Spread zones: a group on fewer zones than the up, active nodes offer moves a replica
  // out of a shared zone (a non-first one first) to a node of a zone it lacks.
  const zonesUp = new Set([...upSet].map(zone)).size;
  const zonesOf = (replicas: readonly string[]): number => new Set(replicas.map(zone)).size;
  if (zonesUp > 1) {
    for (const g of settled) {
      if (zonesOf(g.replicas) >= Math.min(g.replicas.length, zonesUp)) continue;
      const shared = g.replicas.filter((r, k) => g.replicas.some((o, j) => j !== k && zone(o) === zone(r)));
      const from = [...shared].sort((a, b) => Number(a === g.replicas[0]) - Number(b === g.replicas[0]) || (load.get(b) ?? 0) - (load.get(a) ?? 0) || byId(a, b))[0];
      if (from === undefined) continue;
      const to = candidate(g.replicas, from);
      if (to !== undefined && zonesOf(g.replicas.map((r) => (r === from ? to : r))) > zonesOf(g.replicas)) {
        return { groupId: g.id, replicas: g.replicas.map((r) => (r === from ? to : r)), reason: 'zone', from, to };
      }
    }
  }
  // 4. Spread replicas: move one from a busy to a quiet node while they differ by more than
  // one, never onto a node that is down and never lowering the zones a group spans. Busiest
  // nodes are tried first, each toward the quietest that can take one of its groups.
  const byLoadDesc = [...active].sort((a, b) => (load.get(b) ?? 0) - (load.get(a) ?? 0) || byId(a, b));
  const byLoadAsc = active.filter((id) => upSet.has(id) && !avoid.has(id)).sort((a, b) => (load.get(a) ?? 0) - (load.get(b) ?? 0) || byId(a, b));
  for (const most of byLoadDesc) {
    const quietest = byLoadAsc[0];
    if (quietest === undefined || (load.get(most) ?? 0) - (load.get(quietest) ?? 0) <= 1) break;
    for (const least of byLoadAsc) {
      if ((load.get(most) ?? 0) - (load.get(least) ?? 0) <= 1) break;
      const keepsZones = (g: PlannerGroup): boolean => zonesOf(g.replicas.map((r) => (r === most ? least : r))) >= zonesOf(g.replicas);
      // Prefer a group where the busy node is not the preferred leader (no leadership to move).
      const movable = settled.filter((g) => g.replicas.includes(most) && !g.replicas.includes(least) && keepsZones(g));
      const g = movable.find((x) => x.replicas[0] !== most) ?? movable[0];
      if (g !== undefined) return { groupId: g.id, replicas: g.replicas.map((r) => (r === most ? least : r)), reason: 'balance', from: most, to: least };
    }
  }
  const upIds = active.filter((id) => upSet.has(id));
  const extreme = (m: Map<string, number>, pick: 'max' | 'min'): string => {
    const ids = pick === 'max' || upIds.length === 0 ? active : upIds;
    let best = ids[0] as string;
    for (const id of ids) {
      const v = m.get(id) ?? 0;
      const b = m.get(best) ?? 0;
      if (pick === 'max' ? v > b : v < b) best = id;
    }
    return best;
  };
  // 5. Spread preferred leaders: make a replica of a group led by the busiest node its first.
  const lMost = extreme(leaders, 'max');
  const lLeast = extreme(leaders, 'min');
  if (upSet.has(lLeast) && (leaders.get(lMost) ?? 0) - (leaders.get(lLeast) ?? 0) > 1) {
    const g = settled.find((x) => x.replicas[0] === lMost && x.replicas.includes(lLeast));
    if (g !== undefined) return { groupId: g.id, replicas: [lLeast, ...g.replicas.filter((r) => r !== lLeast)], reason: 'leader', from: null, to: null };
  }
  return null;
}

/**
 * The target voters of group 0: the current ones that are still active members, topped
 * up to `votersMax` (or every active node) by the lowest ids of nodes that are up, in sorted order; null when
 * that changes nothing. Draining nodes give up their vote first, so removing them never
 * touches group 0's quorum.
 */
export function planMetaVoters(nodes: readonly PlannerNode[], voters: readonly string[], votersMax: number): string[] | null {
  const active = nodes.filter((n) => !n.draining).map((n) => n.id).sort(byId);
  const keep = voters.filter((v) => active.includes(v));
  const target = Math.min(votersMax, active.length);
  const next = keep.slice(0, target);
  // Only a node that is up gains a vote: one that never started would stall group 0's changes.
  for (const id of active) {
    if (next.length >= target) break;
    if (!next.includes(id) && nodes.find((n) => n.id === id)?.up !== false) next.push(id);
  }
  next.sort(byId);
  if (next.length === 0) return null;
  const old = [...voters].sort(byId);
  const same = next.length === old.length && next.every((v, i) => v === old[i]);
  return same ? null : next;
}

export interface SplitPlanInput {
  /** Every shard group: its slot count and whether a move is in progress. */
  readonly groups: readonly { readonly id: number; readonly slots: number; readonly settled: boolean }[];
  /** Checks per second each group's leader reported recently (groups without a report count as 0). */
  readonly checksPerSecond: ReadonlyMap<number, number>;
  /** A group above this is split; 0 or less: never (the default). */
  readonly checksPerSecondMin: number;
  /** Groups the cluster may hold at most. */
  readonly groupsMax: number;
  /** A split is in progress (one at a time). */
  readonly splitInProgress: boolean;
}

/**
 * The group to split next, or null: the busiest group above the threshold that holds at
 * least two slots, once no move and no split is in progress and the cluster is below its
 * group bound. A split halves the group's slots, so its load roughly halves too; the
 * planner then moves the new group's replicas like any other's.
 *
 * @example
 * ```ts
 * planSplit({ groups, checksPerSecond: new Map([[3, 90_000]]), checksPerSecondMin: 50_000, groupsMax: 256, splitInProgress: false }); // { groupId: 3, checksPerSecond: 90000 }
 * ```
 */
export function planSplit(input: SplitPlanInput): { readonly groupId: number; readonly checksPerSecond: number } | null {
  if (!(input.checksPerSecondMin > 0) || input.splitInProgress || input.groups.length >= input.groupsMax) return null;
  if (input.groups.some((g) => !g.settled)) return null;
  let best: { groupId: number; checksPerSecond: number } | null = null;
  for (const g of [...input.groups].sort((a, b) => a.id - b.id)) {
    const rate = input.checksPerSecond.get(g.id) ?? 0;
    if (g.slots < 2 || rate <= input.checksPerSecondMin) continue;
    if (best === null || rate > best.checksPerSecond) best = { groupId: g.id, checksPerSecond: rate };
  }
  return best;
}
