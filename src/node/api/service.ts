/**
 * What the client API needs from the node behind it. The API layer (HTTP, WebSocket)
 * validates, shapes answers and maps errors; the service decides, forwards to the shard
 * leader when needed, and reports cluster state.
 */
import type { CheckInput, CheckOutput } from '../../protocol/check.js';

/** A batch of Raft mutations being committed: settles once (null: applied; else the error). */
export interface BatchWait {
  /** Calls `listener` once the batch settles (at once if it already has). */
  onSettled(listener: (err: Error | null) => void): void;
}

/**
 * An allowed `strict` check: `output` is its answer once `batch` is applied, or the
 * batch's error if it fails. `output` is already in wire shape (`toCheckOutput`): the
 * API sends it as it is. Every check of a Raft batch shares one `BatchWait`, so a
 * frame of checks costs a listener per batch, not a promise per check.
 */
export class PendingAnswer {
  constructor(
    readonly batch: BatchWait,
    readonly output: CheckOutput,
  ) {}
}

/** What `check` gives back: the answer now, an answer waiting on its batch, or (forwarded checks) a promise. */
export type CheckAnswer = CheckOutput | PendingAnswer | Promise<CheckOutput>;

/** The answer as a value or a promise (for callers that await, such as the forwarder). */
export function answerValue(a: CheckAnswer): CheckOutput | Promise<CheckOutput> {
  if (!(a instanceof PendingAnswer)) return a;
  return new Promise((resolve, reject) => a.batch.onSettled((err) => (err === null ? resolve(a.output) : reject(err))));
}

export interface CheckService {
  /**
   * Decides one check: the answer itself when it is known at once, a `PendingAnswer`
   * when it waits for its batch to commit, or a promise (forwarded checks). Operating
   * conditions throw (or reject with, or settle the batch with) a RateLimiterError.
   */
  check(input: CheckInput): CheckAnswer;
  /** The period of rule `rule` (for the RateLimit-Policy window), if it has one. */
  ruleWindowMs(rule: string): number | undefined;
  /** Joined and serving: `/readyz`. */
  isReady(): boolean;
  /** `GET /v1/cluster`: nodes, groups, replicas, leaders, indexes, slot map version. */
  clusterView(): unknown;
  /**
   * `GET /v1/cluster/slots`: every slot's group at `version` (the `slotMapVersion` of
   * `/v1/cluster`), which an SDK fetches only when that version changes. Absent: 404.
   */
  slotMap?(): { readonly version: number; readonly slotCount: number; readonly groups: readonly number[] };
  /** `GET /metrics`: Prometheus text. */
  metricsText(): Promise<{ readonly contentType: string; readonly body: string }>;
}
