// Proves the meta group's shape on a 6-node cluster: five voters and one learner, and a
// configuration written through the learner reaches every node, the learner included.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, waitUntil, type ClusterNode } from '../../chaos/harness/local-cluster.js';
import { LIMITS } from './limits.js';

const TOKEN = 'e2e-learner-admin-token-0123';

describe('meta group with six nodes', () => {
  const saved = process.env['RL_ADMIN_TOKEN'];
  process.env['RL_ADMIN_TOKEN'] = TOKEN;
  const cluster = new LocalCluster({ nodes: 6, limitsYaml: LIMITS, groups: 3 });

  beforeAll(async () => {
    await cluster.start();
  }, 90_000);
  afterAll(async () => {
    await cluster.stop();
    if (saved === undefined) delete process.env['RL_ADMIN_TOKEN'];
    else process.env['RL_ADMIN_TOKEN'] = saved;
  }, 30_000);

  async function view(n: ClusterNode): Promise<{ configVersion: number; meta: { voters: string[]; learners: string[]; role: string } }> {
    return (await (await fetch(cluster.url(n, '/v1/cluster'), { signal: AbortSignal.timeout(2000) })).json()) as { configVersion: number; meta: { voters: string[]; learners: string[]; role: string } };
  }

  it('has five voters and one learner; a write through the learner reaches every node', async () => {
    const learner = cluster.nodes[5] as ClusterNode;
    const v = await view(learner);
    expect(v.meta.voters).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    expect(v.meta.learners).toEqual(['n6']);
    expect(v.meta.role).toBe('follower');
    const r = await fetch(cluster.url(learner, '/v1/config'), {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'if-match': '"1"' },
      body: `${LIMITS}  learned: { limit: 2, period: 1h }\n`,
      signal: AbortSignal.timeout(15_000),
    });
    expect(r.status, await r.clone().text()).toBe(200);
    expect(await r.json()).toMatchObject({ version: 2, added: ['resources.learned'] });
    await waitUntil('every node on version 2', 10_000, async () => (await Promise.all(cluster.nodes.map(view))).every((x) => x.configVersion === 2));
  }, 60_000);
});
