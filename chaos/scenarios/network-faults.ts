/**
 * Scenarios that fault the network between nodes through Toxiproxy: partitions (links
 * disabled), latency with jitter, connection resets, and a flapping link. Client traffic
 * is not proxied: clients keep reaching every node, including the cut-off ones.
 */
import type { Scenario, ScenarioContext } from './context.js';

async function isolate(ctx: ScenarioContext, pick: 'busiest' | 'idlest'): Promise<void> {
  const { node, groups } = pick === 'busiest' ? await ctx.busiestLeader() : await ctx.idlestLeader();
  const others = ctx.cluster.nodes.filter((n) => n !== node).map((n) => n.id);
  ctx.rec.fault({ kind: 'partition', node: node.id, groups });
  await ctx.net.partition([node.id], others);
  // The cut-off node must see every peer link down; if it does not, its links do not go
  // through the proxies and the scenario would prove nothing.
  const seen = await ctx.peerLinks(node);
  for (let i = 0; i < 40 && !(seen.length > 0 && seen.every((l) => l.endsWith(':down'))); i++) {
    await ctx.sleep(100);
    seen.splice(0, seen.length, ...(await ctx.peerLinks(node)));
  }
  if (!seen.every((l) => l.endsWith(':down'))) {
    await ctx.net.heal();
    throw new Error(`partition not effective: ${node.id} still sees ${seen.join(', ')} 4 s after every proxy to it was disabled (peer links bypass the proxies)`);
  }
  await ctx.sleep(ctx.faultMs);
  await ctx.net.heal();
  ctx.rec.fault({ kind: 'heal', node: node.id });
}

export const minorityPartition: Scenario = {
  name: 'minority-partition',
  title: 'Minority partition',
  description: 'Cut the node leading the fewest groups off from the others for the whole budget, then heal. The minority side must not admit (strict); the majority keeps serving.',
  crashes: false,
  cutsLeaderOff: true,
  proxyFaults: true,
  quick: false,
  run: (ctx) => isolate(ctx, 'idlest'),
};

export const isolatedLeader: Scenario = {
  name: 'isolated-leader',
  title: 'Isolated leader (majority partition)',
  description: 'Cut the node leading the most groups off from the majority; its groups fail over to the majority, and it must not admit on its side; then heal.',
  crashes: false,
  cutsLeaderOff: true,
  proxyFaults: true,
  quick: true,
  run: (ctx) => isolate(ctx, 'busiest'),
};

export const latencyJitter: Scenario = {
  name: 'latency-jitter',
  title: '100 ms latency with 50 ms jitter',
  description: 'Every peer link, both directions, delays each chunk by 100 ± 50 ms for the budget, then heals.',
  crashes: false,
  proxyFaults: true,
  quick: false,
  async run(ctx) {
    ctx.rec.fault({ kind: 'latency 100±50 ms' });
    await ctx.net.addToxic({ type: 'latency', latency: 100, jitter: 50 });
    await ctx.sleep(ctx.faultMs);
    await ctx.net.heal();
    ctx.rec.fault({ kind: 'heal' });
  },
};

export const connectionResets: Scenario = {
  name: 'connection-resets',
  title: 'Connection resets',
  description: 'Every peer connection is reset (TCP RST) 300 ms after it opens, in rounds of 2 s with 1 s of quiet between.',
  crashes: false,
  cutsLeaderOff: true,
  proxyFaults: true,
  quick: false,
  async run(ctx) {
    for (let round = 0; round === 0 || ctx.timeLeft; round++) {
      ctx.rec.fault({ kind: 'reset_peer 300 ms' });
      await ctx.net.addToxic({ type: 'reset_peer', timeout: 300 });
      await ctx.sleep(2000);
      await ctx.net.heal();
      ctx.rec.fault({ kind: 'heal' });
      await ctx.sleep(1000);
    }
  },
};

export const flappingLink: Scenario = {
  name: 'flapping-link',
  title: 'Flapping link',
  description: 'The link between the busiest leader and one follower goes down and up every 400 ms.',
  crashes: false,
  cutsLeaderOff: true,
  proxyFaults: true,
  quick: false,
  async run(ctx) {
    const { node } = await ctx.busiestLeader();
    const other = ctx.cluster.nodes.find((n) => n !== node);
    if (other === undefined) throw new Error('needs two nodes');
    for (let round = 0; round === 0 || ctx.timeLeft; round++) {
      ctx.rec.fault({ kind: 'link down', node: `${node.id}-${other.id}` });
      await ctx.net.cut(node.id, other.id);
      await ctx.sleep(400);
      await ctx.net.mend(node.id, other.id);
      ctx.rec.fault({ kind: 'link up', node: `${node.id}-${other.id}` });
      await ctx.sleep(400);
    }
  },
};
