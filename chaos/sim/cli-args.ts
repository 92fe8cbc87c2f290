/** Argument parsing and the result summary of the `npm run sim` replay CLI. */
import { parseArgs } from 'node:util';
import { DEFAULT_STEPS } from './run.js';
import type { RunResult } from './run.js';

export interface CliArgs {
  readonly seed: number;
  readonly nodeCount: number;
  readonly steps: number;
  readonly quiet: boolean;
  readonly membership: boolean;
}

export function parseCliArgs(argv: readonly string[]): CliArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      seed: { type: 'string' },
      nodes: { type: 'string', default: '3' },
      steps: { type: 'string', default: String(DEFAULT_STEPS) },
      quiet: { type: 'boolean', default: false },
      'no-membership': { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.seed === undefined) throw new TypeError("Missing '--seed N' (the schedule to replay)");
  const seed = Number(values.seed);
  const nodeCount = Number(values.nodes);
  const steps = Number(values.steps);
  if (!Number.isInteger(seed)) throw new RangeError(`'--seed' must be an integer (got ${values.seed})`);
  if (nodeCount !== 3 && nodeCount !== 5) throw new RangeError(`'--nodes' must be 3 or 5 (got ${values.nodes})`);
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`'--steps' must be a non-negative integer (got ${values.steps})`);
  return { seed, nodeCount, steps, quiet: values.quiet, membership: !values['no-membership'] };
}

export function summarize(r: RunResult): string[] {
  const out = [
    `result: ${r.ok ? 'OK' : `FAILED ${r.failure?.kind}: ${r.failure?.message}`}`,
    `events: fault phase ${r.faultEvents}, heal phase ${r.healEvents}; virtual time ${r.virtualMs.toFixed(1)}ms`,
    `heal: stable leader after ${r.electedAfterHealMs?.toFixed(1) ?? '-'}ms, recovered after ${r.recoveredAfterHealMs?.toFixed(1) ?? '-'}ms`,
    `proposals: accepted ${r.proposals.accepted}, committed ${r.proposals.committed}, superseded ${r.proposals.superseded}, dropped by core ${r.proposals.dropped}`,
    `workload: ${JSON.stringify(r.workload)}`,
    `faults: ${JSON.stringify(r.faults)}`,
    `network: ${JSON.stringify(r.network)}`,
  ];
  if (!r.ok) out.push(`replay: ${r.replay}`);
  return out;
}

