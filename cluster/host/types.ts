/**
 * What the multi-raft host needs from the outside: a transport that carries opaque
 * messages per group between nodes, a monotonic clock, and per group a state machine it
 * drives. The host knows groups, never rate limits: the node runtime injects the shard
 * state machine through `GroupStateMachine`.
 */
import type { ConfState, Entry, LogIndex, NodeId, Role, SnapshotMeta, Term } from '../../raft/index.js';

/** Peer-to-peer delivery of Raft messages; loss, duplication and reordering are tolerated. */
export interface HostTransport {
  send(to: string, groupId: number, message: unknown): void;
  onMessage(handler: (from: string, groupId: number, message: unknown) => void): void;
}

/** Monotonic milliseconds (never goes back), for ticks and leases. */
export interface MonotonicClock {
  nowMs(): number;
}

/**
 * The replicated state machine of one group, as the host drives it. Calls come in log
 * order; `apply` sees every committed normal entry exactly once per incarnation
 * (entries up to `appliedIndex()` are not handed out again after a restart).
 */
export interface GroupStateMachine {
  /** Index of the last entry the state machine holds (0 when empty). */
  appliedIndex(): number;
  /** Applies a committed entry (normal or confChange; confChange entries only advance the index). */
  apply(entry: Entry): void;
  /** Replaces the whole state with a snapshot's data, read piece by piece. */
  restore(meta: SnapshotMeta, data: AsyncIterable<Uint8Array>): Promise<void>;
  /** The state as snapshot pieces, lazily (a checkpoint at `appliedIndex()`). */
  snapshotChunks(): Iterable<Uint8Array>;
  /** Leadership of this node in this group changed. */
  onRoleChange(role: Role, leader: NodeId | null, term: Term): void;
}

/** What a group looks like to the node runtime (status, routing, metrics). */
export interface GroupView {
  readonly groupId: number;
  readonly role: Role;
  readonly leader: NodeId | null;
  readonly term: Term;
  readonly commit: LogIndex;
  readonly applied: LogIndex;
  /** The configuration in effect (latest appended, maybe uncommitted). */
  readonly confState: ConfState;
  /** The configuration as of the applied index (committed). */
  readonly confStateApplied: ConfState;
}

/**
 * Counters and gauges of one hosted group, read at scrape time by the node's metrics
 * (plain numbers: nothing here is updated per check). Counters only grow.
 */
export interface GroupStats {
  readonly groupId: number;
  readonly role: Role;
  readonly leader: NodeId | null;
  readonly term: Term;
  readonly commit: LogIndex;
  readonly applied: LogIndex;
  readonly lastIndex: LogIndex;
  /** Leader only: entries this leader appended and has not applied yet (0 elsewhere). */
  readonly pendingEntries: number;
  /** Leader only: per follower (learners included), entries behind this leader's last index. */
  readonly replicationLagEntries: ReadonlyMap<NodeId, number>;
  /** Times this node learned of a new leader (a change to "no leader" is not counted). */
  readonly leaderChanges: number;
  /** Elections this node started (it became a candidate, or campaigned again in a new term). */
  readonly elections: number;
  /** Snapshots this node started sending to a follower, and the snapshot bytes it sent. */
  readonly snapshotsSent: number;
  readonly snapshotSentBytes: number;
  /** Snapshots (checkpoints) this node wrote locally, and their bytes. */
  readonly snapshotsWritten: number;
  readonly snapshotWrittenBytes: number;
  /** Leader: snapshot chunks followers acknowledged (a learner receiving a snapshot makes progress). */
  readonly snapshotAcksReceived?: number;
  /** The group stopped after a storage failure. */
  readonly failed: boolean;
}
