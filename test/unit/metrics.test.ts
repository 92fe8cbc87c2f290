// Proves the node's metrics: the per-check recorder counts by decision, resource (bounded,
// never a key) and mode, and times every answer; the registry turns the plain counters,
// fixed-bucket histograms and getters into correct Prometheus text at scrape time; and
// docs/metrics.md lists exactly the rl_* metrics the registry exports, with their types.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { LogIndex, Term } from '../../raft/index.js';
import type { CheckInput, CheckOutput } from '../../src/protocol/check.js';
import { CheckMetrics, OTHER_RESOURCE, RESOURCE_LABELS_MAX, buildNodeRegistry, resourceOfRuleId } from '../../src/node/metrics.js';
import { FixedHistogram } from '../../storage/index.js';
import { EXAMPLE_RULES, exampleSources, exportedSeries, groupStats, peerStats } from './node-registry.js';

const input = (key: string, resource: string): CheckInput => ({ key, resources: [resource], cost: 1, tier: undefined, idempotencyId: undefined });
const answer = (allowed: boolean, rule: string, shadowDenied = false): CheckOutput => ({
  allowed,
  limit: 10,
  remaining: 0,
  resetMs: 0,
  retryAfterMs: 0,
  rule,
  ...(shadowDenied ? { shadowDenied: true as const } : {}),
});

/** The value of one sample line in a Prometheus text exposition, or undefined. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

describe('FixedHistogram', () => {
  it('puts each observation in the first bucket whose bound holds it, and above the last bound in the overflow bucket', () => {
    const h = new FixedHistogram([1, 5, 10]);
    for (const v of [0, 1, 1.5, 5, 9, 11, 1000]) h.observe(v);
    expect(h.snapshot()).toEqual({ bounds: [1, 5, 10], counts: [2, 2, 1, 2], sum: 1027.5, count: 7 });
  });

  it('refuses empty or unordered bounds with the values in the message', () => {
    expect(() => new FixedHistogram([])).toThrow(/'bounds' must hold 1 to 64 numbers \(got 0\)/);
    expect(() => new FixedHistogram([1, 1])).toThrow(/strictly ascending \(got 1, 1\)/);
  });
});

describe('CheckMetrics', () => {
  it('reads the resource from rule ids, tiers and client overrides included', () => {
    expect(resourceOfRuleId('resources.search')).toBe('search');
    expect(resourceOfRuleId('tiers.pro.resources.search')).toBe('search');
    expect(resourceOfRuleId('clients["user:42"].resources.export')).toBe('export');
    expect(resourceOfRuleId('defaults')).toBeNull();
    expect(resourceOfRuleId('clients["ip:1.2.3.4"]')).toBeNull();
  });

  it('counts answers by decision, configured resource and the mode of the deciding rule; unknown resources count as other', () => {
    const m = new CheckMetrics(EXAMPLE_RULES);
    m.answered(input('user:1', 'search'), answer(true, 'resources.search'), 0.001);
    m.answered(input('user:2', 'search'), answer(false, 'tiers.pro.resources.search'), 0.0001);
    m.answered(input('user:3', 'login'), answer(true, 'resources.login', true), 0.002);
    m.answered(input('user:4', 'never-configured'), answer(true, 'defaults'), 0.003);
    m.answered(input('user:5', 'default'), answer(false, 'defaults'), 0.003);
    const series = [...m.series()].sort((a, b) => a.resource.localeCompare(b.resource) || a.decision.localeCompare(b.decision));
    expect(series).toEqual([
      { resource: 'default', decision: 'denied', mode: 'strict', value: 1 },
      { resource: 'login', decision: 'shadow_denied', mode: 'fast', value: 1 },
      { resource: OTHER_RESOURCE, decision: 'allowed', mode: 'strict', value: 1 },
      { resource: 'search', decision: 'allowed', mode: 'strict', value: 1 },
      { resource: 'search', decision: 'denied', mode: 'fast', value: 1 },
    ]);
    expect(m.latency.count).toBe(5);
    expect(m.latency.sum).toBeCloseTo(0.0091, 9);
  });

  it('keeps at most 64 resource labels plus other, whatever the configuration names', () => {
    const rules = Array.from({ length: 100 }, (_, i) => ({ id: `resources.r${i}`, consistency: 'strict' as const }));
    const m = new CheckMetrics({ rules });
    for (let i = 0; i < 100; i++) m.answered(input(`k${i}`, `r${i}`), answer(true, `resources.r${i}`), 0);
    const resources = new Set([...m.series()].map((s) => s.resource));
    expect(resources.size).toBe(RESOURCE_LABELS_MAX + 1 - 1); // 'default' holds one of the 64 and was never used
    expect(resources.has(OTHER_RESOURCE)).toBe(true);
    expect([...m.series()].find((s) => s.resource === OTHER_RESOURCE)?.value).toBe(100 - (RESOURCE_LABELS_MAX - 1));
  });

  it('counts failures by error code, with a bounded set of codes', () => {
    const m = new CheckMetrics(EXAMPLE_RULES);
    m.failed('RL_ERR_NO_QUORUM');
    m.failed('RL_ERR_NO_QUORUM');
    m.failed('internal');
    for (let i = 0; i < 100; i++) m.failed(`CODE_${i}`);
    expect(m.errors.get('RL_ERR_NO_QUORUM')).toBe(2);
    expect(m.errors.get('internal')).toBe(1);
    expect(m.errors.size).toBeLessThanOrEqual(33);
    let total = 0;
    for (const n of m.errors.values()) total += n;
    expect(total).toBe(103);
  });
});

describe('node registry', () => {
  it('exports checks by decision, resource and mode, and a latency histogram whose count equals the answered checks', async () => {
    const src = exampleSources();
    const registry = buildNodeRegistry(src);
    for (let i = 0; i < 3; i++) src.checks.answered(input(`secret-client-key-${i}`, 'search'), answer(true, 'resources.search'), 0.0002);
    src.checks.answered(input('secret-client-key-9', 'search'), answer(false, 'resources.search'), 0.03);
    const text = await registry.metrics();
    expect(sample(text, 'rl_checks_total{decision="allowed",resource="search",mode="strict"}')).toBe(3);
    expect(sample(text, 'rl_checks_total{decision="denied",resource="search",mode="strict"}')).toBe(1);
    expect(sample(text, 'rl_check_latency_seconds_count')).toBe(4);
    expect(sample(text, 'rl_check_latency_seconds_bucket{le="0.00025"}')).toBe(3);
    expect(sample(text, 'rl_check_latency_seconds_bucket{le="0.025"}')).toBe(3);
    expect(sample(text, 'rl_check_latency_seconds_bucket{le="0.05"}')).toBe(4);
    expect(sample(text, 'rl_check_latency_seconds_bucket{le="+Inf"}')).toBe(4);
    expect(text).not.toContain('secret-client-key');
    // Scraping again gives the same absolute values (nothing is added twice).
    const again = await registry.metrics();
    expect(sample(again, 'rl_checks_total{decision="allowed",resource="search",mode="strict"}')).toBe(3);
  });

  it('reports per-group role, indexes and follower lag, and drops groups that went away', async () => {
    const src = exampleSources();
    const registry = buildNodeRegistry(src);
    src.groups.set(1, groupStats(1, { ...src.groups.get(1), commit: 40 as LogIndex, applied: 39 as LogIndex, lastIndex: 45 as LogIndex, term: 3 as Term, leaderChanges: 2, elections: 1 }));
    let text = await registry.metrics();
    expect(sample(text, 'rl_raft_role{group="1",role="leader"}')).toBe(1);
    expect(sample(text, 'rl_raft_role{group="1",role="follower"}')).toBe(0);
    expect(sample(text, 'rl_raft_role{group="2",role="leader"}')).toBe(0);
    expect(sample(text, 'rl_raft_commit_index{group="1"}')).toBe(40);
    expect(sample(text, 'rl_raft_applied_index{group="1"}')).toBe(39);
    expect(sample(text, 'rl_raft_term{group="1"}')).toBe(3);
    expect(sample(text, 'rl_raft_replication_lag_entries{group="1",follower="n2"}')).toBe(3);
    expect(sample(text, 'rl_raft_leader_changes_total{group="1"}')).toBe(2);
    expect(sample(text, 'rl_raft_elections_total{group="1"}')).toBe(1);
    src.groups.delete(2);
    text = await registry.metrics();
    expect(text).not.toContain('group="2"');
  });

  it('reports transport counters per peer, storage latency histograms, sizes, config version and clock skew', async () => {
    const src = exampleSources();
    const registry = buildNodeRegistry(src);
    src.peers['n2'] = peerStats({ bytesSent: 1234, framesSent: 5, reconnects: 2, queueBytes: 99 });
    src.fsync.observe(0.004);
    src.write.observe(0.004);
    src.write.observe(0.0001);
    src.storageStats.syncedBatches = 1;
    src.service.counters.forwarded = 6;
    src.service.batchSizes.observe(17);
    const text = await registry.metrics();
    expect(sample(text, 'rl_transport_sent_bytes_total{peer="n2"}')).toBe(1234);
    expect(sample(text, 'rl_transport_frames_sent_total{peer="n2"}')).toBe(5);
    expect(sample(text, 'rl_transport_reconnects_total{peer="n2"}')).toBe(2);
    expect(sample(text, 'rl_transport_send_queue_bytes{peer="n2"}')).toBe(99);
    expect(sample(text, 'rl_transport_peer_connected{peer="n2"}')).toBe(1);
    expect(sample(text, 'rl_transport_peer_connected{peer="n3"}')).toBe(0);
    // Zero counters are exported too, so rate() has a series from the first scrape.
    expect(sample(text, 'rl_transport_messages_dropped_total{peer="n2"}')).toBe(0);
    expect(sample(text, 'rl_storage_fsync_latency_seconds_count')).toBe(1);
    expect(sample(text, 'rl_storage_write_latency_seconds_count')).toBe(2);
    expect(sample(text, 'rl_storage_write_latency_seconds_bucket{le="0.0001"}')).toBe(1);
    expect(sample(text, 'rl_storage_fsyncs_total')).toBe(1);
    expect(sample(text, 'rl_checks_forwarded_total')).toBe(6);
    expect(sample(text, 'rl_shard_batch_size_mutations_bucket{le="25"}')).toBe(1);
    expect(sample(text, 'rl_shard_batch_size_mutations_sum')).toBe(17);
    expect(sample(text, 'rl_shard_dedupe_records')).toBe(2);
    expect(sample(text, 'rl_shard_state_slots')).toBe(10);
    expect(sample(text, 'rl_config_version')).toBe(7);
    expect(sample(text, 'rl_clock_skew_ms{peer="n2"}')).toBe(3);
    expect(sample(text, 'rl_clock_skew_bound_ms')).toBe(250);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
  });

  it('names every rl_* metric rl_<area>_<what>[_<unit>] with bounded label names only', () => {
    const series = exportedSeries(buildNodeRegistry(exampleSources()));
    const allowed = new Set(['decision', 'resource', 'mode', 'code', 'group', 'role', 'follower', 'peer', 'le']);
    for (const [name, m] of series) {
      if (!name.startsWith('rl_')) continue;
      expect(name).toMatch(/^rl_[a-z]+(_[a-z]+)+$/);
      for (const l of m.labels) expect(allowed.has(l), `${name} has label ${l}`).toBe(true);
    }
  });
});

describe('docs/metrics.md', () => {
  const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
  const rows = [...doc.matchAll(/^\| `(rl_[a-z0-9_]+)` \| (counter|gauge|histogram|summary) \| ([^|]*) \|/gm)].map((m) => ({
    name: m[1] as string,
    type: m[2] as string,
    labels: (m[3] as string).trim() === '—' ? [] : (m[3] as string).split(',').map((s) => s.trim()),
  }));
  const registry = buildNodeRegistry(exampleSources());
  const metrics = registry.getMetricsAsArray().filter((m) => m.name.startsWith('rl_'));

  it('lists every rl_* metric the node exports exactly once, and nothing else', () => {
    const names = rows.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.sort()).toEqual(metrics.map((m) => m.name).sort());
  });

  it('gives each metric its exported type and label names', () => {
    for (const m of metrics) {
      const row = rows.find((r) => r.name === m.name);
      expect(row?.type, m.name).toBe(String(m.type));
      expect(row?.labels.sort(), m.name).toEqual([...((m as unknown as { labelNames?: string[] }).labelNames ?? [])].sort());
    }
  });
});
