/**
 * Static placement (this version; the meta group replaces it with a replicated cluster
 * map): slots are dealt to groups round-robin, and group g's replicas are the
 * replicationFactor members after g in the sorted member list, so groups, and with them
 * leaders, spread evenly over nodes. Every node computes the same answer from the same
 * member list.
 */
import { SLOT_COUNT } from '../protocol/slot.js';
import type { SlotMap } from './check-service.js';

export interface Placement {
  readonly slots: SlotMap;
  /** Group ids 1..groups. */
  readonly groupIds: readonly number[];
  replicasOf(groupId: number): readonly string[];
}

export function staticPlacement(members: readonly string[], groups: number, replicationFactor: number): Placement {
  const sorted = [...members].sort();
  const rf = Math.min(replicationFactor, sorted.length);
  const groupIds = Array.from({ length: groups }, (_, i) => i + 1);
  return {
    slots: { version: 1, groupOf: (slot) => (slot % groups) + 1 },
    groupIds,
    replicasOf: (groupId) => Array.from({ length: rf }, (_, k) => sorted[(groupId - 1 + k) % sorted.length] as string),
  };
}

export { SLOT_COUNT };
