// Proves a stuck move does not block the planner for ever: a joining node is frozen
// (SIGSTOP) right after it is ready, so the move the planner starts onto it never
// catches up; after `--move-stall-ms` the planner rolls the move back (the learner is
// removed), every group is settled on the three live nodes again, and checks go on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../../chaos/harness/local-cluster.js';
import { ScaleCluster, type ScaleNode } from '../support/scale-cluster.js';
import { LIMITS } from './limits.js';

describe('scale out: a move whose target never catches up', () => {
  const cluster = new ScaleCluster({ limitsYaml: LIMITS, groups: 4, nodeArgs: ['--move-stall-ms', '3000'] });
  beforeAll(async () => {
    await cluster.start(3);
  }, 60_000);
  afterAll(async () => {
    const n4 = cluster.nodes[3];
    if (n4?.process?.pid !== undefined) n4.process.kill('SIGCONT');
    await cluster.stop();
  }, 30_000);

  it('rolls the stalled move back after the stall bound and settles every group', async () => {
    const [n1, n2, n3] = cluster.nodes as [ScaleNode, ScaleNode, ScaleNode];
    const n4 = await cluster.join('n4', n1);
    n4.process?.kill('SIGSTOP');
    const retargeted = async (): Promise<number> => {
      let sum = 0;
      for (const n of [n1, n2, n3]) sum += Number(/^rl_placement_moves_retargeted_total (\d+)$/m.exec(await (await fetch(cluster.url(n, '/metrics'))).text())?.[1] ?? 0);
      return sum;
    };
    await waitUntil('a stalled move retargeted, then no move in progress', 45_000, async () => {
      const map = await cluster.mapView(n2);
      return map !== null && map.moves.length === 0 && (await retargeted()) >= 1;
    });
    // Every group keeps three voters, none of them the frozen node unless a move to it had completed before it froze.
    const groups = (await cluster.groups(n3)) ?? [];
    expect(groups).toHaveLength(4);
    for (const g of groups) expect(g.voters).toHaveLength(3);
    for (let i = 0; i < 6; i++) expect((await cluster.checkRetrying(cluster.nodes[i % 3] as ScaleNode, { key: `stall:${i}`, resource: 'small' }, `stall:${i}`)).status).toBe(200);
  }, 90_000);
});
