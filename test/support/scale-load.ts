/**
 * Load for the scale-out tests: strict checks on a fixed set of keys through the running
 * nodes, each retried with its idempotency id on retryable errors (so never counted twice),
 * counting what each key was admitted. Bounded concurrency, stops when told.
 */
import { expect } from 'vitest';
import type { ScaleCluster, ScaleNode } from './scale-cluster.js';

export interface LoadResult {
  readonly answered: number;
  readonly allowedByKey: ReadonlyMap<string, number>;
  /** Answers that were neither a decision nor a retryable error after every retry. */
  readonly failures: readonly unknown[];
}

export async function runLoad(
  cluster: ScaleCluster,
  live: () => readonly ScaleNode[],
  stop: { readonly now: boolean },
  o: { readonly keys: number; readonly resource: string; readonly concurrency: number },
): Promise<LoadResult> {
  const allowedByKey = new Map<string, number>();
  const failures: unknown[] = [];
  let answered = 0;
  let seq = 0;
  const worker = async (w: number): Promise<void> => {
    // Bounded: the caller stops the run; 100k checks is far beyond any test's duration.
    for (let i = 0; i < 100_000 && !stop.now; i++) {
      const nodes = live();
      const n = nodes[(w + i) % nodes.length];
      if (n === undefined) return;
      const key = `load:${(seq++ * 7) % o.keys}`;
      const r = await cluster.checkRetrying(n, { key, resource: o.resource }, `${key}:${w}:${i}`);
      if (r.status === 200) {
        answered++;
        if (r.body['allowed'] === true) allowedByKey.set(key, (allowedByKey.get(key) ?? 0) + 1);
      } else if (failures.length < 20) failures.push({ node: n.id, ...r });
      await new Promise((res) => setTimeout(res, 10));
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, (_, w) => worker(w)));
  return { answered, allowedByKey, failures };
}

/** Counts within one of each other (so within one of their mean). */
export function balanced(counts: readonly number[]): boolean {
  return counts.length > 0 && Math.max(...counts) - Math.min(...counts) <= 1;
}

/** Leaders per running node, as each node reports its own role (the meta group excluded); [] until every group has exactly one. */
export async function leaderCounts(cluster: ScaleCluster, groupIds: readonly number[]): Promise<number[]> {
  const counts = new Map<string, number>();
  for (const n of cluster.nodes) {
    if (n.process === null) continue;
    counts.set(n.id, 0);
    const gs = await cluster.groups(n);
    if (gs === null) return [];
    for (const g of gs) if (groupIds.includes(g.id) && g.role === 'leader') counts.set(n.id, (counts.get(n.id) ?? 0) + 1);
  }
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  return total === groupIds.length ? [...counts.values()] : [];
}

/**
 * Strict mode held across a run: no key of the load admitted past `limit`, no check failed
 * for good, more than `answeredMin` answered, and every key of `limited` (at its limit of
 * `resource` before the run) is still limited when asked through each of `nodes` (no
 * acknowledged counter lost).
 */
export async function expectStrictHeld(
  cluster: ScaleCluster,
  result: LoadResult,
  o: { readonly limit: number; readonly limited: readonly string[]; readonly nodes: readonly ScaleNode[]; readonly resource: string; readonly answeredMin?: number },
): Promise<void> {
  for (const [key, allowed] of result.allowedByKey) expect(allowed, `${key} admitted ${allowed}`).toBeLessThanOrEqual(o.limit);
  expect(result.failures, cluster.logs()).toEqual([]);
  expect(result.answered).toBeGreaterThan(o.answeredMin ?? 0);
  for (const key of o.limited) {
    for (const n of o.nodes) expect((await cluster.checkRetrying(n, { key, resource: o.resource }, `${key}:after:${n.id}`)).body, key).toMatchObject({ allowed: false });
  }
}
