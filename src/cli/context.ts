/** What every rlctl command gets: where to go, with which token, how to print. */
import type { Endpoint } from './client.js';
import type { CliIo } from './io.js';

export interface CommandContext {
  readonly endpoint: Endpoint;
  /** Admin token (--token / RL_ADMIN_TOKEN). */
  readonly token: string | undefined;
  readonly json: boolean;
  readonly io: CliIo;
}

export const TOKEN_HINT = 'pass --token or set RL_ADMIN_TOKEN (npm start prints it)';

/** Prints `value` as JSON (--json) or `human` text. */
export function emit(ctx: CommandContext, value: unknown, human: string): void {
  ctx.io.out(ctx.json ? `${JSON.stringify(value, null, 2)}\n` : human.endsWith('\n') ? human : `${human}\n`);
}
