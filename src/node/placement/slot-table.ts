/**
 * The node's slot → group table, following the cluster map that group 0 replicates: an
 * array index per check (`groupOf`), swapped whole when a split switches slots (the
 * map's `slotMapVersion` grows), so a check never sees half a change. Before group 0
 * holds a map, the static placement's table (`(slot % groups) + 1`).
 */
import type { ClusterMap } from '../../../cluster/meta/index.js';
import { SLOT_COUNT } from '../../protocol/slot.js';
import type { SlotMap } from '../check-service.js';

export class SlotTable implements SlotMap {
  private table: Uint16Array;
  private current: number;
  private fromMap = false;

  constructor(initial: SlotMap) {
    this.table = new Uint16Array(SLOT_COUNT);
    for (let s = 0; s < SLOT_COUNT; s++) this.table[s] = initial.groupOf(s);
    this.current = initial.version;
  }

  /** Bumped by every split that switched slots (1: the first map's layout). */
  get version(): number {
    return this.current;
  }

  groupOf(slot: number): number {
    return this.table[slot] as number;
  }

  /** Takes the map's table when it is new here; true when the table changed. Called as group 0 applies. */
  follow(map: ClusterMap): boolean {
    const version = map.slotMapVersion ?? 1;
    if (this.fromMap && version === this.current) return false;
    // Invariant: every slot names a group (the meta codec checks the length and ids).
    if (map.slotGroups.length !== SLOT_COUNT) throw new Error(`cluster map holds ${map.slotGroups.length} slots, not ${SLOT_COUNT}`);
    this.table = Uint16Array.from(map.slotGroups);
    this.current = version;
    this.fromMap = true;
    return true;
  }

  /** Every slot's group, in slot order (for `GET /v1/cluster/slots`). */
  toArray(): number[] {
    return Array.from(this.table);
  }
}
