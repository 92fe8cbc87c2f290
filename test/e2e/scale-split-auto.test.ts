// Proves the planner splits a busy group on its own: with `--split-checks-per-s` low and
// `--groups-max 3`, strict checks through every node make the busiest group's leader
// report a load above the threshold, the meta leader splits it (one split, then the group
// bound stops it), and keys at their limit before the split stay limited afterwards.
import { describe, expect, it } from 'vitest';
import { waitUntil } from '../../chaos/harness/local-cluster.js';
import { type ScaleNode, useScaleCluster } from '../support/scale-cluster.js';
import { expectStrictHeld, runLoad, type LoadResult } from '../support/scale-load.js';
import { LIMITS } from './limits.js';

interface ClusterView {
  readonly slotMapVersion: number;
  readonly split: unknown;
  readonly groups: readonly { id: number; leader: string | null }[];
}

describe('scale out: the planner splits a group over its load threshold', () => {
  const cluster = useScaleCluster({ limitsYaml: LIMITS, groups: 2, nodeArgs: ['--split-checks-per-s', '20', '--groups-max', '3'] });

  it('splits once under load, stops at the group bound, and keeps every counter', async () => {
    const nodes = cluster.nodes.slice(0, 3) as ScaleNode[];
    const limited = Array.from({ length: 8 }, (_, i) => `auto-limited:${i}`);
    for (const key of limited) {
      for (let i = 0; i < 5; i++) expect((await cluster.checkRetrying(nodes[i % 3] as ScaleNode, { key, resource: 'small' }, `${key}:${i}`)).body).toMatchObject({ allowed: true });
    }
    const stop = { now: false };
    const load: Promise<LoadResult> = runLoad(cluster, () => nodes, stop, { keys: 64, resource: 'gcra', concurrency: 8 });
    const view = async (n: ScaleNode): Promise<ClusterView> => (await (await fetch(cluster.url(n, '/v1/cluster'))).json()) as ClusterView;
    await waitUntil('a split by the planner: 3 groups, slot map version 2, no split in progress', 45_000, async () => {
      for (const n of nodes) {
        const v = await view(n);
        if (v.split !== null || v.slotMapVersion !== 2 || v.groups.length !== 3 || v.groups.some((g) => g.leader === null)) return false;
      }
      return true;
    });
    // The group bound holds: the load goes on, and no further split begins.
    await new Promise((r) => setTimeout(r, 3000));
    stop.now = true;
    const result = await load;
    for (const n of nodes) expect((await view(n)).groups).toHaveLength(3);
    await expectStrictHeld(cluster, result, { limit: 50, limited, nodes, resource: 'small' });
    let splits = 0;
    for (const n of nodes) {
      const text = await (await fetch(cluster.url(n, '/metrics'))).text();
      splits += Number(/^rl_placement_splits_total (\d+)$/m.exec(text)?.[1] ?? 0);
    }
    expect(splits).toBe(1);
  }, 120_000);
});
