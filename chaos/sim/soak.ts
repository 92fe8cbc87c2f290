// Runs random seeds until the time budget is spent: `npm run sim:soak -- --minutes M [--nodes 3|5|both] [--steps K]`.
import { createHash, randomInt } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_STEPS, runSimulation } from './run.js';

/**
 * The only place the simulator touches the wall clock and a real random source: to stop
 * when the budget is spent and to pick fresh seeds. Each schedule itself is deterministic
 * and replays from the printed command.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A hash of the simulator's and the core's sources as loaded: a replay matches the soak
 * only while this is unchanged (the soak writes each failing trace to a file for that).
 */
function sourceFingerprint(): string {
  const h = createHash('sha256');
  for (const dir of ['raft', 'chaos/sim']) {
    for (const name of readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.ts')).sort()) {
      h.update(name);
      h.update(readFileSync(join(ROOT, dir, name)));
    }
  }
  return h.digest('hex').slice(0, 12);
}

function main(): void {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      minutes: { type: 'string', default: '1' },
      nodes: { type: 'string', default: 'both' },
      steps: { type: 'string', default: String(DEFAULT_STEPS) },
      'stop-on-failure': { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const minutes = Number(values.minutes);
  const steps = Number(values.steps);
  if (!(minutes > 0)) throw new RangeError(`'--minutes' must be positive (got ${values.minutes})`);
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`'--steps' must be a positive integer (got ${values.steps})`);
  const sizes = values.nodes === 'both' ? [3, 5] : [Number(values.nodes)];
  if (!sizes.every((s) => s === 3 || s === 5)) throw new RangeError(`'--nodes' must be 3, 5 or both (got ${values.nodes})`);
  const fingerprint = sourceFingerprint();
  process.stdout.write(`soak: sources ${fingerprint}, ${minutes} min, nodes ${sizes.join('/')}, ${steps} steps per schedule\n`);
  const deadline = Date.now() + minutes * 60_000;
  const started = Date.now();
  let runs = 0;
  let nextReport = Date.now() + 60_000;
  const failures: string[] = [];
  while (Date.now() < deadline) {
    const seed = randomInt(0, 2 ** 31);
    const nodeCount = sizes[runs % sizes.length] ?? 3;
    const r = runSimulation({ seed, nodeCount, steps });
    runs++;
    if (!r.ok) {
      // The code on disk may change while a soak runs: keep this run's own trace.
      const traced = runSimulation({ seed, nodeCount, steps, trace: true, traceLinesMax: 2000 });
      const file = join(tmpdir(), `sim-soak-${fingerprint}-${seed}-${nodeCount}.trace.txt`);
      writeFileSync(file, `${traced.trace.join('\n')}\n`);
      const line = `FAIL seed=${seed} nodes=${nodeCount} ${r.failure?.kind}: ${r.failure?.message}\n  replay: ${r.replay} (sources ${fingerprint})\n  trace: ${file}`;
      failures.push(line);
      process.stdout.write(`${line}\n`);
      if (values['stop-on-failure']) break;
    }
    if (Date.now() >= nextReport) {
      nextReport += 60_000;
      process.stdout.write(`... ${runs} schedules, ${failures.length} failing, ${((Date.now() - started) / 60_000).toFixed(1)} min\n`);
    }
  }
  const mins = ((Date.now() - started) / 60_000).toFixed(1);
  process.stdout.write(`soak: ${runs} schedules of ${steps} steps in ${mins} min, ${failures.length} failing\n`);
  process.exitCode = failures.length === 0 ? 0 : 1;
}

main();
