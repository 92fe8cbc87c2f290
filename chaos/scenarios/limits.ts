/**
 * The limits every chaos cluster runs with, and the same rules as the checker models
 * them. Periods are chosen so keys keep hitting their limits under the workload's rate
 * (GCRA refills one unit per 500 ms) and so sentinels cannot refill within a run.
 */
import type { ModelRule } from '../history/types.js';

export const CHAOS_LIMITS_YAML = `
version: 1
defaults: { algorithm: gcra, limit: 100, period: 1h }
resources:
  chaos_gcra: { algorithm: gcra, limit: 10, period: 5s }
  chaos_fixed: { algorithm: fixed_window, limit: 150, period: 1d }
  chaos_fast: { algorithm: gcra, limit: 10, period: 5s, consistency: fast }
  chaos_sentinel: { algorithm: gcra, limit: 5, period: 1h }
`;

export const MODEL_RULES: Readonly<Record<string, ModelRule>> = {
  chaos_gcra: { algorithm: 'gcra', limit: 10, periodMs: 5_000, consistency: 'strict' },
  chaos_fixed: { algorithm: 'fixed_window', limit: 150, periodMs: 86_400_000, consistency: 'strict' },
  chaos_fast: { algorithm: 'gcra', limit: 10, periodMs: 5_000, consistency: 'fast' },
  chaos_sentinel: { algorithm: 'gcra', limit: 5, periodMs: 3_600_000, consistency: 'strict' },
};

export const SENTINEL_RESOURCE = 'chaos_sentinel';
/** Resources the workload drives during a run (sentinels are only set up and probed). */
export const LOAD_RESOURCES: readonly { resource: string; keysPerGroup: number }[] = [
  { resource: 'chaos_gcra', keysPerGroup: 2 },
  { resource: 'chaos_fixed', keysPerGroup: 1 },
  { resource: 'chaos_fast', keysPerGroup: 1 },
];
