import { expect, it } from 'vitest';
import { runSimulation } from '../../chaos/sim/run.js';

/** Lines of trace printed for a failing seed (the end of its re-run with tracing on). */
const TRACE_TAIL_LINES = 60;

/**
 * Registers one vitest case per chunk of `chunkSize` seeds in [from, to): each runs every
 * seed's schedule and fails listing, for each failing seed, the invariant it broke, the
 * exact replay command and the tail of its event trace.
 */
export function simulateSeedRange(options: {
  readonly nodeCount: number;
  readonly steps: number;
  readonly from: number;
  readonly to: number;
  readonly chunkSize: number;
}): void {
  const { nodeCount, steps, from, to, chunkSize } = options;
  for (let lo = from; lo < to; lo += chunkSize) {
    const hi = Math.min(to, lo + chunkSize);
    it(`${nodeCount} nodes, seeds ${lo}..${hi - 1}, ${steps} steps each: every invariant holds and the cluster recovers`, () => {
      const failures: string[] = [];
      for (let seed = lo; seed < hi; seed++) {
        const r = runSimulation({ seed, nodeCount, steps });
        if (r.ok) continue;
        const traced = runSimulation({ seed, nodeCount, steps, trace: true, traceLinesMax: TRACE_TAIL_LINES });
        failures.push(
          [
            `seed ${seed}: ${r.failure?.kind}: ${r.failure?.message}`,
            `  replay: ${r.replay}`,
            ...traced.trace.map((l) => `  | ${l}`),
          ].join('\n'),
        );
      }
      expect(failures, failures.join('\n\n')).toEqual([]);
    });
  }
}
