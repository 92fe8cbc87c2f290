/**
 * One shard group's state machine as the multi-raft host drives it: the replica applies
 * committed batches on every node; on the leader, a ShardLeader decides checks over the
 * replica plus its overlay, and is reset whenever leadership changes hands.
 *
 * Snapshots are fuzzy: chunks are read from the live store while later entries keep
 * applying. That is sound because every mutation sets a state absolutely (never adds to
 * it): replaying the entries after the snapshot index over a state that already holds
 * some of their effects ends in the same state.
 */
import type { Entry, NodeId, Role, SnapshotMeta, Term } from '../../../raft/index.js';
import type { GroupStateMachine } from '../../../cluster/host/types.js';
import type { RuleResolver } from '../../engine/types.js';
import { SLOT_COUNT } from '../../protocol/slot.js';
import { isControl } from '../../shard/control.js';
import { ShardLeader, type ShardLeaderOptions } from '../../shard/leader.js';
import { ShardReplica, type ShardReplicaOptions } from '../../shard/replica.js';
import { frame, unframe } from './framing.js';

export class ShardMachine implements GroupStateMachine {
  readonly replica: ShardReplica;
  readonly leader: ShardLeader;
  role: Role = 'follower';
  leaderId: NodeId | null = null;
  term = 0;
  /**
   * Slots this leader stopped deciding for when it proposed a fence (a split), before the
   * fence applies: no mutation of them may follow the fence in the log. Cleared with the
   * leadership; a later leader decides only after applying its own term's first entry,
   * so after the fence if its log holds one.
   */
  private readonly preFenced = new Uint8Array(SLOT_COUNT);
  /** The split whose fence `preFenced` stands for until it applies (0: none). */
  private preFenceSplit = 0;

  constructor(
    resolver: RuleResolver,
    private readonly options: { replica?: ShardReplicaOptions; leader?: ShardLeaderOptions; statesPerChunk?: number } = {},
  ) {
    this.replica = new ShardReplica(options.replica);
    this.leader = new ShardLeader(this.replica, resolver, options.leader);
  }

  appliedIndex(): number {
    return this.replica.appliedIndex;
  }

  /** True when this group must not admit for `slot` now (fenced or gone, or being fenced). An array index per check. */
  refuses(slot: number): boolean {
    return this.replica.ownership.states[slot] !== 0 || this.preFenced[slot] !== 0;
  }

  /** This leader is about to propose a fence of `slots`: stop deciding for them now. */
  preFence(splitId: number, slots: readonly number[]): void {
    this.preFenceSplit = splitId;
    for (const s of slots) this.preFenced[s] = 1;
  }

  private clearPreFence(): void {
    if (this.preFenceSplit === 0) return;
    this.preFenced.fill(0);
    this.preFenceSplit = 0;
  }

  apply(entry: Entry): void {
    if (entry.type !== 'normal') {
      this.replica.skip(entry.index);
      return;
    }
    if (isControl(entry.data)) {
      const c = this.replica.applyControl(entry.index, entry.data);
      // The fence is in the replicated state now (which an abort's unfence can lift).
      if (c.t === 'fence' && c.splitId === this.preFenceSplit) this.clearPreFence();
      return;
    }
    if (this.role === 'leader') {
      const own = this.leader.applyOwn(entry.index, entry.data);
      this.leader.onApplied(own >= 0 ? own : this.replica.apply(entry.index, entry.data));
      return;
    }
    this.replica.apply(entry.index, entry.data);
  }

  async restore(meta: SnapshotMeta, data: AsyncIterable<Uint8Array>): Promise<void> {
    const chunks: Uint8Array[] = [];
    for await (const c of unframe(data)) chunks.push(c);
    this.replica.restore(meta.index, chunks);
    this.leader.reset();
  }

  *snapshotChunks(): Iterable<Uint8Array> {
    for (const chunk of this.replica.snapshotChunks(this.options.statesPerChunk)) yield frame(chunk);
  }

  onRoleChange(role: Role, leader: NodeId | null, term: Term): void {
    // Any change of hands voids the overlay: its mutations may never commit.
    if (role !== this.role || term !== this.term) {
      this.leader.reset();
      this.clearPreFence();
    }
    this.role = role;
    this.leaderId = leader;
    this.term = term;
  }
}
