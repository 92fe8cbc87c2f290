// Proves a move survives a crash: the arriving node is SIGKILLed while replicas move onto
// it, checks keep being answered by the surviving quorum meanwhile, and once it restarts the
// moves complete (every group on 3 voters, replicas and leaders balanced) with no key
// admitted beyond its limit and keys at their limit still limited.
import { describe, expect, it } from 'vitest';
import { waitUntil } from '../../chaos/harness/local-cluster.js';
import { type ScaleNode, useScaleCluster } from '../support/scale-cluster.js';
import { balanced, expectStrictHeld, leaderCounts, runLoad, type LoadResult } from '../support/scale-load.js';
import { LIMITS } from './limits.js';

const GROUPS = 6;

describe('scale out: the arriving node crashes in the middle of a move', () => {
  const cluster = useScaleCluster({ limitsYaml: LIMITS, groups: GROUPS });

  it('completes the moves once the node returns, and keeps every limit throughout', async () => {
    const [n1, n2, n3] = cluster.nodes as [ScaleNode, ScaleNode, ScaleNode];
    const limited = Array.from({ length: 6 }, (_, i) => `kill-limited:${i}`);
    for (const key of limited) {
      for (let i = 0; i < 5; i++) expect((await cluster.checkRetrying(n2, { key, resource: 'small' }, `${key}:${i}`)).body).toMatchObject({ allowed: true });
    }
    const stop = { now: false };
    const load: Promise<LoadResult> = runLoad(cluster, () => [n1, n2, n3], stop, { keys: 24, resource: 'small', concurrency: 3 });
    const n4 = await cluster.join('n4', n1);
    // Kill it once it has received part of its share (a move may be half done: learner added, or promoted).
    await waitUntil('n4 takes part in a move', 60_000, async () => {
      const map = await cluster.mapView(n1);
      return map !== null && (map.nodes.find((n) => n.id === 'n4')?.holds.length ?? 0) >= 2;
    });
    cluster.kill(n4);
    // While it is down the three founders still answer for every group (each keeps a quorum).
    for (let i = 0; i < 6; i++) expect((await cluster.checkRetrying(cluster.nodes[i % 3] as ScaleNode, { key: `during:${i}`, resource: 'small' }, `during:${i}`)).status).toBe(200);
    cluster.restart(n4);
    await waitUntil('moves complete after n4 returns: 3 voters per group, balanced replicas and leaders', 75_000, async () => {
      const map = await cluster.mapView(n3);
      const groups = await cluster.groups(n2);
      if (map === null || groups === null || map.moves.length > 0 || map.nodes.length !== 4) return false;
      if (!groups.every((g) => g.voters.length === 3 && new Set(g.voters).size === 3)) return false;
      return balanced(map.nodes.map((n) => n.replicas)) && balanced(await leaderCounts(cluster, groups.map((g) => g.id)));
    });
    stop.now = true;
    const result = await load;
    await expectStrictHeld(cluster, result, { limit: 5, limited, nodes: [n1, n2, n3, n4], resource: 'small' });
  }, 150_000);
});
