/**
 * The fault network of a chaos cluster: every directed peer link `a → b` goes through its
 * own Toxiproxy proxy `a-to-b` (the docker-compose naming), driven through
 * `toxiproxy-node-client`. It talks to the server at `TOXIPROXY_URL` when set (a real
 * Toxiproxy), else to the built-in server (`chaos/toxiproxy/`), started here.
 *
 * Only the dialing side of a pair (the smaller id, docs/transport.md) uses its proxy, but
 * both are made so a partition cuts a pair whichever side dials.
 */
import { Toxiproxy, type Proxy } from 'toxiproxy-node-client';
import { ToxiproxyServer } from '../toxiproxy/server.js';
import type { ClusterNode } from './local-cluster.js';

export type LinkToxic =
  | { readonly type: 'latency'; readonly latency: number; readonly jitter: number }
  | { readonly type: 'reset_peer'; readonly timeout: number }
  | { readonly type: 'timeout'; readonly timeout: number }
  | { readonly type: 'bandwidth'; readonly rate: number }
  | { readonly type: 'slicer'; readonly average_size: number; readonly size_variation: number; readonly delay: number };

export class ChaosNet {
  private readonly proxies = new Map<string, Proxy>();
  private toxicSeq = 0;

  private constructor(
    private readonly api: Toxiproxy,
    private readonly builtin: ToxiproxyServer | null,
    /** Listen host of new proxies (the real Toxiproxy may need 0.0.0.0 / a container address). */
    private readonly listenHost: string,
  ) {}

  /** Connects to `TOXIPROXY_URL`, or starts the built-in server when it is unset. */
  static async open(env: Readonly<Record<string, string | undefined>> = process.env): Promise<ChaosNet> {
    const url = env['TOXIPROXY_URL'];
    if (url !== undefined && url !== '') return new ChaosNet(new Toxiproxy(url.replace(/\/$/, '')), null, env['TOXIPROXY_LISTEN_HOST'] ?? '127.0.0.1');
    const server = await ToxiproxyServer.start({ port: 0 });
    return new ChaosNet(new Toxiproxy(server.url), server, '127.0.0.1');
  }

  get serverKind(): string {
    return this.builtin === null ? 'toxiproxy (TOXIPROXY_URL)' : 'built-in toxiproxy-compatible server';
  }

  static linkName(from: string, to: string): string {
    return `${from}-to-${to}`;
  }

  /** Creates one proxy per directed link (run before the nodes start; `LocalCluster`'s `beforeSpawn`). */
  async createLinks(nodes: readonly ClusterNode[], prefix: string): Promise<void> {
    for (const a of nodes) {
      for (const b of nodes) {
        if (a === b) continue;
        const name = `${prefix}${ChaosNet.linkName(a.id, b.id)}`;
        const p = await this.api.createProxy({ name, listen: `${this.listenHost}:0`, upstream: `127.0.0.1:${b.peerPort}` });
        this.proxies.set(ChaosNet.linkName(a.id, b.id), p);
      }
    }
  }

  /** The address `from` dials for `to` (`LocalCluster`'s `peerAddress`). */
  address(from: ClusterNode, to: ClusterNode): string {
    const p = this.proxies.get(ChaosNet.linkName(from.id, to.id));
    if (p === undefined) throw new Error(`no proxy for ${from.id} -> ${to.id}`);
    return p.listen;
  }

  private link(a: string, b: string): Proxy {
    const p = this.proxies.get(ChaosNet.linkName(a, b));
    if (p === undefined) throw new Error(`no proxy for ${a} -> ${b}`);
    return p;
  }

  private async setEnabled(a: string, b: string, enabled: boolean): Promise<void> {
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      const p = this.link(x, y);
      await p.update({ enabled, listen: p.listen, upstream: p.upstream });
    }
  }

  /** Cuts every link between the two sides (both directions). */
  async partition(sideA: readonly string[], sideB: readonly string[]): Promise<void> {
    for (const a of sideA) for (const b of sideB) await this.setEnabled(a, b, false);
  }

  /** Cuts or restores the pair a–b. */
  async cut(a: string, b: string): Promise<void> {
    await this.setEnabled(a, b, false);
  }

  async mend(a: string, b: string): Promise<void> {
    await this.setEnabled(a, b, true);
  }

  /** Adds a toxic on both streams of every link touching one of `nodeIds` (all links when empty); returns its name. */
  async addToxic(toxic: LinkToxic, nodeIds: readonly string[] = []): Promise<string> {
    const name = `chaos-${toxic.type}-${++this.toxicSeq}`;
    const { type, ...attributes } = toxic;
    for (const [link, p] of this.proxies) {
      const [from, to] = link.split('-to-');
      if (nodeIds.length > 0 && !nodeIds.includes(from as string) && !nodeIds.includes(to as string)) continue;
      for (const stream of ['upstream', 'downstream'] as const) {
        await p.addToxic({ name: `${name}-${stream}`, type, stream, toxicity: 1, attributes });
      }
    }
    return name;
  }

  /** Removes every toxic and re-enables every link. */
  async heal(): Promise<void> {
    for (const p of this.proxies.values()) {
      // The client's Proxy drops the toxic list; the API's GET /proxies/{name}/toxics has it.
      const listed = await this.api.getApi().get<{ name: string }[]>(`${p.getPath()}/toxics`);
      for (const t of listed.data) await (await p.getToxic(t.name)).remove();
      const current = await this.api.get(p.name);
      if (!current.enabled) await current.update({ enabled: true, listen: p.listen, upstream: p.upstream });
    }
  }

  /** Deletes this run's proxies and stops the built-in server if it was started here. */
  async close(): Promise<void> {
    for (const p of this.proxies.values()) {
      try {
        await p.remove();
      } catch {
        // already gone (the server may have been stopped)
      }
    }
    this.proxies.clear();
    await this.builtin?.close();
  }
}
