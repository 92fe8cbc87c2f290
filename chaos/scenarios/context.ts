/**
 * What a scenario gets to inject its faults with: the cluster (processes), the fault
 * network (Toxiproxy), the history recorder, its time budget, and helpers that find
 * leaders and record faults with the groups they take a leader from.
 */
import type { ChaosNet } from '../harness/chaos-net.js';
import type { ClusterNode, LocalCluster } from '../harness/local-cluster.js';
import type { NetnsNet } from '../harness/netns.js';
import type { HistoryRecorder } from '../history/recorder.js';

export interface Scenario {
  readonly name: string;
  readonly title: string;
  /** What the fault is and what must hold, one or two sentences (goes in the report). */
  readonly description: string;
  /** True when the scenario kills processes: fast-mode over-admission is then allowed up to the documented bound, so it is reported, not failed. */
  readonly crashes: boolean;
  /**
   * True when the fault can cut a leader off from its quorum without killing it
   * (partitions, resets, flapping links): in `fast` mode the cut-off leader keeps
   * answering until its lease runs out, and what it admitted then never replicates, so
   * fast-mode over-admission is allowed up to that window (reported, not failed), as for
   * a crash. Strict mode must still show zero.
   */
  readonly cutsLeaderOff?: boolean;
  /** Skew the scenario injects between node clocks; the checker widens each check's interval by it. */
  readonly clockUncertaintyMs?: number;
  /** Part of the short run inside `npm test`. */
  readonly quick: boolean;
  /** Returns a reason to skip (e.g. not root), or null to run. */
  readonly skip?: () => string | null;
  /** True for faults injected through the proxies: their results need the links to go through them (checked at the end of the run). */
  readonly proxyFaults?: boolean;
  /** `netns`: each node in its own network namespace (root only; `ctx.netns`), links not proxied. Default: Toxiproxy. */
  readonly network?: 'toxiproxy' | 'netns';
  run(ctx: ScenarioContext): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ScenarioContext {
  private readonly deadlineMs: number;

  constructor(
    readonly cluster: LocalCluster,
    readonly net: ChaosNet,
    readonly rec: HistoryRecorder,
    /** Time budget of the fault phase; loops stop starting new rounds after it. */
    readonly faultMs: number,
    /** The longest randomized election timeout (2 × ticks × tick ms). */
    readonly electionTimeoutMsMax: number,
    /** The namespaces of a `network: 'netns'` scenario, else null. */
    readonly netns: NetnsNet | null = null,
  ) {
    this.deadlineMs = Date.now() + faultMs;
  }

  sleep(ms: number): Promise<void> {
    return sleep(ms);
  }

  /** True while the fault budget lasts (loops check it before each round). */
  get timeLeft(): boolean {
    return Date.now() < this.deadlineMs;
  }

  node(id: string): ClusterNode {
    const n = this.cluster.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Shard groups each node leads, as the first live, unpaused node that answers sees them. */
  async leaders(): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>(this.cluster.nodes.map((n) => [n.id, []]));
    for (const n of this.cluster.nodes) {
      if (n.process === null || n.paused) continue;
      try {
        const view = await this.cluster.clusterView(n);
        for (const g of view.groups) if (g.leader !== null) out.get(g.leader)?.push(g.id);
        return out;
      } catch {
        // try the next node
      }
    }
    return out;
  }

  /** The live node leading the most groups (ties: the first id), with its groups, excluding `exclude`. */
  async busiestLeader(exclude: readonly string[] = []): Promise<{ node: ClusterNode; groups: number[] }> {
    const leaders = await this.leaders();
    let best: { node: ClusterNode; groups: number[] } | null = null;
    for (const n of this.cluster.nodes) {
      if (n.process === null || exclude.includes(n.id)) continue;
      const groups = leaders.get(n.id) ?? [];
      if (best === null || groups.length > best.groups.length) best = { node: n, groups };
    }
    if (best === null) throw new Error('no live node');
    return best;
  }

  /** The live node leading the fewest groups, with its groups. */
  async idlestLeader(): Promise<{ node: ClusterNode; groups: number[] }> {
    const leaders = await this.leaders();
    let best: { node: ClusterNode; groups: number[] } | null = null;
    for (const n of this.cluster.nodes) {
      if (n.process === null) continue;
      const groups = leaders.get(n.id) ?? [];
      if (best === null || groups.length < best.groups.length) best = { node: n, groups };
    }
    if (best === null) throw new Error('no live node');
    return best;
  }

  /** `<peer>:<connected|down>` for every peer, as `n` sees its links (/v1/stats); empty when it does not answer. */
  async peerLinks(n: ClusterNode): Promise<string[]> {
    try {
      const r = await fetch(this.cluster.url(n, '/v1/stats'), { signal: AbortSignal.timeout(1000) });
      const body = (await r.json()) as { nodes?: { id: string; link: string }[] };
      return (body.nodes ?? []).filter((p) => p.id !== n.id).map((p) => `${p.id}:${p.link}`);
    } catch {
      return [];
    }
  }

  /** Waits until every live node is ready and every group has a leader (bounded). */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    await this.cluster.waitReady(timeoutMs);
  }
}
