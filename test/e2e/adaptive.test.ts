// Proves adaptive limits on a real 3-process cluster: latencies reported through the SDK
// reach the meta leader's controller, whose factor is applied by every node from group 0
// (checks answer with the scaled limit; /v1/config/explain, rlctl explain, /metrics and
// rlctl adaptive status show the factor, the reason and the signals); freeze pins it; and
// when the meta leader is killed mid-adjustment, the controller continues on the new leader
// while every node — the killed one too, after it restarts and replays — applies the same
// factor from the same meta log index.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_ADMIN_TOKEN, LocalCluster, waitUntil, type ClusterNode } from '../../chaos/harness/local-cluster.js';
import { createClient, type Client } from '../../client/index.js';
import { runRlctl } from '../../src/cli/program.js';

/** The harness starts every node with this admin token. */
const TOKEN = LOCAL_ADMIN_TOKEN;
/** Short intervals keep the run short; the controller's logic does not depend on their length. */
const INTERVAL_MS = 300;
const LIMITS = `
defaults: { limit: 100, period: 1s }
resources:
  api: { limit: 1000, period: 1s, adaptive: { minFactor: 0.1, maxFactor: 1.5, target: { latencyP99Ms: 100 }, intervalMs: ${INTERVAL_MS} } }
  batch: { limit: 1000, period: 1s, adaptive: { minFactor: 0.02, maxFactor: 1.5, target: { latencyP99Ms: 100 }, intervalMs: ${INTERVAL_MS} } }
  plain: { limit: 10, period: 1s }
`;

interface Applied {
  readonly index: number;
  readonly resource: string;
  readonly factor: number;
  readonly frozen: boolean;
}

interface ResourceView {
  readonly resource: string;
  readonly factor: number;
  readonly frozen: boolean;
  readonly reason: string | null;
  readonly index: number;
  readonly signals: Record<string, number | null> | null;
}

interface AdaptiveView {
  readonly metaLeader: string | null;
  readonly resources: readonly ResourceView[];
  readonly history: readonly Applied[];
}

describe('adaptive limits (3 nodes)', () => {
  const cluster = new LocalCluster({ nodes: 3, limitsYaml: LIMITS, groups: 2 });
  const headers = { authorization: `Bearer ${TOKEN}` };
  let client: Client | null = null;
  /** The reporting loop: a bounded number of rounds, stopped by the test that started it. */
  let reporting: { stop: boolean; done: Promise<void> } | null = null;

  beforeAll(async () => {
    await cluster.start();
    client = createClient({ seeds: cluster.nodes.map((n) => `127.0.0.1:${n.apiPort}`), timeoutMs: 2000, reportIntervalMs: 100 });
  }, 60_000);
  afterAll(async () => {
    if (reporting !== null) {
      reporting.stop = true;
      await reporting.done;
    }
    await client?.close();
    await cluster.stop();
  }, 30_000);

  async function view(n: ClusterNode): Promise<AdaptiveView | null> {
    try {
      const r = await fetch(cluster.url(n, '/v1/adaptive'), { headers, signal: AbortSignal.timeout(2000) });
      return r.status === 200 ? ((await r.json()) as AdaptiveView) : null;
    } catch {
      return null;
    }
  }

  async function factorOn(n: ClusterNode, resource: string): Promise<number | null> {
    return (await view(n))?.resources.find((r) => r.resource === resource)?.factor ?? null;
  }

  /** Reports `latencyMs` for `resource` through the SDK: 50 reports per 50 ms, for at most `roundsMax` rounds. */
  function startReporting(resource: string, latencyMs: () => number, roundsMax: number): void {
    const state = { stop: false, done: Promise.resolve() };
    state.done = (async () => {
      for (let round = 0; round < roundsMax && !state.stop; round++) {
        for (let i = 0; i < 50; i++) client?.report(resource, { latencyMs: latencyMs() * (0.9 + (i % 10) / 50), ok: true });
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    reporting = state;
  }

  async function stopReporting(): Promise<void> {
    if (reporting === null) return;
    reporting.stop = true;
    await reporting.done;
    reporting = null;
  }

  it('reports through the SDK lower the factor on every node; checks, explain, metrics and rlctl show it', async () => {
    startReporting('api', () => 400, 600); // p99 ~430 ms against a 100 ms target
    await waitUntil('every node applies a factor below 0.9 to api', 20_000, async () => {
      const fs = await Promise.all(cluster.nodes.map((n) => factorOn(n, 'api')));
      return fs.every((f) => f !== null && f < 0.9);
    });
    await stopReporting();
    // Once reports stop the factor stays put for 3 intervals: freeze it to read a stable value.
    const env = { RL_ENDPOINT: `127.0.0.1:${cluster.nodes[0]?.apiPort}`, RL_ADMIN_TOKEN: TOKEN };
    let out = '';
    expect(await runRlctl(['adaptive', 'freeze', 'api', '--json'], { out: (t) => (out += t), err: () => undefined }, env)).toBe(0);
    const frozen = JSON.parse(out) as { factor: number; frozen: boolean; index: number };
    expect(frozen.frozen).toBe(true);
    await waitUntil('every node applied the freeze', 10_000, async () => {
      const vs = await Promise.all(cluster.nodes.map(view));
      return vs.every((v) => v?.resources.find((r) => r.resource === 'api')?.frozen === true);
    });
    const f = frozen.factor;
    expect(f).toBeLessThan(0.9);
    expect(f).toBeGreaterThanOrEqual(0.1);
    const effective = Math.max(1, Math.round(1000 * f));
    for (const n of cluster.nodes) {
      expect(await factorOn(n, 'api')).toBe(f);
      const e = (await (await fetch(cluster.url(n, '/v1/config/explain?key=user:1&resource=api'), { headers })).json()) as {
        rule: { limit: number };
        adaptive: { factor: number; baseLimit: number; effectiveLimit: number; frozen: boolean; reason: string; signals: Record<string, number | null> };
        text: string;
      };
      expect(e.adaptive).toMatchObject({ factor: f, baseLimit: 1000, effectiveLimit: effective, frozen: true });
      expect(e.rule.limit).toBe(effective);
      expect(e.text).toContain(`limit 1000 -> ${effective}`);
      const c = await cluster.checkRetrying(n, { key: `adaptive:${n.id}`, resource: 'api', cost: 0 }, `adaptive:${n.id}`);
      expect(c.body, cluster.logs()).toMatchObject({ limit: effective });
      const plain = await cluster.checkRetrying(n, { key: `adaptive:${n.id}`, resource: 'plain', cost: 0 }, `plain:${n.id}`);
      expect(plain.body).toMatchObject({ limit: 10 });
      const metrics = await (await fetch(cluster.url(n, '/metrics'))).text();
      expect(metrics).toMatch(new RegExp(`^rl_adaptive_factor\\{resource="api"\\} ${f}$`, 'm'));
    }
    // The reason of the last controller change, and its signals, as the meta group holds them.
    const history = (await view(cluster.nodes[0] as ClusterNode))?.history.filter((h) => h.resource === 'api' && !h.frozen) ?? [];
    expect(history.length).toBeGreaterThan(0);
    out = '';
    expect(await runRlctl(['explain', '--key', 'user:1', '--resource', 'api'], { out: (t) => (out += t), err: () => undefined }, env)).toBe(0);
    expect(out).toContain(`adaptive: factor ${f}`);
    expect(out).toContain('frozen at meta index');
    out = '';
    expect(await runRlctl(['adaptive', 'status'], { out: (t) => (out += t), err: () => undefined }, env)).toBe(0);
    expect(out).toMatch(/^api\s+\S+\s+\[0\.1, 1\.5\]\s+p99 100ms\s+300ms\s+frozen/m);
    let err = '';
    expect(await runRlctl(['adaptive', 'freeze', 'plain'], { out: () => undefined, err: (t) => (err += t) }, env)).toBe(1);
    expect(err).toContain('RL_ERR_NOT_ADAPTIVE');
  }, 60_000);

  it('a meta leader killed mid-adjustment: the new leader continues, and every node applies the same factor at the same index', async () => {
    const leaderId = (await view(cluster.nodes[0] as ClusterNode))?.metaLeader;
    const leader = cluster.nodes.find((n) => n.id === leaderId) as ClusterNode;
    expect(leader).toBeDefined();
    const others = cluster.nodes.filter((n) => n !== leader);
    const changesOn = async (n: ClusterNode): Promise<Applied[]> => ((await view(n))?.history ?? []).filter((h) => h.resource === 'batch');
    startReporting('batch', () => 800, 800); // far over target: the factor falls step by step toward 0.02
    await waitUntil('two factor changes of batch', 20_000, async () => (await changesOn(others[0] as ClusterNode)).length >= 2);
    const before = (await changesOn(others[0] as ClusterNode)).length;
    cluster.kill(leader);
    // One write may have been in flight from the old leader: three more changes mean two at least came from the new one.
    await waitUntil('changes under a new meta leader', 30_000, async () => (await changesOn(others[0] as ClusterNode)).length >= before + 3);
    const newLeader = (await view(others[0] as ClusterNode))?.metaLeader;
    expect(newLeader).not.toBe(leader.id);
    // Reports continue (else the factor would drift back toward 1.0) while the old leader restarts and replays.
    cluster.restart(leader);
    await cluster.waitReady(30_000);
    await stopReporting();
    const env = { RL_ENDPOINT: `127.0.0.1:${(others[0] as ClusterNode).apiPort}`, RL_ADMIN_TOKEN: TOKEN };
    expect(await runRlctl(['adaptive', 'freeze', 'batch'], { out: () => undefined, err: () => undefined }, env)).toBe(0);
    // Every node, the restarted one after replaying group 0, holds the same sequence of (index, factor).
    await waitUntil('every node applied the freeze', 20_000, async () => {
      const hs = await Promise.all(cluster.nodes.map(changesOn));
      return hs.every((h) => h.at(-1)?.frozen === true && h.at(-1)?.index === hs[0]?.at(-1)?.index);
    });
    const histories = await Promise.all(cluster.nodes.map(changesOn));
    const first = (histories[0] as Applied[]).filter((h) => !h.frozen);
    expect(first.length).toBeGreaterThanOrEqual(before + 3);
    for (const h of histories) expect(h.map((x) => [x.index, x.factor, x.frozen])).toEqual((histories[0] as Applied[]).map((x) => [x.index, x.factor, x.frozen]));
    // Factors only fell (the service stayed slow), each step within 25%.
    for (let i = 1; i < first.length; i++) {
      const prev = (first[i - 1] as Applied).factor;
      const next = (first[i] as Applied).factor;
      expect(next).toBeLessThan(prev);
      expect(next).toBeGreaterThanOrEqual(Math.round(prev * 0.75 * 1000) / 1000 - 0.001);
    }
  }, 60_000);
});
