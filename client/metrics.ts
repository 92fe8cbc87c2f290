/**
 * The SDK's Prometheus metrics, created only when the caller passes a prom-client
 * `Registry`; without one every method is a no-op. Labels are bounded sets (decision,
 * source, error code), never a key or a resource name.
 */
import { Counter, Histogram, type Registry } from 'prom-client';

export interface ClientMetrics {
  answered(decision: 'allowed' | 'denied', source: string, latencySeconds: number): void;
  retried(code: string): void;
  degraded(policy: string): void;
  cacheHit(): void;
}

const NOOP: ClientMetrics = {
  answered: () => undefined,
  retried: () => undefined,
  degraded: () => undefined,
  cacheHit: () => undefined,
};

/**
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * const metrics = createClientMetrics(new Registry());
 * ```
 */
export function createClientMetrics(registry: Registry | null): ClientMetrics {
  if (registry === null) return NOOP;
  const checks = new Counter({ name: 'rl_client_checks_total', help: 'Checks answered by the SDK, by decision and source', labelNames: ['decision', 'source'], registers: [registry] });
  const latency = new Histogram({
    name: 'rl_client_check_latency_seconds',
    help: 'Time from check() to its answer',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const retries = new Counter({ name: 'rl_client_retries_total', help: 'Check attempts sent again, by the error code that caused it', labelNames: ['code'], registers: [registry] });
  const degraded = new Counter({ name: 'rl_client_degraded_total', help: 'Answers made by a degradation policy', labelNames: ['policy'], registers: [registry] });
  const hits = new Counter({ name: 'rl_client_deny_cache_hits_total', help: 'Checks answered by the local deny cache', registers: [registry] });
  return {
    answered: (decision, source, s) => {
      checks.inc({ decision, source });
      latency.observe(s);
    },
    retried: (code) => retries.inc({ code }),
    degraded: (policy) => degraded.inc({ policy }),
    cacheHit: () => hits.inc(),
  };
}
