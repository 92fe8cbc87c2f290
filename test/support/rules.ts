import type { AlgorithmName, CompiledRule } from '../../src/engine/types.js';

/** A compiled rule for tests, with the same defaults the configuration compiler applies. */
export function ruleOf(fields: Partial<CompiledRule> & { algorithm: AlgorithmName; limit: number }): CompiledRule {
  const periodMs = fields.algorithm === 'concurrency' ? 0 : (fields.periodMs ?? 1000);
  const burst = fields.algorithm === 'gcra' ? (fields.burst ?? fields.limit) : fields.limit;
  const stateShape =
    fields.algorithm === 'gcra' || fields.algorithm === 'concurrency' ? fields.algorithm : `${fields.algorithm}:${periodMs}`;
  return Object.freeze({
    id: 'test',
    shadow: false,
    consistency: 'strict' as const,
    blocked: false,
    unlimited: false,
    leaseMs: fields.algorithm === 'concurrency' ? 30_000 : 0,
    ...fields,
    periodMs,
    burst,
    stateShape,
  });
}
