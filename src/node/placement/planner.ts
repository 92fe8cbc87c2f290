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
 */

export interface PlannerNode {
  readonly id: string;
  /** Draining nodes receive nothing and lose everything they hold. */
  readonly draining: boolean;
  /** False: the node is unreachable now; it keeps what it holds but receives nothing. [true] */
  readonly up?: boolean;
}

export interface PlannerGroup {
  readonly id: number;
  /** Target replicas; the first is the preferred leader. */
  readonly replicas: readonly string[];
  /** The group's applied membership equals its target (no move in progress). */
  readonly settled: boolean;
}

export interface PlannerInput {
  readonly nodes: readonly PlannerNode[];
  readonly groups: readonly PlannerGroup[];
  readonly replicationFactor: number;
  /** Groups with a move in progress at most (each move streams a snapshot). */
  readonly movesMax: number;
}

export type PlanReason = 'replace' | 'add' | 'shrink' | 'balance' | 'leader';

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
  const inFlight = groups.filter((g) => !g.settled).length;
  if (inFlight >= input.movesMax) return null;
  const active = nodes.filter((n) => !n.draining).map((n) => n.id).sort(byId);
  if (active.length === 0) return null;
  const activeSet = new Set(active);
  const upSet = new Set(nodes.filter((n) => !n.draining && n.up !== false).map((n) => n.id));
  const sorted = [...groups].sort((a, b) => a.id - b.id);
  const load = new Map<string, number>(active.map((id) => [id, 0]));
  const leaders = new Map<string, number>(active.map((id) => [id, 0]));
  for (const g of sorted) {
    for (const r of g.replicas) if (load.has(r)) load.set(r, (load.get(r) ?? 0) + 1);
    const first = g.replicas[0];
    if (first !== undefined && leaders.has(first)) leaders.set(first, (leaders.get(first) ?? 0) + 1);
  }
  /** The least-loaded active node not in `replicas` (ties by id), or undefined. */
  const candidate = (replicas: readonly string[]): string | undefined => {
    let best: string | undefined;
    for (const id of active) {
      if (replicas.includes(id) || !upSet.has(id)) continue;
      if (best === undefined || (load.get(id) ?? 0) < (load.get(best) ?? 0)) best = id;
    }
    return best;
  };
  const want = Math.min(replicationFactor, active.length);
  const settled = sorted.filter((g) => g.settled);

  // 1. Replicas on draining or departed nodes move to the least-loaded active node.
  for (const g of settled) {
    const i = g.replicas.findIndex((r) => !activeSet.has(r));
    if (i < 0) continue;
    const to = candidate(g.replicas);
    const from = g.replicas[i] as string;
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
  // 3. Spread replicas: move one from the most to the least loaded node while they differ by more than one.
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
  const most = extreme(load, 'max');
  const least = extreme(load, 'min');
  if (upSet.has(least) && (load.get(most) ?? 0) - (load.get(least) ?? 0) > 1) {
    // Prefer a group where the busy node is not the preferred leader (no leadership to move).
    const movable = settled.filter((g) => g.replicas.includes(most) && !g.replicas.includes(least));
    const g = movable.find((x) => x.replicas[0] !== most) ?? movable[0];
    if (g !== undefined) return { groupId: g.id, replicas: g.replicas.map((r) => (r === most ? least : r)), reason: 'balance', from: most, to: least };
  }
  // 4. Spread preferred leaders: make a replica of a group led by the busiest node its first.
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
