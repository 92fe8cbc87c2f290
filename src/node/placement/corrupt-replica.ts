/**
 * Rebuilding a replica whose data failed its checksums, pure: what the node holding it
 * does next, from the cluster map alone (ARCHITECTURE.md: "refuses to serve the affected
 * group, reports it loudly, and is rebuilt from a healthy replica by snapshot").
 *
 * A wiped replica must not vote: with an empty log it would back any candidate, and the
 * acknowledgements it gave before the damage (counted in some commit quorum) are gone, so
 * a stale candidate could win with its vote and lose committed counters. Nor may it stay
 * a member while empty: the leader's progress still says how far its log matched, and
 * would send it a commit index its empty log does not reach. So it leaves the group and
 * comes back as a new member, the way a replica moves (reconcile.ts):
 *
 * 1. `report`: the node marks its replica lost in group 0 (`replicaLost`), hosting nothing.
 * 2. The group's leader sees the mark and removes the replica from the group (one
 *    single-server change, committed by the healthy voters).
 * 3. `wipe`: once group 0 shows the applied membership without this node, the node wipes
 *    the group's records, hosts it empty, and clears its mark.
 * 4. The leader adds it back as a learner (new progress: it sends a snapshot, then
 *    appends) and promotes it once it holds the commit index.
 *
 * A crash at any step repeats the step: the mark is in group 0 and the corrupt marker in
 * storage until the wipe, which is itself idempotent.
 */
import type { ClusterMap, GroupPlacement } from '../../../cluster/meta/index.js';

export type RebuildStep =
  /** Group 0 has no map yet, or is still demoting this replica: try again later. */
  | { readonly type: 'wait'; readonly why: string }
  /** Mark this replica lost in group 0 (the leader then removes it from the group). */
  | { readonly type: 'report' }
  /** The replica is out of the group: wipe it and host it empty; its hard state starts at `term`. */
  | { readonly type: 'wipe'; readonly term: number }
  /** The map holds no replica of the group here: drop its records. */
  | { readonly type: 'drop' };

/**
 * @example
 * ```ts
 * rebuildStep(map, 'n2', 3); // { type: 'report' } while n2 still votes in group 3 unmarked
 * ```
 */
export function rebuildStep(map: ClusterMap | null, self: string, groupId: number): RebuildStep {
  if (map === null) return { type: 'wait', why: 'group 0 has no cluster map yet' };
  const g = map.groups.find((x) => x.id === groupId);
  if (g === undefined) return { type: 'drop' };
  const current = g.current ?? { voters: g.replicas, learners: [], index: 0, term: 0 };
  const member = current.voters.includes(self) || current.learners.includes(self);
  if (!member && !g.replicas.includes(self)) return { type: 'drop' };
  if (member) {
    return (g.lost ?? []).includes(self) ? { type: 'wait', why: `waiting for group ${groupId}'s leader to remove this replica` } : { type: 'report' };
  }
  return { type: 'wipe', term: current.term };
}

/**
 * The Raft membership a shard group's leader brings its group to: the map's replicas as
 * voters, except replicas marked lost, which leave the group until their node has wiped
 * them and cleared the mark (then they come back as learners, like any new replica).
 */
export function targetMembership(g: Pick<GroupPlacement, 'replicas' | 'lost'>): { voters: readonly string[]; learners: readonly string[] } {
  const lost = g.lost ?? [];
  return { voters: lost.length === 0 ? g.replicas : g.replicas.filter((id) => !lost.includes(id)), learners: [] };
}
