/**
 * The node's Prometheus metrics (docs/metrics.md). Nothing here runs per check except
 * `CheckMetrics.answered`/`failed`, which only bump numbers in typed arrays; every
 * prom-client metric is filled at scrape time from the plain counters and getters the
 * parts keep (check service, multi-raft host, transport, storage, clock monitor).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricType } from 'prom-client';
import type { GroupStats } from '../../cluster/host/types.js';
import type { TransportStats } from '../../cluster/transport/index.js';
import { FixedHistogram, STORAGE_LATENCY_BOUNDS_SECONDS, type NodeStorageStats } from '../../storage/index.js';
import { DEFAULT_RESOURCE, type CheckInput, type CheckOutput } from '../protocol/check.js';
import { NAME_PATTERN } from '../protocol/limits.js';
import type { CheckCounters } from './check-service.js';

/** Check latency buckets in seconds: 50 µs (a denial answered in the same turn) to 2.5 s (a check that waited out a failover). */
export const CHECK_LATENCY_BOUNDS_SECONDS: readonly number[] = STORAGE_LATENCY_BOUNDS_SECONDS;

export const DECISIONS = ['allowed', 'denied', 'shadow_denied'] as const;
export const MODES = ['strict', 'fast'] as const;
export type Decision = (typeof DECISIONS)[number];

/**
 * Resource label values at most, besides `other`: a label set Prometheus can hold for
 * every node and decision (64 × 3 × 2 = 384 series per node). Resources beyond the first
 * 64 configured, and resources not in the configuration, count as `other`. `default` (checks that name no resource) is always kept.
 */
export const RESOURCE_LABELS_MAX = 64;
export const OTHER_RESOURCE = 'other';
const OTHER_INDEX = RESOURCE_LABELS_MAX;
/** Error codes kept apart at most; more (there are about a dozen) count as `other`. */
const ERROR_CODES_MAX = 32;

/** What `CheckMetrics` needs of a configuration: its rules' ids and modes. */
export interface RuleModes {
  readonly rules: readonly { readonly id: string; readonly consistency: 'strict' | 'fast' }[];
}

/** The resource a rule id is about (`resources.search`, `tiers.pro.resources.search`, `clients["k"].resources.search`), or null. */
export function resourceOfRuleId(ruleId: string): string | null {
  const m = /(?:^|\.|\])resources\.(.+)$/.exec(ruleId);
  const name = m?.[1];
  return name !== undefined && NAME_PATTERN.test(name) ? name : null;
}

/**
 * Counts answered checks by (resource, decision, mode) and their latency, in typed
 * arrays: the per-check cost is two map look-ups, two array increments and a few
 * comparisons. Labels stay bounded: resources are the configured ones (first 64) plus
 * `other`; a client key never becomes a label.
 *
 * @example
 * ```ts
 * const metrics = new CheckMetrics(config);
 * const t0 = performance.now();
 * metrics.answered(input, output, (performance.now() - t0) / 1000);
 * ```
 */
export class CheckMetrics {
  /** Resource label by index; index 64 is always `other`. */
  private readonly resourceNames: string[] = [];
  private readonly resourceIndex = new Map<string, number>();
  private modeOfRule = new Map<string, number>();
  /** Answered checks at `(resource * 3 + decision) * 2 + mode`. */
  readonly counts = new Float64Array((RESOURCE_LABELS_MAX + 1) * DECISIONS.length * MODES.length);
  /** Seconds from receipt to answer, for every answered check. */
  readonly latency = new FixedHistogram(CHECK_LATENCY_BOUNDS_SECONDS);
  /** Failed checks by error code. */
  readonly errors = new Map<string, number>();

  constructor(config: RuleModes) {
    this.resourceIndex.set(DEFAULT_RESOURCE, 0);
    this.resourceNames.push(DEFAULT_RESOURCE);
    this.setConfig(config);
  }

  /** Learns the resources and modes of a (new) configuration; indexes already given keep their resource. */
  setConfig(config: RuleModes): void {
    const modes = new Map<string, number>();
    for (const rule of config.rules) {
      modes.set(rule.id, rule.consistency === 'fast' ? 1 : 0);
      const resource = resourceOfRuleId(rule.id);
      if (resource !== null && resource !== OTHER_RESOURCE && !this.resourceIndex.has(resource) && this.resourceNames.length < RESOURCE_LABELS_MAX) {
        this.resourceIndex.set(resource, this.resourceNames.length);
        this.resourceNames.push(resource);
      }
    }
    this.modeOfRule = modes;
  }

  /** Hot path: one answered check. `seconds` is the time from receipt to answer. */
  answered(input: CheckInput, out: CheckOutput, seconds: number): void {
    const first = input.resources[0];
    const r = first === undefined ? OTHER_INDEX : (this.resourceIndex.get(first) ?? OTHER_INDEX);
    const d = out.allowed ? (out.shadowDenied === true ? 2 : 0) : 1;
    const m = this.modeOfRule.get(out.rule) ?? 0;
    const i = (r * DECISIONS.length + d) * MODES.length + m;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.latency.observe(seconds);
  }

  /** One check that failed with error `code` (a stable RL_ERR_* code, or `internal`). */
  failed(code: string): void {
    const n = this.errors.get(code);
    if (n !== undefined) this.errors.set(code, n + 1);
    else this.errors.set(this.errors.size < ERROR_CODES_MAX ? code : 'other', (this.errors.get('other') ?? 0) + 1);
  }

  /**
   * Checks of `resource` answered so far (cumulative, every mode): admitted (allowed,
   * shadow-denied included: they reached the service) and denied. Null when the resource
   * has no label of its own (beyond the first 64). For the adaptive controller, read a few
   * times per second, never per check.
   */
  decisionsOf(resource: string): { admitted: number; denied: number } | null {
    const r = this.resourceIndex.get(resource);
    if (r === undefined) return null;
    const at = (d: number, m: number): number => this.counts[(r * DECISIONS.length + d) * MODES.length + m] ?? 0;
    let admitted = 0;
    let denied = 0;
    for (let m = 0; m < MODES.length; m++) {
      admitted += at(0, m) + at(2, m);
      denied += at(1, m);
    }
    return { admitted, denied };
  }

  /** Every nonzero count with its labels (scrape time). */
  *series(): IterableIterator<{ resource: string; decision: Decision; mode: (typeof MODES)[number]; value: number }> {
    for (let i = 0; i < this.counts.length; i++) {
      const value = this.counts[i] ?? 0;
      if (value === 0) continue;
      const m = i % MODES.length;
      const d = Math.floor(i / MODES.length) % DECISIONS.length;
      const r = Math.floor(i / (MODES.length * DECISIONS.length));
      yield {
        resource: r === OTHER_INDEX ? OTHER_RESOURCE : (this.resourceNames[r] ?? OTHER_RESOURCE),
        decision: DECISIONS[d] as Decision,
        mode: MODES[m] as (typeof MODES)[number],
        value,
      };
    }
  }
}

/** Sizes of one hosted shard group's in-memory state. */
export interface ShardSizes {
  /** (key, resource) states held. */
  readonly stateSlots: number;
  /** Idempotency records remembered (the dedupe table). */
  readonly dedupRecords: number;
  /** Leader only: (key, resource) states with uncommitted changes (the pending overlay). */
  readonly overlaySlots: number;
}

/** Everything the node's registry reads at scrape time. */
export interface NodeMetricsSources {
  readonly checks: CheckMetrics;
  readonly service: { readonly counters: CheckCounters; readonly batchSizes: FixedHistogram };
  readonly host: { groupIds(): number[]; groupStats(groupId: number): GroupStats | null };
  readonly transport: { stats(): TransportStats };
  readonly storage: {
    stats(): NodeStorageStats;
    pendingBytes(): number;
    latency(): { readonly write: FixedHistogram; readonly fsync: FixedHistogram };
    /** Groups marked corrupt here (not yet wiped for a rebuild). Optional for older callers. */
    corruptGroups?(): readonly unknown[];
  };
  readonly skew: { all(): ReadonlyMap<string, number> };
  readonly shards: () => Iterable<ShardSizes>;
  readonly configVersion: () => number;
  readonly maxClockSkewMs: number;
  /** Placement moves (src/node/placement/controller.ts); absent: every series reads 0. */
  readonly placement?: () => PlacementMetricsSource;
  /** Adaptive limits (docs/adaptive.md); absent: no factor series, counters read 0. */
  readonly adaptive?: () => AdaptiveMetricsSource;
}

/** What adaptive limits expose, read at scrape time. */
export interface AdaptiveMetricsSource {
  /** The factor this node applies to each adaptive resource (at most ADAPTIVE_RESOURCES_MAX, so the label set is bounded). */
  readonly factors: ReadonlyMap<string, number>;
  /** Caller reports this node received (counts inside summaries). */
  readonly reports: number;
  /** Factor changes this node applied from group 0. */
  readonly changes: number;
}

/** What the placement controller counts, read at scrape time. */
export interface PlacementMetricsSource {
  readonly steps: Readonly<Record<'replace' | 'add' | 'shrink' | 'balance' | 'leader' | 'zone' | 'retarget', number>>;
  readonly confChanges: Readonly<Record<'addLearner' | 'addVoter' | 'removeNode', number>>;
  readonly transfers: number;
  readonly movesInProgress: number;
  /** Group splits this node began (meta leader), switched (new group's leader) and aborted (meta leader). */
  readonly splits?: Readonly<Record<'begun' | 'switched' | 'aborted', number>>;
  /** 1 while this node's cluster map holds a split in progress. */
  readonly splitInProgress?: number;
}

const PLACEMENT_ZERO: PlacementMetricsSource = {
  steps: { replace: 0, add: 0, shrink: 0, balance: 0, leader: 0, zone: 0, retarget: 0 },
  confChanges: { addLearner: 0, addVoter: 0, removeNode: 0 },
  transfers: 0,
  movesInProgress: 0,
};

type Labels = Record<string, string>;

/**
 * A Prometheus histogram whose buckets are read, at scrape time, from `FixedHistogram`s
 * filled elsewhere without any prom-client call.
 */
class FixedHistogramMetric extends Histogram<string> {
  private readonly metricName: string;
  private readonly metricHelp: string;

  constructor(
    config: { name: string; help: string; labelNames: readonly string[]; registry: Registry },
    private readonly read: () => Iterable<{ labels: Labels; histogram: FixedHistogram }>,
  ) {
    super({ name: config.name, help: config.help, labelNames: config.labelNames, registers: [config.registry] });
    this.metricName = config.name;
    this.metricHelp = config.help;
  }

  override async get(): ReturnType<Histogram<string>['get']> {
    const values: { labels: Labels; value: number; metricName: string }[] = [];
    for (const { labels, histogram } of this.read()) {
      let cumulative = 0;
      for (let i = 0; i < histogram.bounds.length; i++) {
        cumulative += histogram.counts[i] ?? 0;
        values.push({ labels: { ...labels, le: String(histogram.bounds[i]) }, value: cumulative, metricName: `${this.metricName}_bucket` });
      }
      values.push({ labels: { ...labels, le: '+Inf' }, value: histogram.count, metricName: `${this.metricName}_bucket` });
      values.push({ labels, value: histogram.sum, metricName: `${this.metricName}_sum` });
      values.push({ labels, value: histogram.count, metricName: `${this.metricName}_count` });
    }
    // prom-client's typings declare MetricType as a numeric enum; at run time it is the string.
    const type = 'histogram' as unknown as MetricType;
    return { name: this.metricName, help: this.metricHelp, type, aggregator: 'sum', collect: () => undefined, values };
  }

  /** prom-client's text exposition prefers this method when a histogram has it. */
  async getForPromString(): ReturnType<Histogram<string>['get']> {
    return this.get();
  }
}

/** A counter whose value is read from a plain counter at scrape time (absolute, so it never drifts). */
function readCounter(registry: Registry, name: string, help: string, labelNames: readonly string[], read: () => Iterable<[Labels, number]>): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      // Zero too, so a series exists (and `rate` works) from the first scrape on.
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

/** A gauge set at scrape time; series of groups or peers that went away disappear. */
function readGauge(registry: Registry, name: string, help: string, labelNames: readonly string[], read: () => Iterable<[Labels, number]>): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.set(labels, value);
    },
  });
}

const ROLES = ['follower', 'preCandidate', 'candidate', 'leader'] as const;

/**
 * Builds the registry `GET /metrics` serves: process and Node.js metrics (CPU, memory,
 * GC, event-loop lag) plus every `rl_*` metric of docs/metrics.md.
 *
 * @example
 * ```ts
 * const registry = buildNodeRegistry({ checks, service, host, transport, storage, skew, shards, configVersion, maxClockSkewMs: 250 });
 * const text = await registry.metrics();
 * ```
 */
export function buildNodeRegistry(src: NodeMetricsSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const one = (value: number): Iterable<[Labels, number]> => [[{}, value]];

  // Checks: what clients asked and how they were answered.
  readCounter(registry, 'rl_checks_total', 'Checks received from clients by this node and answered, by decision, resource and consistency mode', ['decision', 'resource', 'mode'], function* () {
    for (const s of src.checks.series()) yield [{ decision: s.decision, resource: s.resource, mode: s.mode }, s.value];
  });
  readCounter(registry, 'rl_check_errors_total', 'Checks received from clients by this node that failed, by error code', ['code'], function* () {
    for (const [code, n] of src.checks.errors) yield [{ code }, n];
  });
  new FixedHistogramMetric(
    { name: 'rl_check_latency_seconds', help: 'Seconds from receipt of a check at this node to its answer (answered checks only)', labelNames: [], registry },
    () => [{ labels: {}, histogram: src.checks.latency }],
  );
  readCounter(registry, 'rl_checks_forwarded_total', 'Checks this node forwarded to the leader of their group', [], () => one(src.service.counters.forwarded));
  readCounter(registry, 'rl_shard_checks_decided_total', 'Checks decided by this node as leader of their group (own and forwarded)', [], () => one(src.service.counters.decided));
  readCounter(registry, 'rl_shard_batches_total', 'Raft entries proposed by this node, one per group per flush', [], () => one(src.service.counters.batches));
  readCounter(registry, 'rl_shard_batch_mutations_total', 'State mutations in the entries this node proposed', [], () => one(src.service.counters.mutations));
  new FixedHistogramMetric(
    { name: 'rl_shard_batch_size_mutations', help: 'State mutations per proposed Raft entry (batch size)', labelNames: [], registry },
    () => [{ labels: {}, histogram: src.service.batchSizes }],
  );

  // Shard state sizes, summed over the groups hosted here.
  const sizes = (pick: (s: ShardSizes) => number) => (): Iterable<[Labels, number]> => {
    let total = 0;
    for (const s of src.shards()) total += pick(s);
    return one(total);
  };
  readGauge(registry, 'rl_shard_state_slots', '(key, resource) rate-limit states held in memory, all hosted groups', [], sizes((s) => s.stateSlots));
  readGauge(registry, 'rl_shard_dedupe_records', 'Idempotency records remembered (the dedupe table), all hosted groups', [], sizes((s) => s.dedupRecords));
  readGauge(registry, 'rl_shard_overlay_slots', 'States with changes proposed but not yet applied (the leader overlay), all groups led here', [], sizes((s) => s.overlaySlots));

  // Raft groups.
  const groups = (): GroupStats[] => {
    const out: GroupStats[] = [];
    for (const id of src.host.groupIds()) {
      const s = src.host.groupStats(id);
      if (s !== null) out.push(s);
    }
    return out;
  };
  const perGroup = (pick: (s: GroupStats) => number) =>
    function* (): Iterable<[Labels, number]> {
      for (const s of groups()) yield [{ group: String(s.groupId) }, pick(s)];
    };
  readGauge(registry, 'rl_raft_role', "This node's role in each hosted group: 1 for the current role, 0 for the others", ['group', 'role'], function* () {
    for (const s of groups()) for (const role of ROLES) yield [{ group: String(s.groupId), role }, s.role === role ? 1 : 0];
  });
  readGauge(registry, 'rl_raft_has_leader', 'Whether this node knows a leader for the group (1) or not (0)', ['group'], perGroup((s) => (s.leader === null ? 0 : 1)));
  readGauge(registry, 'rl_raft_term', 'Current Raft term of the group on this node', ['group'], perGroup((s) => s.term));
  readGauge(registry, 'rl_raft_commit_index', 'Highest log index known committed in the group', ['group'], perGroup((s) => s.commit));
  readGauge(registry, 'rl_raft_applied_index', 'Highest log index applied to the state machine on this node', ['group'], perGroup((s) => s.applied));
  readGauge(registry, 'rl_raft_last_index', 'Index of the last entry in the log on this node', ['group'], perGroup((s) => s.lastIndex));
  readGauge(registry, 'rl_raft_pending_proposals', 'Leader only: entries proposed by this leader and not yet applied', ['group'], perGroup((s) => s.pendingEntries));
  readGauge(registry, 'rl_raft_group_failed', 'Whether the group stopped on this node after a storage failure (1) or not (0)', ['group'], perGroup((s) => (s.failed ? 1 : 0)));
  readGauge(registry, 'rl_raft_replication_lag_entries', "Leader only: entries each follower's log is behind the leader's last index", ['group', 'follower'], function* () {
    for (const s of groups()) for (const [follower, lag] of s.replicationLagEntries) yield [{ group: String(s.groupId), follower }, lag];
  });
  readCounter(registry, 'rl_raft_leader_changes_total', 'Times this node learned of a new leader of the group', ['group'], perGroup((s) => s.leaderChanges));
  readCounter(registry, 'rl_raft_elections_total', 'Elections this node started in the group (became a candidate, or campaigned again in a new term)', ['group'], perGroup((s) => s.elections));
  readCounter(registry, 'rl_raft_snapshots_sent_total', 'Snapshots this node started sending to followers', ['group'], perGroup((s) => s.snapshotsSent));
  readCounter(registry, 'rl_raft_snapshot_sent_bytes_total', 'Snapshot bytes this node sent to followers', ['group'], perGroup((s) => s.snapshotSentBytes));
  readCounter(registry, 'rl_raft_snapshots_written_total', 'Snapshots (checkpoints) this node wrote for the group', ['group'], perGroup((s) => s.snapshotsWritten));
  readCounter(registry, 'rl_raft_snapshot_written_bytes_total', 'Bytes of the snapshots this node wrote for the group', ['group'], perGroup((s) => s.snapshotWrittenBytes));

  // Storage.
  new FixedHistogramMetric(
    { name: 'rl_storage_write_latency_seconds', help: 'Seconds per LevelDB batch written by the group committer (synced or not)', labelNames: [], registry },
    () => [{ labels: {}, histogram: src.storage.latency().write }],
  );
  new FixedHistogramMetric(
    { name: 'rl_storage_fsync_latency_seconds', help: 'Seconds per synced LevelDB batch (write and fsync)', labelNames: [], registry },
    () => [{ labels: {}, histogram: src.storage.latency().fsync }],
  );
  readCounter(registry, 'rl_storage_batches_total', 'LevelDB batches written (one per group-commit flush)', [], () => one(src.storage.stats().batches));
  readCounter(registry, 'rl_storage_fsyncs_total', 'LevelDB batches written with an fsync', [], () => one(src.storage.stats().syncedBatches));
  readCounter(registry, 'rl_storage_written_bytes_total', 'Bytes of keys and values written to LevelDB', [], () => one(src.storage.stats().bytes));
  readGauge(registry, 'rl_storage_pending_bytes', 'Bytes staged for the next LevelDB batch and not yet written', [], () => one(src.storage.pendingBytes()));
  readGauge(registry, 'rl_storage_corrupt_groups', 'Groups whose records failed their checksums on this node and wait for their rebuild from a healthy replica', [], () => one(src.storage.corruptGroups?.().length ?? 0));

  // Transport, per peer.
  const perPeer = (pick: (p: TransportStats['peers'][string]) => number) =>
    function* (): Iterable<[Labels, number]> {
      for (const [peer, p] of Object.entries(src.transport.stats().peers)) yield [{ peer }, pick(p)];
    };
  readCounter(registry, 'rl_transport_sent_bytes_total', 'Bytes sent to each peer, frame headers included', ['peer'], perPeer((p) => p.bytesSent));
  readCounter(registry, 'rl_transport_received_bytes_total', 'Bytes received from each peer, frame headers included', ['peer'], perPeer((p) => p.bytesReceived));
  readCounter(registry, 'rl_transport_frames_sent_total', 'Frames sent to each peer (one per peer per event-loop turn with traffic)', ['peer'], perPeer((p) => p.framesSent));
  readCounter(registry, 'rl_transport_frames_received_total', 'Frames received from each peer', ['peer'], perPeer((p) => p.framesReceived));
  readCounter(registry, 'rl_transport_messages_sent_total', 'Messages (all groups) sent to each peer', ['peer'], perPeer((p) => p.messagesSent));
  readCounter(registry, 'rl_transport_messages_received_total', 'Messages (all groups) received from each peer', ['peer'], perPeer((p) => p.messagesReceived));
  readCounter(registry, 'rl_transport_messages_dropped_total', "Messages dropped because the peer's send queue was full", ['peer'], perPeer((p) => p.messagesDropped));
  readCounter(registry, 'rl_transport_reconnects_total', 'Reconnect attempts to each peer (dialing side)', ['peer'], perPeer((p) => p.reconnects));
  readGauge(registry, 'rl_transport_send_queue_bytes', 'Encoded message bytes queued for each peer', ['peer'], perPeer((p) => p.queueBytes));
  readGauge(registry, 'rl_transport_send_queue_messages', 'Messages queued for each peer', ['peer'], perPeer((p) => p.queueMessages));
  readGauge(registry, 'rl_transport_peer_connected', 'Whether an authenticated connection to the peer is open (1) or not (0)', ['peer'], perPeer((p) => (p.state === 'connected' ? 1 : 0)));
  readCounter(registry, 'rl_transport_auth_failures_total', 'Peer handshakes that failed authentication', [], () => one(src.transport.stats().authFailures));

  // Placement: replica moves (planner steps on the meta leader, membership changes on group leaders).
  const placement = (): PlacementMetricsSource => src.placement?.() ?? PLACEMENT_ZERO;
  readCounter(registry, 'rl_placement_moves_total', 'Replica moves the planner started as meta leader (a replica off a draining node, added, dropped, moved to balance or to spread zones)', [], () => {
    const st = placement().steps;
    return one(st.replace + st.add + st.shrink + st.balance + st.zone);
  });
  readCounter(registry, 'rl_placement_moves_retargeted_total', 'Stalled replica moves the planner retargeted or rolled back as meta leader (no progress for --move-stall-ms)', [], () => one(placement().steps.retarget));
  readCounter(registry, 'rl_placement_splits_total', 'Group splits this node began as meta leader (the planner over its load threshold, or rlctl group split)', [], () => one(placement().splits?.begun ?? 0));
  readCounter(registry, 'rl_placement_splits_aborted_total', 'Group splits this node rolled back as meta leader (no switch within --move-stall-ms)', [], () => one(placement().splits?.aborted ?? 0));
  readGauge(registry, 'rl_placement_split_in_progress', "1 while this node's cluster map holds a group split in progress", [], () => one(placement().splitInProgress ?? 0));
  readCounter(registry, 'rl_placement_leader_moves_total', "Preferred-leader changes the planner wrote as meta leader (a group's replicas reordered to spread leaders)", [], () => one(placement().steps.leader));
  readCounter(registry, 'rl_placement_membership_changes_total', 'Raft membership changes (add learner, promote, remove) this node proposed as a group leader', [], () => {
    const c = placement().confChanges;
    return one(c.addLearner + c.addVoter + c.removeNode);
  });
  readCounter(registry, 'rl_placement_leader_handoffs_total', 'Leaderships this node handed away because the planner moved its replica off the group', [], () => one(placement().transfers));
  readGauge(registry, 'rl_placement_moves_in_progress', "Groups whose membership differs from the planner's target in this node's cluster map", [], () => one(placement().movesInProgress));

  // Adaptive limits: the factor per resource, the reports behind it, the changes applied.
  readGauge(registry, 'rl_adaptive_factor', 'Adaptive factor this node applies to each adaptive resource (effective limit = round(limit × factor))', ['resource'], function* () {
    for (const [resource, f] of src.adaptive?.().factors ?? []) yield [{ resource }, f];
  });
  readCounter(registry, 'rl_adaptive_reports_total', 'Caller reports (latency, success) this node received for adaptive resources', [], () => one(src.adaptive?.().reports ?? 0));
  readCounter(registry, 'rl_adaptive_factor_changes_total', 'Adaptive factor changes this node applied from the meta group', [], () => one(src.adaptive?.().changes ?? 0));

  // Node: configuration and clocks.
  readGauge(registry, 'rl_config_version', 'Version of the rate-limit configuration this node serves', [], () => one(src.configVersion()));
  readGauge(registry, 'rl_clock_skew_ms', 'Observed wall-clock offset of each peer (peer minus this node), from ping/pong probes', ['peer'], function* () {
    for (const [peer, ms] of src.skew.all()) yield [{ peer }, ms];
  });
  readGauge(registry, 'rl_clock_skew_bound_ms', 'maxClockSkewMs: the skew above which this node gives up leadership', [], () => one(src.maxClockSkewMs));
  return registry;
}
