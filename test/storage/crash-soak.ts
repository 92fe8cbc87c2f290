/**
 * `npm run test:crash [-- --iterations N] [-- --seed S] [-- --groups G]`: the crash test of
 * crash.test.ts, longer (500 SIGKILLs by default). Prints one line per iteration and a
 * summary; exits 1 with the seed and iteration on the first violation.
 */
import { runCrashIterations } from './crash-harness.js';

function arg(name: string, fallback: number): number {
  const k = process.argv.indexOf(`--${name}`);
  const v = k >= 0 ? Number(process.argv[k + 1]) : fallback;
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`--${name} must be a positive integer (got ${String(process.argv[k + 1])})`);
  return v;
}

const iterations = arg('iterations', 500);
const seed = arg('seed', Math.floor(Date.now() % 1_000_000_007));
const groups = arg('groups', 8);
console.log(`crash soak: ${iterations} iterations, seed ${seed}, ${groups} groups`);
try {
  const s = await runCrashIterations({ iterations, seed, groups, loadMsMax: 600, log: (line) => console.log(line) });
  console.log(
    `ok: ${s.iterations} kills (${s.killedDuringStartup} during startup), ${s.acks} acknowledged writes, ${s.verified} group states verified, child startup median ${s.startupMsMedian.toFixed(0)} ms, ${(s.elapsedMs / 1000).toFixed(1)} s`,
  );
} catch (err) {
  console.error(`FAILED (replay with --seed ${seed} --groups ${groups}): ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
