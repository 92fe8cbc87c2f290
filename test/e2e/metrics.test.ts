// Proves /metrics on a real 3-process cluster moves with traffic: checks are counted once,
// on the node that received them, by decision, resource (unconfigured ones as `other`)
// and mode; the latency histogram counts every answered check; every group has exactly
// one leader and sane indexes; peers exchange bytes and frames; storage fsyncs are timed;
// and every metric the alert rules and the Grafana dashboard query is in the real output.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, waitUntil, type ClusterNode } from '../../chaos/harness/local-cluster.js';
import { seriesInText } from '../unit/node-registry.js';
import { SYNTHETIC_METRICS, TARGET_LABELS, deployQueries, scanPromql } from '../unit/promql.js';
import { LIMITS } from './limits.js';

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const p of (m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[p[1] as string] = p[2] as string;
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples of `name` whose labels include `match`. */
function total(all: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const s of all) if (s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  return sum;
}

describe('metrics on a real cluster', () => {
  const cluster = new LocalCluster({ nodes: 3, limitsYaml: LIMITS });
  const scrapeText = async (n: ClusterNode): Promise<string> => (await fetch(cluster.url(n, '/metrics'), { signal: AbortSignal.timeout(5000) })).text();
  const scrape = async (n: ClusterNode): Promise<Sample[]> => samples(await scrapeText(n));
  const n1 = (): ClusterNode => cluster.nodes[0] as ClusterNode;

  beforeAll(async () => {
    await cluster.start();
  }, 60_000);
  afterAll(async () => {
    await cluster.stop();
  }, 30_000);

  it('counts checks by decision, resource and mode where they enter, and times each of them', async () => {
    const before = await Promise.all(cluster.nodes.map(scrape));
    // All through n1: keys spread over every group, so most are forwarded to other leaders.
    const answers = [];
    for (let i = 0; i < 30; i++) answers.push(await cluster.checkRetrying(n1(), { key: `m:gcra:${i}`, resource: 'gcra' }, `m:gcra:${i}`));
    for (let i = 0; i < 10; i++) answers.push(await cluster.checkRetrying(n1(), { key: 'm:small', resource: 'small' }, `m:small:${i}`));
    for (let i = 0; i < 5; i++) answers.push(await cluster.checkRetrying(n1(), { key: `m:other:${i}`, resource: 'not-configured' }, `m:other:${i}`));
    expect(answers.filter((a) => a.status !== 200).map((a) => a.body), cluster.logs().slice(-3000)).toEqual([]);
    const after = await Promise.all(cluster.nodes.map(scrape));
    const delta = (node: number, name: string, match: Record<string, string> = {}): number => total(after[node] ?? [], name, match) - total(before[node] ?? [], name, match);

    expect(delta(0, 'rl_checks_total', { decision: 'allowed', resource: 'gcra', mode: 'strict' })).toBe(30);
    expect(delta(0, 'rl_checks_total', { decision: 'allowed', resource: 'small', mode: 'strict' })).toBe(5);
    expect(delta(0, 'rl_checks_total', { decision: 'denied', resource: 'small', mode: 'strict' })).toBe(5);
    expect(delta(0, 'rl_checks_total', { decision: 'allowed', resource: 'other', mode: 'strict' })).toBe(5);
    expect(delta(0, 'rl_checks_total')).toBe(45);
    expect(delta(0, 'rl_check_latency_seconds_count')).toBe(45);
    expect(delta(0, 'rl_check_latency_seconds_bucket', { le: '+Inf' })).toBe(45);
    expect(delta(0, 'rl_check_latency_seconds_sum')).toBeGreaterThan(0);
    // Forwarded checks are counted where they entered only, so the nodes' figures add up.
    expect(delta(1, 'rl_checks_total') + delta(2, 'rl_checks_total')).toBe(0);
    expect(delta(0, 'rl_checks_forwarded_total')).toBeGreaterThan(0);
    // Every allowed check was decided, batched and proposed by some leader.
    const decided = [0, 1, 2].reduce((s, i) => s + delta(i, 'rl_shard_checks_decided_total'), 0);
    expect(decided).toBeGreaterThanOrEqual(45); // more only if a retry was decided again
    const mutations = [0, 1, 2].reduce((s, i) => s + delta(i, 'rl_shard_batch_mutations_total'), 0);
    expect(mutations).toBeGreaterThanOrEqual(40);
    const batches = [0, 1, 2].reduce((s, i) => s + delta(i, 'rl_shard_batch_size_mutations_count'), 0);
    expect(batches).toBe([0, 1, 2].reduce((s, i) => s + delta(i, 'rl_shard_batches_total'), 0));
    expect([0, 1, 2].reduce((s, i) => s + delta(i, 'rl_storage_fsync_latency_seconds_count'), 0)).toBeGreaterThan(0);
  }, 60_000);

  it('reports one leader per group, sane indexes, follower lag on leaders, and the config version', async () => {
    // Scrapes of three nodes are not one instant: while the balancer moves a leadership a
    // group can show 0 or 2 leaders for a moment, so wait for a consistent round.
    let all: Sample[][] = [];
    const groupsOf = (round: Sample[][]): Set<string> => new Set(round.flatMap((s) => s.filter((x) => x.name === 'rl_raft_term').map((x) => x.labels['group'] as string)));
    await waitUntil('one leader per group in one scrape round', 20_000, async () => {
      all = await Promise.all(cluster.nodes.map(scrape));
      return [...groupsOf(all)].every((g) => all.reduce((sum, s) => sum + total(s, 'rl_raft_role', { group: g, role: 'leader' }), 0) === 1);
    });
    const groups = groupsOf(all);
    expect(groups.size).toBeGreaterThanOrEqual(4);
    for (const g of groups) {
      const leaders = all.map((s) => total(s, 'rl_raft_role', { group: g, role: 'leader' }));
      const leaderAt = leaders.indexOf(1);
      const lagSeries = (all[leaderAt] ?? []).filter((x) => x.name === 'rl_raft_replication_lag_entries' && x.labels['group'] === g);
      expect(lagSeries.map((x) => x.labels['follower']).sort(), `group ${g}`).toEqual(cluster.nodes.map((n) => n.id).filter((_, i) => i !== leaderAt).sort());
      for (const s of all) {
        if (!s.some((x) => x.name === 'rl_raft_term' && x.labels['group'] === g)) continue;
        const applied = total(s, 'rl_raft_applied_index', { group: g });
        const commit = total(s, 'rl_raft_commit_index', { group: g });
        const last = total(s, 'rl_raft_last_index', { group: g });
        expect(applied).toBeLessThanOrEqual(commit);
        expect(commit).toBeLessThanOrEqual(last);
        expect(commit).toBeGreaterThan(0);
        expect(total(s, 'rl_raft_term', { group: g })).toBeGreaterThanOrEqual(1);
        expect(total(s, 'rl_raft_has_leader', { group: g })).toBe(1);
      }
      expect(all.reduce((sum, s) => sum + total(s, 'rl_raft_leader_changes_total', { group: g }), 0)).toBeGreaterThanOrEqual(1);
    }
    for (const s of all) {
      expect(total(s, 'rl_config_version')).toBe(1);
      expect(total(s, 'rl_clock_skew_bound_ms')).toBe(250);
      expect(s.some((x) => x.name === 'nodejs_eventloop_lag_p99_seconds')).toBe(true);
    }
  }, 30_000);

  it('counts transport bytes and frames per peer in both directions, and measures clock skew per peer', async () => {
    // Clock probes run every 2 s: wait for one round to be answered.
    await waitUntil('clock skew observed for every peer', 15_000, async () => (await Promise.all(cluster.nodes.map(scrape))).every((s) => s.filter((x) => x.name === 'rl_clock_skew_ms').length === 2));
    const all = await Promise.all(cluster.nodes.map(scrape));
    for (const [i, s] of all.entries()) {
      const self = cluster.nodes[i]?.id;
      for (const peer of cluster.nodes.map((n) => n.id).filter((id) => id !== self)) {
        for (const name of ['rl_transport_sent_bytes_total', 'rl_transport_received_bytes_total', 'rl_transport_frames_sent_total', 'rl_transport_frames_received_total']) {
          expect(total(s, name, { peer }), `${self} ${name} ${peer}`).toBeGreaterThan(0);
        }
        expect(total(s, 'rl_transport_peer_connected', { peer })).toBe(1);
        expect(Math.abs(total(s, 'rl_clock_skew_ms', { peer }))).toBeLessThan(250);
      }
    }
  }, 30_000);

  it('exports every metric and label the alert rules and the Grafana dashboard query', async () => {
    const series = seriesInText(await scrapeText(n1()));
    const missing: string[] = [];
    for (const q of deployQueries()) {
      const scan = scanPromql(q.expr);
      for (const m of scan.metrics) if (!series.has(m) && !SYNTHETIC_METRICS.has(m)) missing.push(`${q.source}: ${m}`);
      for (const [m, labels] of scan.matcherLabels) {
        const known = series.get(m)?.labels ?? SYNTHETIC_METRICS.get(m) ?? new Set<string>();
        for (const l of labels) if (!known.has(l) && !TARGET_LABELS.has(l)) missing.push(`${q.source}: ${m}{${l}}`);
      }
    }
    expect(missing).toEqual([]);
  }, 30_000);
});
