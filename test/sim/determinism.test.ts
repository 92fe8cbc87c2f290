// Proves a schedule is a pure function of its seed: two runs give the same trace and result, and the replay CLI prints identical output twice.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runSimulation } from '../../chaos/sim/run.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('determinism', () => {
  it('the same seed gives the same trace and counters, other seeds differ', () => {
    const a = runSimulation({ seed: 77, nodeCount: 5, steps: 1500, trace: true });
    const b = runSimulation({ seed: 77, nodeCount: 5, steps: 1500, trace: true });
    const c = runSimulation({ seed: 78, nodeCount: 5, steps: 1500, trace: true });
    expect(a.trace.length).toBeGreaterThan(1500);
    expect(b.trace).toEqual(a.trace);
    expect({ ...b, trace: [] }).toEqual({ ...a, trace: [] });
    expect(c.trace).not.toEqual(a.trace);
  });

  it('tracing does not change what happens', () => {
    const quiet = runSimulation({ seed: 5, nodeCount: 3, steps: 2000 });
    const traced = runSimulation({ seed: 5, nodeCount: 3, steps: 2000, trace: true });
    expect({ ...traced, trace: [] }).toEqual({ ...quiet, trace: [] });
  });

  it('npm run sim prints the same trace twice, one line per event, ending with the result', () => {
    const run = (): string =>
      execFileSync(process.execPath, ['--import', 'tsx', 'chaos/sim/cli.ts', '--seed', '9', '--nodes', '3', '--steps', '400'], {
        cwd: ROOT,
        encoding: 'utf8',
      });
    const first = run();
    expect(run()).toBe(first);
    const lines = first.trim().split('\n');
    expect(lines[0]).toMatch(/^t= +0\.000 profile seed=9 nodes=3/);
    expect(lines.some((l) => /^t= +\d+\.\d{3} n\d->n\d /.test(l))).toBe(true);
    expect(first).toMatch(/\nresult: OK\n/);
  });
});
