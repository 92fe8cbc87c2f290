/**
 * Scenarios that fault processes: SIGKILL, SIGSTOP/SIGCONT, clean and crash restarts, and
 * clock skew (a node restarted with `--clock-offset-ms`). Each loop stops starting rounds
 * when the fault budget is spent; the runner heals whatever is left.
 */
import { corruptNewestEntries } from '../harness/corrupt.js';
import type { ClusterNode } from '../harness/local-cluster.js';
import type { Scenario, ScenarioContext } from './context.js';

const SKEW_MS = 200;

async function killAndRestart(ctx: ScenarioContext, exclude: readonly string[] = []): Promise<void> {
  const { node, groups } = await ctx.busiestLeader(exclude);
  ctx.rec.fault({ kind: 'kill', node: node.id, groups });
  await ctx.cluster.killAndWait(node);
  await ctx.sleep(ctx.electionTimeoutMsMax * 2);
  ctx.cluster.restart(node);
  ctx.rec.fault({ kind: 'restart', node: node.id });
  await ctx.waitReady();
}

export const leaderKillLoop: Scenario = {
  name: 'leader-kill-loop',
  title: 'Leader kill loop',
  description: 'SIGKILL the node leading the most groups, wait two election timeouts, restart it; repeat until the budget is spent.',
  crashes: true,
  quick: true,
  async run(ctx) {
    for (let round = 0; round === 0 || ctx.timeLeft; round++) {
      await killAndRestart(ctx);
      await ctx.sleep(1000);
    }
  },
};

export const leaderPause: Scenario = {
  name: 'leader-pause',
  title: 'Leader paused (SIGSTOP) past the election timeout',
  description:
    'SIGSTOP the busiest leader for 3 election timeouts (others elect new leaders), then SIGCONT; it must not admit anything on its stale lease (strict and fast both checked).',
  crashes: false,
  quick: true,
  async run(ctx) {
    for (let round = 0; round === 0 || ctx.timeLeft; round++) {
      const { node, groups } = await ctx.busiestLeader();
      ctx.rec.fault({ kind: 'sigstop', node: node.id, groups });
      ctx.cluster.pause(node);
      await ctx.sleep(Math.max(2500, ctx.electionTimeoutMsMax * 3));
      ctx.cluster.resume(node);
      ctx.rec.fault({ kind: 'sigcont', node: node.id });
      await ctx.sleep(2500);
    }
  },
};

export const clockSkew: Scenario = {
  name: 'clock-skew',
  title: `Clock skew ±${SKEW_MS} ms on one node`,
  description: `Restart one node with its wall clock ${SKEW_MS} ms ahead and kill the busiest other leader (leaders move onto the skewed node), then restart it ${SKEW_MS} ms behind (its groups move to normal clocks) and kill again. Group time must not let a new leader admit more than the skew allows (checker uncertainty ${SKEW_MS} ms).`,
  crashes: true,
  clockUncertaintyMs: SKEW_MS,
  quick: true,
  async run(ctx) {
    const skewed = ctx.cluster.nodes[ctx.cluster.nodes.length - 1];
    if (skewed === undefined) throw new Error('no nodes');
    for (const offset of [SKEW_MS, -SKEW_MS]) {
      await ctx.cluster.terminate(skewed);
      skewed.clockOffsetMs = offset;
      ctx.rec.fault({ kind: `clock-offset ${offset > 0 ? '+' : ''}${offset} ms`, node: skewed.id });
      ctx.cluster.restart(skewed);
      await ctx.waitReady();
      await ctx.sleep(Math.max(1000, ctx.faultMs / 6));
      // Leadership moves onto the skewed node: kill the busiest leader that is not it. (The
      // next pass's restart of the skewed node moves its groups back to normal clocks.)
      await killAndRestart(ctx, [skewed.id]);
      await ctx.sleep(Math.max(1000, ctx.faultMs / 6));
    }
    skewed.clockOffsetMs = 0;
  },
};

export const rollingRestart: Scenario = {
  name: 'rolling-restart',
  title: 'Rolling restart',
  description: 'SIGTERM each node in turn (a clean stop), restart it and wait until the cluster is ready before the next.',
  crashes: true,
  quick: false,
  async run(ctx) {
    for (let round = 0; round === 0 || ctx.timeLeft; round++) {
      for (const node of ctx.cluster.nodes) {
        const groups = (await ctx.leaders()).get(node.id) ?? [];
        ctx.rec.fault({ kind: 'sigterm', node: node.id, groups });
        await ctx.cluster.terminate(node);
        ctx.cluster.restart(node);
        ctx.rec.fault({ kind: 'restart', node: node.id });
        await ctx.waitReady();
        await ctx.sleep(500);
      }
    }
  },
};

export const wholeClusterRestart: Scenario = {
  name: 'whole-cluster-restart',
  title: 'Whole-cluster crash and restart',
  description: 'SIGKILL every node at once, restart them all; counters (and sentinels at their limit) must survive.',
  crashes: true,
  quick: true,
  async run(ctx) {
    for (let round = 0; round === 0 || ctx.timeLeft; round++) {
      const groups = [...(await ctx.leaders()).values()].flat();
      ctx.rec.fault({ kind: 'kill-all', groups });
      await Promise.all(ctx.cluster.nodes.map((n) => ctx.cluster.killAndWait(n)));
      await ctx.sleep(500);
      for (const n of ctx.cluster.nodes) ctx.cluster.restart(n);
      ctx.rec.fault({ kind: 'restart-all' });
      await ctx.waitReady(60_000);
      await ctx.sleep(2000);
    }
  },
};

export const corruptedReplica: Scenario = {
  name: 'corrupted-replica',
  title: "One replica's data corrupted on disk",
  description:
    'Stop the node leading the fewest groups, flip a byte in the newest 3 log entries of a group it follows (through LevelDB, so only the per-record CRC32C can catch it), restart it. It must serve nothing from the damaged group (ARCHITECTURE.md: refuse, report, rebuild from a healthy replica); the other replicas keep the group serving.',
  crashes: true,
  quick: true,
  async run(ctx) {
    const { node } = await ctx.idlestLeader();
    const leaders = await ctx.leaders();
    const led = new Set(leaders.get(node.id) ?? []);
    const groupId = [1, 2, 3, 4].find((g) => !led.has(g)) ?? 1;
    await ctx.cluster.terminate(node);
    const damaged = await corruptNewestEntries(ctx.cluster.dataDir(node), groupId, 3);
    ctx.rec.fault({ kind: `corrupt ${damaged} log entries of group ${groupId}`, node: node.id });
    ctx.cluster.restart(node);
    const startedMs = Date.now();
    // The replica must come back: marked lost, demoted, wiped, refilled by snapshot and
    // promoted again (src/node/placement/corrupt-replica.ts), within the fault budget.
    // Bounded by the fault budget, and by 30 s at least (a short run still waits for it).
    const deadline = startedMs + Math.max(ctx.faultMs, 30_000);
    let rebuilt = false;
    while (ctx.timeLeft || (!rebuilt && Date.now() < deadline)) {
      await ctx.sleep(500);
      if (rebuilt) continue;
      const g = await replicaState(ctx, node, groupId);
      if (g !== null && g.hosted && g.voters.includes(node.id) && g.lost.length === 0 && !g.rebuilding) {
        rebuilt = true;
        ctx.rec.fault({ kind: `group ${groupId} rebuilt on ${node.id} and voting again after ${Date.now() - startedMs} ms`, node: node.id });
      }
    }
    if (!rebuilt) throw new Error(`the corrupt replica of group ${groupId} on ${node.id} was not rebuilt within ${Math.round((deadline - startedMs) / 1000)} s of its restart (${JSON.stringify(await replicaState(ctx, node, groupId))})`);
  },
};

/** How `node` sees its replica of `groupId` in /v1/cluster, or null when it does not answer. */
async function replicaState(ctx: ScenarioContext, node: ClusterNode, groupId: number): Promise<{ hosted: boolean; voters: string[]; lost: string[]; rebuilding: boolean } | null> {
  try {
    const r = await fetch(ctx.cluster.url(node, '/v1/cluster'), { signal: AbortSignal.timeout(1000) });
    const body = (await r.json()) as { rebuilding?: number[]; groups?: { id: number; hosted: boolean; voters: string[]; lost?: string[] }[] };
    const g = body.groups?.find((x) => x.id === groupId);
    if (g === undefined) return null;
    return { hosted: g.hosted, voters: g.voters, lost: g.lost ?? [], rebuilding: (body.rebuilding ?? []).includes(groupId) };
  } catch {
    return null;
  }
}
