/**
 * The client side of a chaos run: workers that send checks over HTTP to random live nodes
 * (as any-language clients would; a node forwards to the key's leader), each recorded in
 * the history with its invoke and completion time. No retries: every attempt is its own
 * operation, and a failed or timed-out one is uncertain (it may have been admitted).
 */
import { slotOf } from '../../src/protocol/slot.js';
import type { ClusterNode, LocalCluster } from '../harness/local-cluster.js';
import type { HistoryRecorder } from '../history/recorder.js';
import type { HistoryOp, OpResult } from '../history/types.js';

export interface KeySpec {
  readonly key: string;
  readonly resource: string;
}

export interface WorkloadOptions {
  readonly workers: number;
  /** Per-check deadline; a check not answered by then is a `timeout`. */
  readonly timeoutMs: number;
  /** Pause between a worker's checks (bounds the offered rate: workers / pause). */
  readonly pauseMs: number;
  readonly groups: number;
}

export function groupOfKey(key: string, groups: number): number {
  return (slotOf(key) % groups) + 1;
}

/**
 * `perGroup` keys of `resource` for each of `groups` groups, named `<prefix>:<resource>:<n>`,
 * so every group carries load (bounded search: slots spread keys evenly).
 */
export function keysForGroups(prefix: string, resource: string, groups: number, perGroup: number): KeySpec[] {
  const out: KeySpec[] = [];
  const count = new Map<number, number>();
  for (let i = 0; out.length < groups * perGroup && i < 100_000; i++) {
    const key = `${prefix}:${resource}:${i}`;
    const g = groupOfKey(key, groups);
    if ((count.get(g) ?? 0) >= perGroup) continue;
    count.set(g, (count.get(g) ?? 0) + 1);
    out.push({ key, resource });
  }
  return out;
}

/**
 * Sends one check and records it. With `idempotencyId`, a retry of an uncertain check is
 * answered with the first answer and never counted twice (setup and probes use it).
 */
export async function recordedCheck(cluster: LocalCluster, rec: HistoryRecorder, node: ClusterNode, spec: KeySpec, groups: number, timeoutMs: number, idempotencyId?: string): Promise<HistoryOp> {
  const invokeMs = rec.nowMs();
  let result: OpResult;
  let code: string | undefined;
  try {
    const r = await fetch(cluster.url(node, '/v1/check'), {
      method: 'POST',
      body: JSON.stringify({ key: spec.key, resource: spec.resource, cost: 1, ...(idempotencyId === undefined ? {} : { idempotencyId }) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await r.json()) as { allowed?: unknown; error?: { code?: unknown } };
    if (r.status === 200 && typeof body.allowed === 'boolean') {
      result = body.allowed ? 'allowed' : 'denied';
    } else {
      result = 'error';
      code = typeof body.error?.code === 'string' ? body.error.code : `HTTP_${r.status}`;
    }
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    if (name === 'TimeoutError' || name === 'AbortError') {
      result = 'timeout';
      code = 'TIMEOUT';
    } else {
      result = 'error';
      code = 'NETWORK';
    }
  }
  return rec.op({ key: spec.key, resource: spec.resource, cost: 1, group: groupOfKey(spec.key, groups), node: node.id, invokeMs, result, ...(code === undefined ? {} : { code }) });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Workload {
  private running = false;
  private workers: Promise<void>[] = [];

  constructor(
    private readonly cluster: LocalCluster,
    private readonly rec: HistoryRecorder,
    private readonly keys: readonly KeySpec[],
    private readonly options: WorkloadOptions,
  ) {
    if (keys.length === 0) throw new RangeError('Workload needs at least one key');
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.workers = Array.from({ length: this.options.workers }, (_, i) => this.worker(i));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
    this.workers = [];
  }

  private async worker(seed: number): Promise<void> {
    let i = seed;
    while (this.running) {
      const live = this.cluster.nodes.filter((n) => n.process !== null);
      const node = live[Math.floor(Math.random() * live.length)];
      const spec = this.keys[i++ % this.keys.length] as KeySpec;
      if (node === undefined) {
        await sleep(this.options.pauseMs);
        continue;
      }
      await recordedCheck(this.cluster, this.rec, node, spec, this.options.groups, this.options.timeoutMs);
      await sleep(this.options.pauseMs);
    }
  }
}
