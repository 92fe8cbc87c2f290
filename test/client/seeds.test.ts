// Proves the SDK survives a seed that is down: with the first seed pointing at a port
// where nothing listens, it learns the cluster from the others and every check is answered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, freePorts } from '../../chaos/harness/local-cluster.js';
import { createClient } from '../../client/index.js';
import { LIMITS } from '../e2e/limits.js';

const cluster = new LocalCluster({ nodes: 3, limitsYaml: LIMITS });

beforeAll(async () => {
  await cluster.start();
}, 60_000);

afterAll(async () => {
  await cluster.stop();
}, 30_000);

describe('SDK seeds', () => {
  it('answers every check when one seed is down', async () => {
    const [deadPort] = await freePorts(1);
    const seeds = [`127.0.0.1:${deadPort}`, ...cluster.nodes.map((n) => `127.0.0.1:${n.apiPort}`)];
    const client = createClient({ seeds, timeoutMs: 3000, pollIntervalMs: 200 });
    try {
      const rs = await Promise.all(Array.from({ length: 200 }, (_, i) => client.check(`seed:${i}`, { resource: 'gcra' })));
      expect(rs.every((r) => r.allowed && r.source === 'cluster')).toBe(true);
    } finally {
      await client.close();
    }
  }, 30_000);
});
