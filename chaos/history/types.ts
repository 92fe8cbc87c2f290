/**
 * The history of a chaos run: every check (an operation with its invoke and completion
 * time and outcome), every fault injected, and the phases of the run. Times are wall-clock
 * ms of the process that drove the checks (one clock for the whole history).
 */

/** What a check came back with: `allowed`/`denied` are definite; `error` and `timeout` are not. */
export type OpResult = 'allowed' | 'denied' | 'error' | 'timeout';

export interface HistoryOp {
  readonly type: 'op';
  readonly id: number;
  readonly key: string;
  readonly resource: string;
  readonly cost: number;
  /** The shard group of the key (slot mod groups + 1), for failover times. */
  readonly group: number;
  /** The node the check was sent to. */
  readonly node: string;
  readonly phase: string;
  readonly invokeMs: number;
  readonly completeMs: number;
  readonly result: OpResult;
  /** The node's error code (`RL_ERR_*`), or `NETWORK` / `TIMEOUT` for client-side failures. */
  readonly code?: string;
}

export interface HistoryFault {
  readonly type: 'fault';
  readonly atMs: number;
  readonly phase: string;
  /** e.g. `kill`, `partition`, `heal`, `sigstop`, `sigcont`, `latency`, `restart`. */
  readonly kind: string;
  readonly node?: string;
  /**
   * Shard groups whose leader this fault took away (measured for failover time: from
   * `atMs` to the first definite answer of a check to the group invoked after it).
   */
  readonly groups?: readonly number[];
}

export interface HistoryPhase {
  readonly type: 'phase';
  readonly name: string;
  readonly startMs: number;
}

export type HistoryEvent = HistoryOp | HistoryFault | HistoryPhase;

/** A rule as the checker models it (the scenario's limits file, per resource). */
export interface ModelRule {
  readonly algorithm: 'gcra' | 'fixed_window' | 'sliding_window';
  readonly limit: number;
  readonly periodMs: number;
  /** GCRA burst (defaults to `limit`). */
  readonly burst?: number;
  readonly consistency: 'strict' | 'fast';
}
