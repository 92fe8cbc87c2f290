/**
 * `rl-node --join <seed>`: a new node asks a member (any; it forwards to the meta leader)
 * to add it to the cluster map, and learns the members to connect to. Retried while the
 * seed is unreachable or the meta group cannot take the write, within `timeoutMs`.
 */
import type { MetaNode } from '../../../cluster/meta/index.js';

export interface JoinRequest {
  /** API address (host:port) of any member. */
  readonly seed: string;
  readonly token: string;
  readonly node: { readonly id: string; readonly peerAddress: string; readonly apiAddress: string; readonly zone?: string };
  readonly timeoutMs: number;
  /** This node's --groups: the join is refused before anything changes when the cluster runs another count. */
  readonly groups?: number;
}

/** Pause between attempts: the seed may be starting or electing a meta leader (about one election timeout). */
const RETRY_MS = 500;

/**
 * @throws Error with the seed's code and message when it refuses (e.g. RL_ERR_NODE_EXISTS), or when `timeoutMs` passes.
 */
export async function requestJoin(r: JoinRequest): Promise<{ readonly nodes: readonly MetaNode[]; readonly groups: number }> {
  const deadline = Date.now() + r.timeoutMs;
  let last = 'no attempt';
  while (Date.now() < deadline) {
    try {
      // The shard group count first: a node started with another --groups must not enter the map.
      if (r.groups !== undefined) {
        const view = (await (await fetch(`http://${r.seed}/v1/cluster`, { signal: AbortSignal.timeout(5000) })).json()) as { groups?: unknown[] };
        const count = Array.isArray(view.groups) ? view.groups.length : -1;
        if (count !== r.groups) throw new Error(`Cannot join through ${r.seed}: the cluster has ${count} shard groups but this node was started with --groups ${r.groups}`);
      }
      const res = await fetch(`http://${r.seed}/v1/admin/nodes`, {
        method: 'POST',
        headers: { authorization: `Bearer ${r.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(r.node),
        signal: AbortSignal.timeout(Math.max(1000, Math.min(10_000, deadline - Date.now()))),
      });
      const body = (await res.json()) as { nodes?: MetaNode[]; groups?: number; error?: { code: string; message: string } };
      if (res.ok && Array.isArray(body.nodes) && typeof body.groups === 'number') return { nodes: body.nodes, groups: body.groups };
      last = `${body.error?.code ?? res.status}: ${body.error?.message ?? 'unexpected answer'}`;
      // Refusals that a retry cannot fix end the join at once.
      if (res.status >= 400 && res.status < 500) throw new Error(`Cannot join through ${r.seed}: ${last}`);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('Cannot join')) throw err;
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
  throw new Error(`Cannot join through ${r.seed} within ${r.timeoutMs} ms (last: ${last})`);
}
