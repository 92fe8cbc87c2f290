/**
 * OS-level faults (root only): nodes in their own network namespaces joined by veth pairs
 * to a bridge; `tc netem` delay and loss, and a leader's link taken down. Skipped with the
 * reason when namespaces cannot be used here.
 */
import { NetnsNet } from '../harness/netns.js';
import type { Scenario } from './context.js';

export const netnsFaults: Scenario = {
  name: 'netns-netem-partition',
  title: 'Network namespaces: netem delay and loss, leader link down, link flapping',
  description:
    "Each node in its own network namespace joined by veth pairs to a bridge. A third of the budget: 100 ± 20 ms delay and 5 % loss on every node (tc netem; where the kernel has no netem, the busiest leader's veth flaps down/up every 300 ms instead); a third: the busiest leader's link down (cut off from peers and clients); a third: 20 % loss on one node (or, without netem, another node's link flapping).",
  crashes: false,
  cutsLeaderOff: true,
  quick: false,
  network: 'netns',
  skip: () => NetnsNet.available(),
  async run(ctx) {
    const netns = ctx.netns;
    if (netns === null) throw new Error('netns scenario without namespaces');
    const third = Math.max(2000, Math.floor(ctx.faultMs / 3));
    const noNetem = netns.netemAvailable();
    const flap = async (id: string, forMs: number): Promise<void> => {
      const until = Date.now() + forMs;
      while (Date.now() < until) {
        netns.setLink(id, false);
        await ctx.sleep(300);
        netns.setLink(id, true);
        await ctx.sleep(300);
      }
    };
    if (noNetem === null) {
      ctx.rec.fault({ kind: 'netem 100±20 ms, 5 % loss, every node' });
      for (const n of ctx.cluster.nodes) netns.netem(n.id, 100, 20, 5);
      await ctx.sleep(third);
    } else {
      const { node } = await ctx.busiestLeader();
      ctx.rec.fault({ kind: `veth flapping every 300 ms (${noNetem})`, node: node.id });
      await flap(node.id, third);
    }
    netns.heal();
    ctx.rec.fault({ kind: 'heal' });
    await ctx.waitReady();
    const { node, groups } = await ctx.busiestLeader();
    ctx.rec.fault({ kind: 'link down', node: node.id, groups });
    netns.setLink(node.id, false);
    await ctx.sleep(third);
    netns.setLink(node.id, true);
    ctx.rec.fault({ kind: 'link up', node: node.id });
    await ctx.waitReady();
    const other = ctx.cluster.nodes.find((n) => n !== node);
    if (other !== undefined) {
      if (noNetem === null) {
        ctx.rec.fault({ kind: 'netem 20 % loss', node: other.id });
        netns.netem(other.id, 0, 0, 20);
        await ctx.sleep(third);
      } else {
        ctx.rec.fault({ kind: 'veth flapping every 300 ms', node: other.id });
        await flap(other.id, third);
      }
    }
    netns.heal();
    ctx.rec.fault({ kind: 'heal' });
  },
};
