/** `rlctl node list|add|drain|remove`: cluster membership (docs/scale.md). */
import { EXIT_OK } from './cli-error.js';
import { expectOk, request } from './client.js';
import { TOKEN_HINT, emit, type CommandContext } from './context.js';
import { table } from './table.js';

interface NodeRow {
  readonly id: string;
  readonly peerAddress: string;
  readonly apiAddress: string | null;
  readonly state: string;
  readonly metaVoter: boolean;
  readonly replicas: number;
  readonly preferredLeader: number;
  readonly holds: readonly number[];
}

interface NodesAnswer {
  readonly mapVersion: number;
  readonly nodes: readonly NodeRow[];
  readonly moves: readonly { groupId: number; adding: readonly string[]; removing: readonly string[] }[];
}

/** Admin writes wait for group 0 to commit and apply: well under a second, 15 s leaves room for an election. */
const WRITE_TIMEOUT_MS = 15_000;

export async function nodeList(ctx: CommandContext): Promise<number> {
  const a = await request(ctx.endpoint, '/v1/admin/nodes', { token: ctx.token });
  const r = expectOk(ctx.endpoint, a, TOKEN_HINT) as NodesAnswer;
  const human =
    table(
      ['NODE', 'STATE', 'PEER', 'API', 'META', 'REPLICAS', 'PREFERRED'],
      r.nodes.map((n) => [n.id, n.state, n.peerAddress, n.apiAddress ?? '-', n.metaVoter ? 'voter' : 'learner', String(n.replicas), String(n.preferredLeader)]),
    ) + (r.moves.length === 0 ? 'no moves in progress\n' : r.moves.map((m) => `group ${m.groupId}: adding ${m.adding.join(',') || '-'}, removing ${m.removing.join(',') || '-'}`).join('\n') + '\n');
  emit(ctx, r, human);
  return EXIT_OK;
}

export async function nodeAdd(ctx: CommandContext, id: string, apiAddress: string | undefined, peerAddress: string): Promise<number> {
  const a = await request(ctx.endpoint, '/v1/admin/nodes', {
    method: 'POST',
    body: JSON.stringify({ id, peerAddress, apiAddress: apiAddress ?? null }),
    headers: { 'content-type': 'application/json' },
    token: ctx.token,
    timeoutMs: WRITE_TIMEOUT_MS,
  });
  const r = expectOk(ctx.endpoint, a, TOKEN_HINT) as { nodes: readonly { id: string }[]; mapVersion: number };
  emit(ctx, r, `node ${id} is a member (map version ${r.mapVersion}); start it with --join ${ctx.endpoint.name}, and the planner moves replicas onto it`);
  return EXIT_OK;
}

export async function nodeDrain(ctx: CommandContext, id: string, undo: boolean): Promise<number> {
  const a = await request(ctx.endpoint, `/v1/admin/nodes/${encodeURIComponent(id)}/drain`, {
    method: 'POST',
    body: JSON.stringify({ draining: !undo }),
    headers: { 'content-type': 'application/json' },
    token: ctx.token,
    timeoutMs: WRITE_TIMEOUT_MS,
  });
  const r = expectOk(ctx.endpoint, a, TOKEN_HINT) as { nodeId: string; draining: boolean; mapVersion: number };
  emit(ctx, r, undo ? `node ${id} is active again` : `node ${id} is draining: its replicas and leaders move off (watch 'rlctl node list'), then 'rlctl node remove ${id}'`);
  return EXIT_OK;
}

export async function nodeRemove(ctx: CommandContext, id: string): Promise<number> {
  const a = await request(ctx.endpoint, `/v1/admin/nodes/${encodeURIComponent(id)}`, { method: 'DELETE', token: ctx.token, timeoutMs: WRITE_TIMEOUT_MS });
  const r = expectOk(ctx.endpoint, a, TOKEN_HINT) as { nodeId: string; mapVersion: number };
  emit(ctx, r, `node ${id} removed from the cluster (map version ${r.mapVersion}); its process can be stopped`);
  return EXIT_OK;
}
