/**
 * Membership changes under load: a node joins, the planner moves replicas and leaders
 * onto it; then the node leading the most groups is drained and removed. Every move is a
 * Raft membership change (add learner → snapshot → promote → remove), so strict mode must
 * admit nothing beyond the limits and no acknowledged counter may be lost.
 */
import { waitUntil, type ClusterNode, type LocalCluster } from '../harness/local-cluster.js';
import type { Scenario, ScenarioContext } from './context.js';

interface NodesView {
  readonly nodes: readonly { id: string; replicas: number; holds: readonly number[]; metaVoter: boolean }[];
  readonly moves: readonly unknown[];
}

async function nodesView(cluster: LocalCluster, via: ClusterNode): Promise<NodesView | null> {
  const r = await cluster.admin(via, 'GET', '/v1/admin/nodes');
  return r.status === 200 ? (r.body as unknown as NodesView) : null;
}

/** Waits (bounded by `timeoutMs` and the fault budget) until `cond` holds on the map `via` serves; returns the time taken. */
async function waitMap(ctx: ScenarioContext, via: () => ClusterNode, what: string, timeoutMs: number, cond: (v: NodesView) => boolean): Promise<number> {
  const started = Date.now();
  await waitUntil(what, timeoutMs, async () => {
    const v = await nodesView(ctx.cluster, via());
    return v !== null && cond(v);
  });
  return Date.now() - started;
}

export const nodeJoinLeave: Scenario = {
  name: 'node-join-leave',
  title: 'Node added and removed during load',
  description:
    'A 4th node joins through `--join` while the load runs; the planner moves replicas onto it one membership change at a time. Then the node leading the most groups is drained (its replicas, leaders and meta vote move away) and removed from the cluster map. Strict mode must admit nothing beyond the limits, and nothing acknowledged may be lost.',
  crashes: false,
  quick: false,
  async run(ctx) {
    const { cluster } = ctx;
    const seed = cluster.nodes[0] as ClusterNode;
    const budgetMs = Math.max(60_000, ctx.faultMs);
    const added = await cluster.addNode(seed);
    ctx.rec.fault({ kind: `${added.id} joins through ${seed.id}`, node: added.id });
    const joinMs = await waitMap(ctx, () => seed, `${added.id} holds replicas and no moves are left`, budgetMs, (v) => {
      const row = v.nodes.find((n) => n.id === added.id);
      return row !== undefined && row.replicas > 0 && row.holds.length === row.replicas && v.moves.length === 0;
    });
    ctx.rec.fault({ kind: `replicas moved onto ${added.id} in ${joinMs} ms`, node: added.id });
    await ctx.sleep(Math.min(10_000, ctx.faultMs / 6));

    const { node: leaving, groups } = await ctx.busiestLeader([added.id]);
    const other = cluster.nodes.find((n) => n !== leaving && n.process !== null) as ClusterNode;
    const drain = await cluster.admin(other, 'POST', `/v1/admin/nodes/${leaving.id}/drain`);
    if (drain.status !== 200) throw new Error(`drain of ${leaving.id} refused: ${drain.status} ${JSON.stringify(drain.body)}`);
    ctx.rec.fault({ kind: `${leaving.id} drained (it led groups ${groups.join(', ') || 'none'})`, node: leaving.id });
    const drainMs = await waitMap(ctx, () => other, `${leaving.id} holds nothing and votes nowhere`, budgetMs, (v) => {
      const row = v.nodes.find((n) => n.id === leaving.id);
      return row !== undefined && row.holds.length === 0 && !row.metaVoter && v.moves.length === 0;
    });
    const removed = await cluster.admin(other, 'DELETE', `/v1/admin/nodes/${leaving.id}`);
    if (removed.status !== 200) throw new Error(`removal of ${leaving.id} refused: ${removed.status} ${JSON.stringify(removed.body)}`);
    await cluster.retire(leaving);
    ctx.rec.fault({ kind: `${leaving.id} removed and stopped ${drainMs} ms after its drain`, node: leaving.id });
    // The rest of the budget runs on the new membership.
    while (ctx.timeLeft) await ctx.sleep(500);
  },
};
