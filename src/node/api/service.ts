/**
 * What the client API needs from the node behind it. The API layer (HTTP, WebSocket)
 * validates, shapes answers and maps errors; the service decides, forwards to the shard
 * leader when needed, and reports cluster state.
 */
import type { CheckInput, CheckOutput } from '../../protocol/check.js';

export interface CheckService {
  /**
   * Decides one check: the answer itself when it is known at once, else a promise of it.
   * Operating conditions throw (or reject with) a RateLimiterError.
   */
  check(input: CheckInput): CheckOutput | Promise<CheckOutput>;
  /** The period of rule `rule` (for the RateLimit-Policy window), if it has one. */
  ruleWindowMs(rule: string): number | undefined;
  /** Joined and serving: `/readyz`. */
  isReady(): boolean;
  /** `GET /v1/cluster`: nodes, groups, replicas, leaders, indexes, slot map version. */
  clusterView(): unknown;
  /** `GET /metrics`: Prometheus text. */
  metricsText(): Promise<{ readonly contentType: string; readonly body: string }>;
}
