/**
 * The node's real metric registry (`buildNodeRegistry`), fed by small in-memory sources,
 * and the set of series names it exports: what the metrics, docs and deployment tests
 * compare against, so none of them keeps its own list of metric names.
 */
import type { Registry } from 'prom-client';
import type { GroupStats } from '../../cluster/host/types.js';
import type { PeerStats, TransportStats } from '../../cluster/transport/types.js';
import { toNodeId, type LogIndex, type Term } from '../../raft/index.js';
import { BATCH_SIZE_BOUNDS, type CheckCounters } from '../../src/node/check-service.js';
import { CheckMetrics, type NodeMetricsSources, type RuleModes } from '../../src/node/metrics.js';
import { FixedHistogram, STORAGE_LATENCY_BOUNDS_SECONDS, type NodeStorageStats } from '../../storage/index.js';

export const EXAMPLE_RULES: RuleModes = {
  rules: [
    { id: 'defaults', consistency: 'strict' },
    { id: 'resources.search', consistency: 'strict' },
    { id: 'resources.login', consistency: 'fast' },
    { id: 'tiers.pro.resources.search', consistency: 'fast' },
  ],
};

export function peerStats(over: Partial<PeerStats> = {}): PeerStats {
  return {
    address: '127.0.0.1:7102',
    state: 'connected',
    dials: true,
    queueBytes: 0,
    queueMessages: 0,
    socketBufferedBytes: 0,
    framesSent: 0,
    bytesSent: 0,
    messagesSent: 0,
    framesReceived: 0,
    bytesReceived: 0,
    messagesReceived: 0,
    messagesDropped: 0,
    framesRejected: 0,
    connects: 0,
    reconnects: 0,
    ...over,
  };
}

export function groupStats(groupId: number, over: Partial<GroupStats> = {}): GroupStats {
  return {
    groupId,
    role: 'follower',
    leader: null,
    term: 1 as Term,
    commit: 0 as LogIndex,
    applied: 0 as LogIndex,
    lastIndex: 0 as LogIndex,
    pendingEntries: 0,
    replicationLagEntries: new Map(),
    leaderChanges: 0,
    elections: 0,
    snapshotsSent: 0,
    snapshotSentBytes: 0,
    snapshotsWritten: 0,
    snapshotWrittenBytes: 0,
    failed: false,
    ...over,
  };
}

/** Mutable sources: a test changes them and scrapes again. */
export interface ExampleSources extends NodeMetricsSources {
  readonly checks: CheckMetrics;
  readonly service: { counters: CheckCounters; batchSizes: FixedHistogram };
  readonly groups: Map<number, GroupStats>;
  readonly peers: Record<string, PeerStats>;
  readonly storageStats: { -readonly [K in keyof NodeStorageStats]: NodeStorageStats[K] };
  readonly write: FixedHistogram;
  readonly fsync: FixedHistogram;
  readonly skewMs: Map<string, number>;
}

export function exampleSources(): ExampleSources {
  const groups = new Map<number, GroupStats>([
    [1, groupStats(1, { role: 'leader', leader: toNodeId('n1'), replicationLagEntries: new Map([[toNodeId('n2'), 3], [toNodeId('n3'), 0]]) })],
    [2, groupStats(2, { leader: toNodeId('n2') })],
  ]);
  const peers: Record<string, PeerStats> = { n2: peerStats(), n3: peerStats({ state: 'backoff', dials: true }) };
  const storageStats = { batches: 0, syncedBatches: 0, writes: 0, ops: 0, bytes: 0, cacheHits: 0, cacheMisses: 0 };
  const write = new FixedHistogram(STORAGE_LATENCY_BOUNDS_SECONDS);
  const fsync = new FixedHistogram(STORAGE_LATENCY_BOUNDS_SECONDS);
  const skewMs = new Map<string, number>([['n2', 3]]);
  const transportStats = (): TransportStats => ({ nodeId: 'n1', peers, authFailures: 0, inboundRejected: 0, messagesDroppedUnknownPeer: 0, handlerErrors: 0 });
  return {
    checks: new CheckMetrics(EXAMPLE_RULES),
    service: { counters: { decided: 0, forwarded: 0, batches: 0, mutations: 0 }, batchSizes: new FixedHistogram(BATCH_SIZE_BOUNDS) },
    host: { groupIds: () => [...groups.keys()], groupStats: (id) => groups.get(id) ?? null },
    transport: { stats: transportStats },
    storage: { stats: () => ({ ...storageStats }), pendingBytes: () => 0, latency: () => ({ write, fsync }) },
    skew: { all: () => skewMs },
    shards: () => [{ stateSlots: 10, dedupRecords: 2, overlaySlots: 1 }],
    configVersion: () => 7,
    maxClockSkewMs: 250,
    groups,
    peers,
    storageStats,
    write,
    fsync,
    skewMs,
  };
}

export interface ExportedMetric {
  /** prom-client type: counter, gauge, histogram, summary. */
  readonly type: string;
  /** Label names of the metric (plus `le` on histogram buckets, `quantile` on summaries). */
  readonly labels: ReadonlySet<string>;
  /** The metric this series belongs to (the histogram's name for `_bucket`, `_sum`, `_count`). */
  readonly base: string;
}

/** Every series name the registry can export, with its labels, read from the registry itself. */
export function exportedSeries(registry: Registry): Map<string, ExportedMetric> {
  const out = new Map<string, ExportedMetric>();
  for (const m of registry.getMetricsAsArray()) {
    const labels = new Set((m as unknown as { labelNames?: readonly string[] }).labelNames ?? []);
    const type = String(m.type);
    out.set(m.name, { type, labels, base: m.name });
    if (type === 'histogram') {
      out.set(`${m.name}_bucket`, { type, labels: new Set([...labels, 'le']), base: m.name });
      out.set(`${m.name}_sum`, { type, labels, base: m.name });
      out.set(`${m.name}_count`, { type, labels, base: m.name });
    } else if (type === 'summary') {
      out.set(m.name, { type, labels: new Set([...labels, 'quantile']), base: m.name });
      out.set(`${m.name}_sum`, { type, labels, base: m.name });
      out.set(`${m.name}_count`, { type, labels, base: m.name });
    }
  }
  return out;
}

/** Every series name in a Prometheus text exposition (`# TYPE` lines, histograms and summaries expanded), with the labels seen. */
export function seriesInText(text: string): Map<string, ExportedMetric> {
  const out = new Map<string, ExportedMetric>();
  const labelsOf = new Map<string, Set<string>>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    const names = type === 'histogram' ? [name, `${name}_bucket`, `${name}_sum`, `${name}_count`] : type === 'summary' ? [name, `${name}_sum`, `${name}_count`] : [name];
    for (const n of names) {
      const labels = new Set<string>();
      labelsOf.set(n, labels);
      out.set(n, { type, labels, base: name });
    }
  }
  for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/gm)) {
    const labels = labelsOf.get(m[1] as string);
    for (const pair of (m[2] as string).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels?.add(pair[1] as string);
  }
  return out;
}
