/**
 * Builds the `/v1/stats` object (src/node/stats/types.ts) from the check counters and the
 * node's view of the cluster. Called about once per second (by requests and by the stream
 * timer), never per check.
 */
import type { CheckStats } from './check-stats.js';
import { STATS_SCHEMA, type NodeStats, type StatsAlarm, type StatsGroup, type StatsNode, type StatsResource } from './types.js';

/** Resources listed in `topDenied`. */
export const TOP_DENIED_MAX = 5;

/** The node's view of the cluster at one instant, as the node wiring reads it. */
export interface ClusterSnapshot {
  readonly configVersion: number;
  readonly slotMapVersion: number;
  readonly nodes: readonly StatsNode[];
  readonly groups: readonly StatsGroup[];
}

export interface NodeStatsDeps {
  readonly checks: CheckStats;
  readonly cluster: () => ClusterSnapshot;
  /** Wall clock, ms since the epoch. */
  readonly wallNowMs: () => number;
  /** The stats clock of `checks` (monotonic ms), to date each second on the wall clock. */
  readonly monoNowMs: () => number;
}

/** Rounds to 3 decimals: rates and latencies are estimates, and shorter JSON is easier to read. */
function r3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function r3OrNull(n: number | null): number | null {
  return n === null ? null : r3(n);
}

export class NodeStatsReporter {
  private readonly startedAtMs: number;

  constructor(
    private readonly nodeId: string,
    private readonly deps: NodeStatsDeps,
  ) {
    this.startedAtMs = deps.wallNowMs();
  }

  /** The current stats object. */
  snapshot(): NodeStats {
    const wall = this.deps.wallNowMs();
    const mono = this.deps.monoNowMs();
    const s = this.deps.checks.snapshot();
    const cluster = this.deps.cluster();
    const per = (n: number): number => (s.windowS === 0 ? 0 : r3(n / s.windowS));
    const resources: StatsResource[] = s.resources.map((r) => ({ name: r.name, allowedPerSec: per(r.allowed), deniedPerSec: per(r.denied) }));
    const topDenied = resources
      .filter((r) => r.deniedPerSec > 0)
      .sort((a, b) => b.deniedPerSec - a.deniedPerSec || a.name.localeCompare(b.name))
      .slice(0, TOP_DENIED_MAX);
    const alarms: StatsAlarm[] = cluster.groups
      .filter((g) => g.hosted && g.leader === null)
      .map((g) => ({ code: 'GROUP_NO_LEADER', groupId: g.id, message: `group ${g.id} has no leader (replicas ${g.replicas.join(', ')})` }));
    return {
      schema: STATS_SCHEMA,
      node: this.nodeId,
      atMs: wall,
      uptimeMs: Math.max(0, wall - this.startedAtMs),
      configVersion: cluster.configVersion,
      slotMapVersion: cluster.slotMapVersion,
      windowS: s.windowS,
      checks: {
        allowedPerSec: r3(s.allowedPerSec),
        deniedPerSec: r3(s.deniedPerSec),
        errorsPerSec: r3(s.errorsPerSec),
        latency: { p50Ms: r3OrNull(s.latencyP50Ms), p99Ms: r3OrNull(s.latencyP99Ms), maxMs: r3OrNull(s.latencyMaxMs), samples: s.latencySamples },
      },
      seconds: s.seconds.map((x) => ({
        atMs: Math.round(wall - (mono - x.second * 1000)),
        allowed: x.allowed,
        denied: x.denied,
        errors: x.errors,
        p50Ms: r3OrNull(x.p50Ms),
        p99Ms: r3OrNull(x.p99Ms),
      })),
      resources,
      topDenied,
      nodes: cluster.nodes,
      groups: cluster.groups,
      alarms,
    };
  }
}
