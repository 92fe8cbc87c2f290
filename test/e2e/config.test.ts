// Proves replicated configuration on a real 3-process cluster: the --config file seeds
// version 1; a write through any node is served by every node within the 1 s target and
// checks resolve by the new rule everywhere; an invalid document lists every error and
// changes nothing; of concurrent writes with the same If-Match exactly one wins; a
// limit-only change keeps counters while an algorithm change resets them (and says so);
// a node down during a change comes back serving the newest version it applied and
// catches up on the rest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, waitUntil, type ClusterNode } from '../../chaos/harness/local-cluster.js';
import { slotOf } from '../../src/protocol/slot.js';
import { LIMITS } from './limits.js';

const TOKEN = 'e2e-admin-token-0123456789';
const GROUPS = 4;
const PROPAGATION_TARGET_MS = 1000;

describe('replicated configuration (3 nodes)', () => {
  const saved = process.env['RL_ADMIN_TOKEN'];
  process.env['RL_ADMIN_TOKEN'] = TOKEN; // the harness passes its environment to every node it spawns
  const cluster = new LocalCluster({ nodes: 3, limitsYaml: LIMITS, groups: GROUPS });
  const node = (i: number): ClusterNode => cluster.nodes[i] as ClusterNode;
  const headers = { authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    await cluster.start();
  }, 60_000);
  afterAll(async () => {
    await cluster.stop();
    if (saved === undefined) delete process.env['RL_ADMIN_TOKEN'];
    else process.env['RL_ADMIN_TOKEN'] = saved;
  }, 30_000);

  async function getConfig(n: ClusterNode): Promise<{ status: number; body: Record<string, unknown> }> {
    const r = await fetch(cluster.url(n, '/v1/config'), { headers, signal: AbortSignal.timeout(3000) });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  }

  async function put(n: ClusterNode, text: string, ifMatch?: number): Promise<{ status: number; body: Record<string, unknown> }> {
    const h: Record<string, string> = { ...headers };
    if (ifMatch !== undefined) h['if-match'] = `"${ifMatch}"`;
    const r = await fetch(cluster.url(n, '/v1/config'), { method: 'PUT', headers: h, body: text, signal: AbortSignal.timeout(15_000) });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  }

  async function versionOn(n: ClusterNode): Promise<number> {
    try {
      const r = await fetch(cluster.url(n, '/v1/cluster'), { signal: AbortSignal.timeout(1000) });
      return Number(((await r.json()) as { configVersion: number }).configVersion);
    } catch {
      return -1;
    }
  }

  async function currentVersion(): Promise<number> {
    return Number((await getConfig(node(0))).body['version']);
  }

  /** One key per shard group, so checks reach every group's leader (spread over all nodes). */
  const keysPerGroup = Array.from({ length: GROUPS }, (_, g) => {
    for (let i = 0; ; i++) if ((slotOf(`cfg:${g}:${i}`) % GROUPS) + 1 === g + 1) return `cfg:${g}:${i}`;
  });

  it('the --config file is version 1 on every node', async () => {
    for (const n of cluster.nodes) {
      const c = await getConfig(n);
      expect(c.status).toBe(200);
      expect(c.body).toMatchObject({ version: 1, format: 'yaml', text: LIMITS });
      expect(await versionOn(n)).toBe(1);
    }
  });

  it('a write through one node is served by every node within 1 s, and checks resolve by the new rule everywhere', async () => {
    const before = await currentVersion();
    const text = `${LIMITS}  fresh: { algorithm: gcra, limit: 9, period: 1h }\n`;
    const r = await put(node(1), text, before);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ version: before + 1, added: ['resources.fresh'] });
    const returnedAt = performance.now();
    // The answering node has applied it before answering.
    expect(await versionOn(node(1))).toBe(before + 1);
    await waitUntil('every node serves the new version', 10_000, async () => (await Promise.all(cluster.nodes.map(versionOn))).every((v) => v === before + 1));
    const propagationMs = performance.now() - returnedAt;
    expect(propagationMs, `propagation took ${propagationMs.toFixed(0)} ms`).toBeLessThanOrEqual(PROPAGATION_TARGET_MS);
    for (const n of cluster.nodes) {
      for (const key of keysPerGroup) {
        const c = await cluster.checkRetrying(n, { key: `${key}:${n.id}`, resource: 'fresh' }, `fresh:${key}:${n.id}`);
        expect(c.body, cluster.logs()).toMatchObject({ allowed: true, limit: 9, remaining: 8, rule: 'resources.fresh' });
      }
      const e = await fetch(cluster.url(n, '/v1/config/explain?key=x&resource=fresh'), { headers });
      expect(await e.json()).toMatchObject({ version: before + 1, decidedBy: 'resources.fresh' });
    }
  }, 60_000);

  it('an invalid document lists every error, changes nothing, and the running version keeps serving', async () => {
    const before = await currentVersion();
    const bad = `${LIMITS}  broken: { algorithm: gcra, limit: -1, period: 1h }\n  worse: { algorithm: leaky, limit: 1, period: 1h }\n`;
    const r = await put(node(2), bad);
    expect(r.status).toBe(400);
    const error = r.body['error'] as { code: string; issues: { path: string }[] };
    expect(error.code).toBe('RL_ERR_CONFIG_INVALID');
    expect(error.issues.map((i) => i.path)).toEqual(['resources.broken.limit', 'resources.worse.algorithm']);
    for (const n of cluster.nodes) expect(await versionOn(n)).toBe(before);
    const c = await cluster.checkRetrying(node(2), { key: 'invalid:1', resource: 'fresh' }, 'invalid:1');
    expect(c.body).toMatchObject({ allowed: true, limit: 9 });
  }, 30_000);

  it('of concurrent writes with the same If-Match through different nodes, exactly one wins', async () => {
    for (let round = 0; round < 3; round++) {
      const base = await currentVersion();
      const texts = cluster.nodes.map((n) => `${LIMITS}  fresh: { algorithm: gcra, limit: 9, period: 1h }\n  race_${n.id}: { limit: 1, period: 1h }\n`);
      const answers = await Promise.all(cluster.nodes.map((n, i) => put(n, texts[i] as string, base)));
      const won = answers.filter((a) => a.status === 200);
      const lost = answers.filter((a) => a.status === 412);
      expect(won.length, JSON.stringify(answers)).toBe(1);
      expect(lost.length).toBe(2);
      for (const l of lost) expect(l.body['error']).toMatchObject({ code: 'RL_ERR_CONFLICT', currentVersion: base + 1 });
      expect(won[0]?.body).toMatchObject({ version: base + 1 });
      expect(await currentVersion()).toBe(base + 1);
    }
  }, 60_000);

  it('a limit-only change keeps counters; an algorithm change resets them and says so', async () => {
    const key = 'counters:1';
    const withSmall = (rule: string): string => `${LIMITS.replace(/ {2}small: .*\n/, `  small: ${rule}\n`)}  fresh: { algorithm: gcra, limit: 9, period: 1h }\n`;
    expect((await put(node(0), withSmall('{ algorithm: fixed_window, limit: 5, period: 1h }'))).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await cluster.checkRetrying(node(0), { key, resource: 'small' }, `cnt:${i}`)).body).toMatchObject({ allowed: true });
    const limitOnly = await put(node(1), withSmall('{ algorithm: fixed_window, limit: 6, period: 1h }'));
    expect(limitOnly.body).toMatchObject({ changed: ['resources.small'], resets: [] });
    const kept = await cluster.checkRetrying(node(2), { key, resource: 'small', cost: 0 }, 'cnt:peek1');
    expect(kept.body).toMatchObject({ limit: 6, remaining: 3 }); // 3 of 6 used: the count survived
    const algo = await put(node(2), withSmall('{ algorithm: gcra, limit: 6, period: 1h }'));
    expect(algo.body).toMatchObject({ changed: ['resources.small'], resets: [{ rule: 'resources.small' }] });
    const reset = await cluster.checkRetrying(node(0), { key, resource: 'small', cost: 0 }, 'cnt:peek2');
    expect(reset.body).toMatchObject({ limit: 6, remaining: 6 });
    // GCRA keeps its state across a limit change too: 2 checks at 10 min each, then a limit
    // of 4 per hour (15 min each) leaves (60 - 20) / 15 = 2 whole units, not a fresh 4.
    for (let i = 0; i < 2; i++) expect((await cluster.checkRetrying(node(1), { key, resource: 'small' }, `cnt:g${i}`)).body).toMatchObject({ allowed: true });
    expect((await put(node(1), withSmall('{ algorithm: gcra, limit: 4, period: 1h }'))).body).toMatchObject({ resets: [] });
    const gcraKept = await cluster.checkRetrying(node(2), { key, resource: 'small', cost: 0 }, 'cnt:peek3');
    expect(gcraKept.body).toMatchObject({ limit: 4, remaining: 2 });
  }, 60_000);

  it('a node down during a change comes back serving the newest version it applied, then catches up', async () => {
    const down = node(2);
    const held = await versionOn(down);
    cluster.kill(down);
    const r = await put(node(0), `${LIMITS}  fresh: { algorithm: gcra, limit: 9, period: 1h }\n  late: { limit: 4, period: 1h }\n`);
    expect(r.status).toBe(200);
    const newest = Number(r.body['version']);
    expect(newest).toBe(held + 1);
    cluster.restart(down);
    // Before it catches up it serves what it had applied (never the --config file's version 1).
    const seen: number[] = [];
    await waitUntil('the restarted node catches up', 20_000, async () => {
      const v = await versionOn(down);
      if (v > 0) seen.push(v);
      return v === newest;
    });
    expect(seen.every((v) => v === held || v === newest), `versions seen while catching up: ${seen.join(',')}`).toBe(true);
    await cluster.waitReady(20_000);
    const e = await fetch(cluster.url(down, '/v1/config/explain?key=x&resource=late'), { headers });
    expect(await e.json()).toMatchObject({ version: newest, decidedBy: 'resources.late' });
    const c = await cluster.checkRetrying(down, { key: 'late:1', resource: 'late' }, 'late:1');
    expect(c.body).toMatchObject({ allowed: true, limit: 4, remaining: 3 });
  }, 90_000);
});
