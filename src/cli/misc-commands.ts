/** `rlctl leader transfer` and `rlctl check`. */
import { CliError, EXIT_FAILURE, EXIT_OK } from './cli-error.js';
import { expectOk, request } from './client.js';
import { TOKEN_HINT, emit, type CommandContext } from './context.js';
import { fetchView } from './status.js';

/** How long `leader transfer` waits to see the new leader: a transfer takes about one election round. */
const TRANSFER_WAIT_MS = 5000;

export async function leaderTransfer(ctx: CommandContext, groupId: number, to: string): Promise<number> {
  const a = await request(ctx.endpoint, '/v1/admin/leader-transfer', {
    method: 'POST',
    body: JSON.stringify({ group: groupId, node: to }),
    headers: { 'content-type': 'application/json' },
    token: ctx.token,
  });
  const started = expectOk(ctx.endpoint, a, TOKEN_HINT) as { from: string; status: string };
  const deadline = Date.now() + TRANSFER_WAIT_MS;
  let leader: string | null = null;
  for (;;) {
    const v = await fetchView(ctx);
    leader = groupId === 0 ? (v.meta?.leader ?? null) : (v.groups.find((g) => g.id === groupId)?.leader ?? null);
    if (leader === to || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (leader !== to) {
    throw new CliError(EXIT_FAILURE, `group ${groupId}: transfer to ${to} did not complete within ${TRANSFER_WAIT_MS} ms (leader is ${leader ?? 'none'})`, { code: 'RLCTL_TRANSFER', groupId, leader });
  }
  emit(ctx, { group: groupId, from: started.from, to, leader }, `group ${groupId}: leader ${started.from} -> ${to}`);
  return EXIT_OK;
}

export interface CheckArgs {
  readonly key: string;
  readonly resource: string | undefined;
  readonly cost: number | undefined;
  readonly tier: string | undefined;
  /** Client token for check endpoints (--client-token / RL_CLIENT_TOKEN). */
  readonly clientToken: string | undefined;
}

export async function checkCommand(ctx: CommandContext, args: CheckArgs): Promise<number> {
  const body = { key: args.key, ...(args.resource === undefined ? {} : { resource: args.resource }), ...(args.cost === undefined ? {} : { cost: args.cost }), ...(args.tier === undefined ? {} : { tier: args.tier }) };
  const a = await request(ctx.endpoint, '/v1/check', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, token: args.clientToken });
  const r = expectOk(ctx.endpoint, a, 'pass --client-token or set RL_CLIENT_TOKEN') as { allowed: boolean; limit: number; remaining: number; resetMs: number; retryAfterMs: number; rule: string };
  const verdict = r.allowed ? 'allowed' : 'denied';
  const retry = r.allowed ? '' : r.retryAfterMs < 0 ? '  retry never' : `  retry after ${r.retryAfterMs}ms`;
  emit(ctx, r, `${verdict}  limit ${r.limit}  remaining ${r.remaining}  reset ${r.resetMs}ms${retry}  rule ${r.rule}`);
  return EXIT_OK;
}
