/**
 * `rlctl adaptive status|freeze|unfreeze` (docs/adaptive.md): the adaptive factor of each
 * resource with the reason and signals behind it, and an operator's pin on a factor.
 */
import { EXIT_OK } from './cli-error.js';
import { expectOk, request } from './client.js';
import { TOKEN_HINT, emit, type CommandContext } from './context.js';
import { table } from './table.js';

/** A freeze is one meta write: bounded well above a quorum commit and the local apply. */
const WRITE_TIMEOUT_MS = 15_000;

interface ResourceView {
  readonly resource: string;
  readonly minFactor: number;
  readonly maxFactor: number;
  readonly target: Readonly<Record<string, number>>;
  readonly intervalMs: number;
  readonly factor: number;
  readonly frozen: boolean;
  readonly reason: string | null;
  readonly index: number;
}

interface AdaptiveView {
  readonly configVersion: number;
  readonly metaLeader: string | null;
  readonly resources: readonly ResourceView[];
}

function targetText(t: Readonly<Record<string, number>>): string {
  if (t['latencyP99Ms'] !== undefined) return `p99 ${t['latencyP99Ms']}ms`;
  if (t['errorRate'] !== undefined) return `errors ${+(t['errorRate'] * 100).toPrecision(6)}%`;
  return '?';
}

export async function adaptiveStatus(ctx: CommandContext): Promise<number> {
  const a = await request(ctx.endpoint, '/v1/adaptive', { token: ctx.token });
  const v = expectOk(ctx.endpoint, a, TOKEN_HINT) as AdaptiveView;
  if (v.resources.length === 0) {
    emit(ctx, v, `no adaptive resources in configuration version ${v.configVersion}`);
    return EXIT_OK;
  }
  const rows = v.resources.map((r) => [
    r.resource,
    String(r.factor),
    `[${r.minFactor}, ${r.maxFactor}]`,
    targetText(r.target),
    `${r.intervalMs}ms`,
    r.frozen ? 'frozen' : '',
    String(r.index),
    r.reason ?? '-',
  ]);
  emit(ctx, v, `${table(['RESOURCE', 'FACTOR', 'BOUNDS', 'TARGET', 'INTERVAL', 'FROZEN', 'INDEX', 'REASON'], rows)}(configuration version ${v.configVersion}, controller on ${v.metaLeader ?? 'no meta leader'})`);
  return EXIT_OK;
}

export async function adaptiveFreeze(ctx: CommandContext, resource: string, frozen: boolean): Promise<number> {
  const a = await request(ctx.endpoint, `/v1/adaptive/${encodeURIComponent(resource)}/freeze`, {
    method: 'POST',
    body: JSON.stringify({ frozen }),
    headers: { 'content-type': 'application/json' },
    token: ctx.token,
    timeoutMs: WRITE_TIMEOUT_MS,
  });
  const r = expectOk(ctx.endpoint, a, TOKEN_HINT) as { resource: string; factor: number; frozen: boolean; index: number };
  emit(ctx, r, `${r.resource}: factor ${r.factor} ${r.frozen ? 'frozen' : 'released to the controller'} (meta index ${r.index})`);
  return EXIT_OK;
}
