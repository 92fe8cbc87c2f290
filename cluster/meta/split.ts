/**
 * The group-split commands of the meta machine, pure: when they may apply and what they
 * do to the cluster map (see SplitPlan in meta-types.ts for the phases). Decided from the
 * entry and the map alone, so every replica of group 0 agrees; the meta log orders
 * `switch` against `abort`, so exactly one of them wins for a split.
 */
import type { ClusterMap, GroupPlacement, MetaCommand, SplitPlan } from './meta-types.js';

export type SplitCommand = Extract<MetaCommand, { t: 'splitBegin' | 'split' }>;

/** Group ids fit 16 bits (the nodes' slot tables are Uint16Array); aborted splits use ids up too. */
const GROUP_ID_MAX = 65_535;

/** The id of the next group a split makes: above every id ever used. */
function nextGroupId(map: ClusterMap): number {
  return Math.max(map.groupIdMax ?? 0, ...map.groups.map((g) => g.id)) + 1;
}

/** The slots of group `groupId` in `map`, ascending. */
export function slotsOf(map: Pick<ClusterMap, 'slotGroups'>, groupId: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < map.slotGroups.length; s++) if (map.slotGroups[s] === groupId) out.push(s);
  return out;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** A group whose applied membership is its target (no move in progress). */
function settled(g: GroupPlacement): boolean {
  const c = g.current;
  return c === undefined || (c.learners.length === 0 && sameSet(c.voters, g.replicas));
}

/** Why `c` may not apply to `map` (null: it may). */
export function splitRefusal(map: ClusterMap, c: SplitCommand): string | null {
  if (c.t === 'splitBegin') {
    if (c.ifMapVersion !== map.version) return `the map changed (version ${map.version}, planned from ${c.ifMapVersion})`;
    if (map.split !== undefined) return `split ${map.split.id} of group ${map.split.source} is in progress`;
    const g = map.groups.find((x) => x.id === c.groupId);
    if (g === undefined) return `no group ${c.groupId}`;
    if (map.groups.length >= c.groupsMax) return `the cluster holds ${map.groups.length} groups, its maximum (${c.groupsMax})`;
    if (!settled(g) || (g.lost ?? []).length > 0) return `group ${c.groupId} has a move in progress`;
    if (slotsOf(map, c.groupId).length < 2) return `group ${c.groupId} holds fewer than 2 slots`;
    if (nextGroupId(map) > GROUP_ID_MAX) return `group ids are used up (${GROUP_ID_MAX})`;
    return null;
  }
  const s = map.split;
  if (s === undefined || s.id !== c.splitId) return `split ${c.splitId} is not in progress`;
  if (c.step === 'done') return s.phase === 'seeding' ? `split ${c.splitId} has neither switched nor aborted` : null;
  return s.phase === 'seeding' ? null : `split ${c.splitId} is ${s.phase}`;
}

/**
 * The map after `c` (without its version); `index` is the command's meta log index (the
 * split's id). Call only when `splitRefusal` is null.
 */
export function applySplit(map: ClusterMap, c: SplitCommand, index: number): Omit<ClusterMap, 'version'> {
  if (c.t === 'splitBegin') {
    const source = map.groups.find((x) => x.id === c.groupId) as GroupPlacement;
    const slots = slotsOf(map, c.groupId);
    const target = nextGroupId(map);
    // The upper half moves: the source keeps ceil(n / 2) of its n slots.
    const split: SplitPlan = { id: index, source: source.id, target, slots: slots.slice(Math.ceil(slots.length / 2)), replicas: [...source.replicas], phase: 'seeding' };
    return { ...map, groups: [...map.groups, { id: target, replicas: [...source.replicas] }], split, groupIdMax: target };
  }
  const s = map.split as SplitPlan;
  switch (c.step) {
    case 'switch': {
      // The commit point: every node routes the slots to the new group from here on.
      const slotGroups = [...map.slotGroups];
      for (const slot of s.slots) slotGroups[slot] = s.target;
      return { ...map, slotGroups, slotMapVersion: (map.slotMapVersion ?? 1) + 1, split: { ...s, phase: 'switched' } };
    }
    case 'abort':
      return { ...map, groups: map.groups.filter((g) => g.id !== s.target), split: { ...s, phase: 'aborting' } };
    case 'done': {
      const { split: _done, ...rest } = map;
      return rest;
    }
  }
}
