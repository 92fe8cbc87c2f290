// Replays one simulation schedule and prints its event trace: `npm run sim -- --seed N [--nodes 3|5] [--steps K]`.
import { parseCliArgs, summarize } from './cli-args.js';
import { DEFAULT_FEATURES, describeProfile, runSimulation } from './run.js';
import { makeProfile } from './schedule.js';

function main(): void {
  const args = parseCliArgs(process.argv.slice(2));
  const result = runSimulation({
    seed: args.seed,
    nodeCount: args.nodeCount,
    steps: args.steps,
    trace: !args.quiet,
    features: { ...DEFAULT_FEATURES, membership: args.membership },
  });
  const out: string[] = [];
  if (args.quiet) out.push(`profile ${describeProfile(makeProfile(args.seed, args.nodeCount))}`);
  else out.push(...result.trace);
  out.push(...summarize(result));
  process.stdout.write(`${out.join('\n')}\n`);
  process.exitCode = result.ok ? 0 : 1;
}

try {
  main();
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
}
