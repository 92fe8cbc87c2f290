// Proves a real 3-process cluster on loopback keeps its limits in strict mode: concurrent
// checks through every node admit exactly the limit, and idempotent retries count once,
// also after the leader of the key's group is killed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, waitUntil, type ClusterNode } from '../../chaos/harness/local-cluster.js';
import { LIMITS } from './limits.js';

describe('3-node cluster, strict mode', () => {
  const cluster = new LocalCluster({ nodes: 3, limitsYaml: LIMITS });
  beforeAll(async () => {
    await cluster.start();
  }, 60_000);
  afterAll(async () => {
    await cluster.stop();
  }, 30_000);

  for (const [resource, limit] of [
    ['gcra', 50],
    ['sliding', 30],
    ['fixed', 30],
  ] as const) {
    it(`concurrent checks on one key through all nodes admit exactly the limit (${resource})`, async () => {
      const key = `hot:${resource}`;
      const answers = await Promise.all(
        Array.from({ length: 150 }, (_, i) => cluster.checkRetrying(cluster.nodes[i % 3] as ClusterNode, { key, resource }, `c:${resource}:${i}`)),
      );
      const failed = answers.filter((a) => a.status !== 200);
      expect(failed.map((a) => a.body), cluster.logs()).toEqual([]);
      expect(answers.filter((a) => a.body['allowed'] === true).length).toBe(limit);
    }, 30_000);
  }

  it('a check sent to a node that does not lead its group is forwarded, and counted as such', async () => {
    const key = 'forward:1';
    const leader = await cluster.leaderOfKey(cluster.nodes[0] as ClusterNode, key);
    const other = cluster.nodes.find((n) => n !== leader) as ClusterNode;
    const forwardedOn = async (n: ClusterNode): Promise<number> => {
      const text = await (await fetch(cluster.url(n, '/metrics'))).text();
      return Number(/^rl_checks_forwarded_total (\d+)/m.exec(text)?.[1] ?? -1);
    };
    const before = await forwardedOn(other);
    for (let i = 0; i < 5; i++) expect((await cluster.checkRetrying(other, { key, resource: 'gcra' }, `fwd:${i}`)).body).toMatchObject({ allowed: true });
    expect((await forwardedOn(other)) - before).toBeGreaterThanOrEqual(5);
  }, 30_000);

  it('a retry with the same idempotency id counts once, also after the leader changes', async () => {
    const key = 'idem:1';
    const first = await cluster.check(cluster.nodes[0] as ClusterNode, { key, resource: 'small', idempotencyId: 'client-a:1' });
    expect(first.body).toMatchObject({ allowed: true, remaining: 4 });
    const again = await cluster.check(cluster.nodes[1] as ClusterNode, { key, resource: 'small', idempotencyId: 'client-a:1' });
    expect(again.body).toEqual(first.body);
    const leader = await cluster.leaderOfKey(cluster.nodes[0] as ClusterNode, key);
    if (leader === undefined) throw new Error('no leader for the key');
    cluster.kill(leader);
    const other = cluster.nodes.find((n) => n !== leader) as ClusterNode;
    let retried: { status: number; body: Record<string, unknown> } = { status: 0, body: {} };
    await waitUntil('a new leader answers the retry', 10_000, async () => {
      retried = await cluster.check(other, { key, resource: 'small', idempotencyId: 'client-a:1' }, 1500);
      return retried.status === 200;
    });
    expect(retried.body).toEqual(first.body);
    const peek = await cluster.check(other, { key, resource: 'small', cost: 0 });
    expect(peek.body).toMatchObject({ remaining: 4 });
    cluster.restart(leader);
    await cluster.waitReady(20_000);
  }, 60_000);
});

