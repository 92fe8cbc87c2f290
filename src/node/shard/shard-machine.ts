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
import { ShardLeader, type ShardLeaderOptions } from '../../shard/leader.js';
import { ShardReplica, type ShardReplicaOptions } from '../../shard/replica.js';
import { frame, unframe } from './framing.js';

export class ShardMachine implements GroupStateMachine {
  readonly replica: ShardReplica;
  readonly leader: ShardLeader;
  role: Role = 'follower';
  leaderId: NodeId | null = null;
  term = 0;

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

  apply(entry: Entry): void {
    if (entry.type !== 'normal') {
      this.replica.skip(entry.index);
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
    if (role !== this.role || term !== this.term) this.leader.reset();
    this.role = role;
    this.leaderId = leader;
    this.term = term;
  }
}
