/**
 * The JSON answered by `GET /v1/stats` and pushed by `/v1/stats/stream`: a public
 * contract, documented field by field in docs/stats.md. Add fields freely; renaming or
 * removing one needs a new `schema` number.
 */

/** Version of this shape; bumped only by an incompatible change. */
export const STATS_SCHEMA = 1;

export interface StatsLatency {
  /** Median of check latency from receipt to answer over the window, ms; null without answers. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
  /** Answers the percentiles are computed from. */
  readonly samples: number;
}

export interface StatsChecks {
  readonly allowedPerSec: number;
  readonly deniedPerSec: number;
  /** Checks that ended in an error (no quorum, timeouts, ...), per second. */
  readonly errorsPerSec: number;
  readonly latency: StatsLatency;
}

export interface StatsSecond {
  /** Wall-clock start of the second (ms since the epoch, this node's clock). */
  readonly atMs: number;
  readonly allowed: number;
  readonly denied: number;
  readonly errors: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

export interface StatsResource {
  /** A configured resource name, or `other` for every resource not tracked by name. */
  readonly name: string;
  readonly allowedPerSec: number;
  readonly deniedPerSec: number;
}

export interface StatsNode {
  readonly id: string;
  /** True for the node that answered. */
  readonly self: boolean;
  /** Client API address (host:port) when known: always for `self`, for peers once the cluster map carries it. */
  readonly api: string | null;
  /** The peer link as seen from the answering node (`self` for itself). */
  readonly link: 'self' | 'connected' | 'down';
}

export interface StatsGroup {
  readonly id: number;
  readonly replicas: readonly string[];
  /** True when the answering node holds a replica: only then are the fields below known. */
  readonly hosted: boolean;
  readonly role: string | null;
  readonly leader: string | null;
  readonly term: number | null;
  readonly commitIndex: number | null;
  readonly appliedIndex: number | null;
  /** Committed entries not yet applied on the answering node. */
  readonly applyLag: number | null;
  /** When the answering node leads the group: entries each follower is behind its last index; else null. */
  readonly replicationLag: Readonly<Record<string, number>> | null;
}

export interface StatsAlarm {
  /** Stable code: `GROUP_NO_LEADER`. */
  readonly code: 'GROUP_NO_LEADER';
  readonly groupId: number;
  readonly message: string;
}

export interface NodeStats {
  readonly schema: typeof STATS_SCHEMA;
  /** The node that answered. */
  readonly node: string;
  /** Wall-clock time of the snapshot, ms since the epoch. */
  readonly atMs: number;
  readonly uptimeMs: number;
  readonly configVersion: number;
  readonly slotMapVersion: number;
  /** Complete seconds the rates and percentiles cover (10, fewer in the first seconds after start). */
  readonly windowS: number;
  /** Checks that entered the cluster through this node (forwarded-in checks are counted where they entered). */
  readonly checks: StatsChecks;
  /** The window's seconds, oldest first. */
  readonly seconds: readonly StatsSecond[];
  /** Every tracked resource, by name. */
  readonly resources: readonly StatsResource[];
  /** Up to 5 resources with denials in the window, most denied first. */
  readonly topDenied: readonly StatsResource[];
  readonly nodes: readonly StatsNode[];
  readonly groups: readonly StatsGroup[];
  readonly alarms: readonly StatsAlarm[];
}
