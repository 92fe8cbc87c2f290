/** `rlctl group split`: split a shard group's slots into a new group (docs/scale.md, "Group split"). */
import { CliError, EXIT_FAILURE, EXIT_OK } from './cli-error.js';
import { expectOk, request } from './client.js';
import { TOKEN_HINT, emit, type CommandContext } from './context.js';

/** Admin writes wait for group 0 to commit and apply: well under a second, 15 s leaves room for an election. */
const WRITE_TIMEOUT_MS = 15_000;
/** `--wait` gives up after this long: a split seeds the new group through Raft, seconds for millions of keys. */
const SPLIT_WAIT_MS = 120_000;

interface SplitAnswer {
  readonly split: { readonly id: number; readonly source: number; readonly target: number; readonly slots: readonly number[] };
}

/** The split in progress as `/v1/cluster` shows it, and whether `target` is a group. */
async function splitState(ctx: CommandContext, target: number): Promise<{ split: { id: number; phase: string } | null; hasTarget: boolean }> {
  const a = await request(ctx.endpoint, '/v1/cluster', { token: ctx.token });
  const v = expectOk(ctx.endpoint, a, TOKEN_HINT) as { split?: { id: number; phase: string } | null; groups?: { id: number }[] };
  return { split: v.split ?? null, hasTarget: (v.groups ?? []).some((g) => g.id === target) };
}

export async function groupSplit(ctx: CommandContext, groupId: number, wait: boolean): Promise<number> {
  const a = await request(ctx.endpoint, `/v1/admin/groups/${groupId}/split`, { method: 'POST', token: ctx.token, timeoutMs: WRITE_TIMEOUT_MS });
  const { split } = expectOk(ctx.endpoint, a, TOKEN_HINT) as SplitAnswer;
  const begun = `group ${groupId}: split ${split.id} begun: ${split.slots.length} slots move to new group ${split.target}`;
  if (!wait) {
    emit(ctx, { split, state: 'begun' }, `${begun} (watch 'rlctl status')`);
    return EXIT_OK;
  }
  const deadline = Date.now() + SPLIT_WAIT_MS;
  for (;;) {
    const s = await splitState(ctx, split.target);
    if (s.split?.id !== split.id) {
      if (!s.hasTarget) throw new CliError(EXIT_FAILURE, `group ${groupId}: split ${split.id} was rolled back (see the nodes' logs, component split)`, { code: 'RLCTL_SPLIT', splitId: split.id });
      emit(ctx, { split, state: 'done' }, `${begun}; done: group ${split.target} serves them`);
      return EXIT_OK;
    }
    if (Date.now() > deadline) throw new CliError(EXIT_FAILURE, `group ${groupId}: split ${split.id} still ${s.split.phase} after ${SPLIT_WAIT_MS} ms`, { code: 'RLCTL_SPLIT', splitId: split.id });
    await new Promise((r) => setTimeout(r, 250));
  }
}
