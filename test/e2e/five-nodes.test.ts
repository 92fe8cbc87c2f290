// Proves a 5-node cluster with replication factor 3 answers checks through any node for
// keys of every group, including groups the receiving node does not host (two hops).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, type ClusterNode } from '../../chaos/harness/local-cluster.js';
import { LIMITS } from './limits.js';

describe('5-node cluster', () => {
  const cluster = new LocalCluster({ nodes: 5, limitsYaml: LIMITS, groups: 5 });
  beforeAll(async () => {
    await cluster.start();
  }, 90_000);
  afterAll(async () => {
    await cluster.stop();
  }, 30_000);

  it('answers checks for every group through every node', async () => {
    const answers = await Promise.all(
      cluster.nodes.flatMap((n, i) =>
        Array.from({ length: 20 }, (_, k) => cluster.checkRetrying(n as ClusterNode, { key: `five:${i}:${k}`, resource: 'gcra' }, `five:${i}:${k}`)),
      ),
    );
    const bad = answers.filter((a) => a.status !== 200 || a.body['allowed'] !== true);
    expect(bad.map((a) => a.body), cluster.logs().slice(0, 3000)).toEqual([]);
  }, 60_000);
});
