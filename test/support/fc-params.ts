import type { Parameters } from 'fast-check';

/**
 * fast-check parameters for every property test. On failure fast-check prints the seed
 * and the shrink path; replay one with `FC_SEED=<seed> [FC_PATH=<path>] npx vitest run ...`.
 * `FC_RUNS` scales the number of runs (default per test).
 */
export function fcParams<T>(defaultRuns: number): Parameters<T> {
  const seed = process.env['FC_SEED'];
  const path = process.env['FC_PATH'];
  const runs = process.env['FC_RUNS'];
  const params: Parameters<T> = { numRuns: runs === undefined ? defaultRuns : Number(runs) };
  if (seed !== undefined) params.seed = Number(seed);
  if (path !== undefined) params.path = path;
  return params;
}
