// Proves scale-out on real processes: with checks running, a 4th and then a 5th node join
// through `--join`, the planner moves replicas onto it one membership change at a time until every
// group has 3 voters on distinct nodes and replicas and leaders spread within one per
// node; strict mode admits no more than each limit during the moves, and keys at their
// limit before the join stay limited after it.
import { describe, expect, it } from 'vitest';
import { waitUntil } from '../../chaos/harness/local-cluster.js';
import { runRlctl } from '../../src/cli/program.js';
import { ADMIN_TOKEN, ScaleCluster, type ScaleNode, useScaleCluster } from '../support/scale-cluster.js';
import { LIMITS } from './limits.js';
import { balanced, expectStrictHeld, leaderCounts, runLoad, type LoadResult } from '../support/scale-load.js';

const GROUPS = 6;

describe('scale out: nodes join under load', () => {
  const cluster = useScaleCluster({ limitsYaml: LIMITS, groups: GROUPS });

  it('moves replicas onto the new node, balances replicas and leaders, and never over-admits', async () => {
    const [n1, n2, n3] = cluster.nodes as [ScaleNode, ScaleNode, ScaleNode];
    // Keys at their limit before the join (resource `small`: 5 per hour).
    const limited = Array.from({ length: 8 }, (_, i) => `limited:${i}`);
    for (const key of limited) {
      for (let i = 0; i < 5; i++) expect((await cluster.checkRetrying(cluster.nodes[i % 3] as ScaleNode, { key, resource: 'small' }, `${key}:${i}`)).body).toMatchObject({ allowed: true });
      expect((await cluster.checkRetrying(n1, { key, resource: 'small' }, `${key}:over`)).body).toMatchObject({ allowed: false });
    }

    const stop = { now: false };
    // Checks go through every node that serves: the three, then n4 once it is ready.
    const serving: ScaleNode[] = [n1, n2, n3];
    const load: Promise<LoadResult> = runLoad(cluster, () => serving, stop, { keys: 24, resource: 'small', concurrency: 3 });
    const n4 = await cluster.join('n4', n2);
    serving.push(n4);

    const seen = { statusWithMoves: '' };
    await settledOn(cluster, n3, n1, 4, seen);
    // A 5th node, with the load still running.
    const n5 = await cluster.join('n5', n4);
    serving.push(n5);
    await settledOn(cluster, n5, n2, 5, seen);
    // `rlctl status` showed the moves while they were in progress.
    expect(seen.statusWithMoves).toMatch(/^MOVING +VOTERS +LEARNERS +TARGET +ADDING +REMOVING$/m);
    stop.now = true;
    const result = await load;

    // Strict mode: per key, no more admitted than the limit, across the whole run.
    // No acknowledged counter lost: keys at their limit stay limited, asked through every node.
    await expectStrictHeld(cluster, result, { limit: 5, limited, nodes: [n1, n2, n3, n4, n5], resource: 'small', answeredMin: 50 });
    // The moves really happened: the new nodes host their replicas, and group leaders proposed each step.
    for (const n of [n4, n5]) expect(((await cluster.groups(n)) ?? []).filter((g) => g.hosted).length).toBeGreaterThanOrEqual(Math.floor((GROUPS * 3) / 5));
    const changes = await Promise.all(cluster.nodes.map((n) => metricSum(cluster, n, 'rl_placement_membership_changes_total')));
    expect(changes.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3 * Math.floor((GROUPS * 3) / 4));
    expect(await metricSum(cluster, n4, 'rl_placement_moves_in_progress')).toBe(0);
    // The new node serves checks for groups it now leads or forwards.
    expect((await cluster.checkRetrying(n4, { key: 'fresh:1', resource: 'small' }, 'fresh:1:a')).body).toMatchObject({ allowed: true });
  }, 120_000);
});

/** Waits until `count` nodes hold the groups: 3 distinct voters each, no moves, replicas and leaders within one per node. */
async function settledOn(cluster: ScaleCluster, mapVia: ScaleNode, groupsVia: ScaleNode, count: number, seen: { statusWithMoves: string }): Promise<void> {
  await waitUntil(`${count} nodes: every group on 3 voters, no moves, replicas and leaders balanced`, 75_000, async () => {
    const map = await cluster.mapView(mapVia);
    const groups = await cluster.groups(groupsVia);
    if (map !== null && map.moves.length > 0 && !seen.statusWithMoves.includes('MOVING')) {
      let out = '';
      await runRlctl(['--endpoint', `127.0.0.1:${groupsVia.apiPort}`, '--token', ADMIN_TOKEN, 'status'], { out: (t) => (out += t), err: () => undefined }, {});
      seen.statusWithMoves = out;
    }
    if (map === null || groups === null || map.moves.length > 0 || map.nodes.length !== count) return false;
    if (!groups.every((g) => g.voters.length === 3 && new Set(g.voters).size === 3)) return false;
    return balanced(map.nodes.map((n) => n.replicas)) && balanced(await leaderCounts(cluster, groups.map((g) => g.id)));
  });
}

async function metricSum(cluster: ScaleCluster, n: ScaleNode, name: string): Promise<number> {
  const text = await (await fetch(cluster.url(n, '/metrics'))).text();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'gm'))) sum += Number(m[1]);
  return sum;
}
