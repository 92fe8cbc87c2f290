// Proves a group split on real processes: with strict checks running through every node,
// `POST /v1/admin/groups/1/split` moves the upper half of group 1's slots to a new group
// 3; keys at their limit on both sides (moved and kept) stay limited through every node,
// no key is admitted beyond its limit at any point of the run, the new slot map is served
// (`/v1/cluster/slots`) and followed by the SDK, and the new group decides for its keys.
// Then a second split whose source leader is SIGKILLed right after it begins still ends
// (completed by the new leaders, or rolled back) with every counter intact.
import { describe, expect, it } from 'vitest';
import { waitUntil } from '../../chaos/harness/local-cluster.js';
import { createClient } from '../../client/index.js';
import { SLOT_COUNT, slotOf } from '../../src/protocol/slot.js';
import { type ScaleNode, useScaleCluster } from '../support/scale-cluster.js';
import { expectStrictHeld, runLoad, type LoadResult } from '../support/scale-load.js';
import { LIMITS } from './limits.js';

const GROUPS = 2;

interface ClusterView {
  readonly slotMapVersion: number;
  readonly split: { id: number; phase: string } | null;
  readonly groups: readonly { id: number; leader: string | null; voters: readonly string[] }[];
}

/** `n` keys named `<prefix>:<i>` whose slot satisfies `pred`. */
function keys(prefix: string, n: number, pred: (slot: number) => boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < 100_000 && out.length < n; i++) if (pred(slotOf(`${prefix}:${i}`))) out.push(`${prefix}:${i}`);
  return out;
}

// Group 1 holds the even slots (slot % 2 + 1); the split moves its upper half.
const movedSlot = (s: number): boolean => s % 2 === 0 && s >= SLOT_COUNT / 2;
const keptSlot = (s: number): boolean => s % 2 === 0 && s < SLOT_COUNT / 2;
const otherGroup = (s: number): boolean => s % 2 === 1;

describe('scale out: a group split under load', () => {
  const cluster = useScaleCluster({ limitsYaml: LIMITS, groups: GROUPS });

  it('splits group 1 without losing a counter or admitting beyond a limit, and routes its keys to the new group', async () => {
    const nodes = cluster.nodes.slice(0, 3) as ScaleNode[];
    const [n1, n2, n3] = nodes as [ScaleNode, ScaleNode, ScaleNode];
    const limited = [...keys('moved', 4, movedSlot), ...keys('kept', 4, keptSlot), ...keys('other', 2, otherGroup)];
    for (const [k, key] of limited.entries()) {
      for (let i = 0; i < 5; i++) expect((await cluster.checkRetrying(nodes[(k + i) % 3] as ScaleNode, { key, resource: 'small' }, `${key}:${i}`)).body).toMatchObject({ allowed: true });
      expect((await cluster.checkRetrying(n1, { key, resource: 'small' }, `${key}:over`)).body).toMatchObject({ allowed: false });
    }

    const stop = { now: false };
    const load: Promise<LoadResult> = runLoad(cluster, () => nodes, stop, { keys: 48, resource: 'small', concurrency: 4 });
    await new Promise((r) => setTimeout(r, 500)); // the load is running when the split begins

    const started = await cluster.admin(n2, 'POST', '/v1/admin/groups/1/split');
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const split = started.body['split'] as { id: number; source: number; target: number; slots: number[] };
    expect(split).toMatchObject({ source: 1, target: 3 });
    expect(split.slots).toHaveLength(SLOT_COUNT / 4);
    expect(split.slots.every(movedSlot)).toBe(true);
    // A second split while one is in progress is refused with its code.
    const again = await cluster.admin(n3, 'POST', '/v1/admin/groups/2/split');
    expect(again.status).toBe(409);
    expect((again.body['error'] as { code: string }).code).toBe('RL_ERR_SPLIT_REFUSED');

    await waitUntil('every node serves the split slot map and group 3 has a leader', 45_000, async () => {
      for (const n of nodes) {
        const v = (await (await fetch(cluster.url(n, '/v1/cluster'))).json()) as ClusterView;
        if (v.split !== null || v.slotMapVersion !== 2 || !v.groups.some((g) => g.id === 3 && g.leader !== null)) return false;
      }
      return true;
    });
    // Keep the load on the new layout a moment, then stop it.
    await new Promise((r) => setTimeout(r, 1000));
    stop.now = true;
    const result = await load;

    // Strict mode across the split: per key, never more than the limit, and no check failed for good.
    // No counter lost on either side: keys at their limit stay limited, asked through every node.
    await expectStrictHeld(cluster, result, { limit: 5, limited, nodes, resource: 'small', answeredMin: 50 });

    // The slot map the nodes serve moved exactly the split's slots.
    const slots = (await (await fetch(cluster.url(n3, '/v1/cluster/slots'))).json()) as { version: number; groups: number[] };
    expect(slots.version).toBe(2);
    for (let s = 0; s < SLOT_COUNT; s++) expect(slots.groups[s], `slot ${s}`).toBe(movedSlot(s) ? 3 : (s % 2) + 1);

    // The SDK follows the new map: a moved key goes to group 3's leader and is decided there.
    const client = createClient({ seeds: nodes.map((n) => `127.0.0.1:${n.apiPort}`), timeoutMs: 3000, pollIntervalMs: 200 });
    try {
      const fresh = keys('sdk', 3, movedSlot);
      for (const key of fresh) {
        for (let i = 0; i < 5; i++) expect(await client.check(key, { resource: 'small' })).toMatchObject({ allowed: true, source: 'cluster' });
        expect(await client.check(key, { resource: 'small' })).toMatchObject({ allowed: false });
      }
      expect(await client.check(limited[0] as string, { resource: 'small' })).toMatchObject({ allowed: false });
    } finally {
      await client.close();
    }
    // No split left in progress anywhere.
    const text = await (await fetch(cluster.url(n1, '/metrics'))).text();
    expect(text).toMatch(/^rl_placement_split_in_progress 0$/m);
  }, 120_000);

  it('a split whose source leader crashes right after it begins still ends, and keeps every counter', async () => {
    const nodes = cluster.nodes.slice(0, 3) as ScaleNode[];
    const limited = [...keys('crash-moved', 3, (s) => s % 2 === 1 && s >= SLOT_COUNT / 2), ...keys('crash-kept', 3, (s) => s % 2 === 1 && s < SLOT_COUNT / 2)];
    for (const key of limited) {
      for (let i = 0; i < 5; i++) expect((await cluster.checkRetrying(nodes[i % 3] as ScaleNode, { key, resource: 'small' }, `${key}:${i}`)).body).toMatchObject({ allowed: true });
    }
    const view = async (n: ScaleNode): Promise<ClusterView | null> => {
      try {
        return (await (await fetch(cluster.url(n, '/v1/cluster'), { signal: AbortSignal.timeout(1000) })).json()) as ClusterView;
      } catch {
        return null;
      }
    };
    const leaderId = (await view(nodes[0] as ScaleNode))?.groups.find((g) => g.id === 2)?.leader;
    const victim = nodes.find((n) => n.id === leaderId) ?? (nodes[2] as ScaleNode);
    const via = nodes.find((n) => n !== victim) as ScaleNode;
    const started = await cluster.admin(via, 'POST', '/v1/admin/groups/2/split');
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    cluster.kill(victim);
    const live = nodes.filter((n) => n !== victim);
    await waitUntil('the split ends on the live nodes', 45_000, async () => {
      for (const n of live) if ((await view(n))?.split !== null) return false;
      return true;
    });
    cluster.restart(victim);
    await cluster.waitReady([victim], 30_000);
    await waitUntil('every node agrees on the slot map and every group has a leader', 30_000, async () => {
      const vs = await Promise.all(nodes.map(view));
      if (vs.some((v) => v === null || v.split !== null || v.groups.some((g) => g.leader === null))) return false;
      return new Set(vs.map((v) => v?.slotMapVersion)).size === 1;
    });
    const after = (await view(via)) as ClusterView;
    // Completed (a new group 4, slot map version 3) or rolled back (version 2, three groups): never in between.
    expect([after.slotMapVersion, after.groups.length]).toSatisfy(([v, n]: number[]) => (v === 3 && n === 4) || (v === 2 && n === 3));
    for (const key of limited) {
      for (const n of nodes) expect((await cluster.checkRetrying(n, { key, resource: 'small' }, `${key}:after:${n.id}`)).body, key).toMatchObject({ allowed: false });
    }
  }, 120_000);
});
