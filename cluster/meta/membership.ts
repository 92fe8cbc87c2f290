/**
 * Who is in the meta group and what the first cluster map says, computed the same way on
 * every node from the same member list: voters are the first `META_VOTERS_MAX` ids in
 * sorted order, every other node is a learner. Adding nodes later goes through meta
 * writes (a `node` command, then a membership change), not through this function.
 */
import { META_VOTERS_MAX, type ClusterMap, type GroupPlacement, type MetaNode } from './meta-types.js';

export function metaMembership(memberIds: readonly string[]): { voters: string[]; learners: string[] } {
  const sorted = [...new Set(memberIds)].sort();
  return { voters: sorted.slice(0, META_VOTERS_MAX), learners: sorted.slice(META_VOTERS_MAX) };
}

/** The first map: members, meta voters, and the shard placement the nodes start with. */
export function bootstrapClusterMap(
  nodes: readonly MetaNode[],
  slotCount: number,
  groupOf: (slot: number) => number,
  groups: readonly GroupPlacement[],
): Omit<ClusterMap, 'version'> {
  const sorted = [...nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return {
    nodes: sorted,
    metaVoters: metaMembership(sorted.map((n) => n.id)).voters,
    slotGroups: Array.from({ length: slotCount }, (_, s) => groupOf(s)),
    groups: groups.map((g) => ({ id: g.id, replicas: [...g.replicas] })),
  };
}
