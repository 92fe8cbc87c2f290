// Proves the SDK follows a split slot map: at slot-map version 1 it computes slot → group
// as the nodes deal it (no extra request), after a split it fetches /v1/cluster/slots once
// per new version and routes each key to its new group's leader, a seed still on the
// older version never takes it back, and a node without the route leaves it on the old table.
import { describe, expect, it } from 'vitest';
import { realDeps } from '../../client/deps.js';
import { Topology } from '../../client/topology.js';
import { SLOT_COUNT, slotOf } from '../../src/protocol/slot.js';

interface FakeNode {
  slotMapVersion: number;
  groups: number[];
  table: number[] | null;
}

function fakeFetch(nodes: Record<string, FakeNode>, calls: string[]): typeof fetch {
  return (async (input: string | URL | Request) => {
    const url = new URL(String(input));
    calls.push(`${url.host}${url.pathname}`);
    const n = nodes[url.host];
    if (n === undefined) throw new Error('unreachable');
    if (url.pathname === '/v1/cluster') {
      const groups = n.groups.map((id) => ({ id, leader: `leader-of-${id}`, term: 1 }));
      return new Response(JSON.stringify({ node: `node-${url.port}`, slotMapVersion: n.slotMapVersion, configVersion: 1, groups }), { status: 200 });
    }
    if (url.pathname === '/v1/cluster/slots' && n.table !== null) {
      return new Response(JSON.stringify({ version: n.slotMapVersion, slotCount: SLOT_COUNT, groups: n.table }), { status: 200 });
    }
    return new Response(JSON.stringify({ error: { code: 'RL_ERR_BAD_REQUEST' } }), { status: 404 });
  }) as typeof fetch;
}

function topology(seeds: string[], f: typeof fetch): Topology {
  return new Topology({ seeds, token: undefined, pollIntervalMs: 60_000, fetchTimeoutMs: 1000, refreshMsMin: 0 }, { ...realDeps(), fetch: f }, { onConfigVersion: () => undefined });
}

/** A key whose slot is `slot`-ish: the first of `key:<i>` in the wanted slot set. */
function keyIn(pred: (slot: number) => boolean): string {
  for (let i = 0; i < 100_000; i++) if (pred(slotOf(`key:${i}`))) return `key:${i}`;
  throw new Error('no key found');
}

describe('SDK topology: slot map', () => {
  it('computes version 1 without fetching the table, then fetches it once after a split', async () => {
    const calls: string[] = [];
    const a: FakeNode = { slotMapVersion: 1, groups: [1, 2], table: null };
    const t = topology(['127.0.0.1:1'], fakeFetch({ '127.0.0.1:1': a }, calls));
    await t.refresh(true);
    const even = keyIn((s) => s % 2 === 0);
    expect(t.groupFor(even)).toBe(1);
    expect(calls.filter((c) => c.endsWith('/slots'))).toEqual([]);

    // A split moves the upper half of group 1's slots to group 3.
    const table = Array.from({ length: SLOT_COUNT }, (_, s) => (s % 2) + 1);
    for (let s = SLOT_COUNT / 2; s < SLOT_COUNT; s += 2) table[s] = 3;
    Object.assign(a, { slotMapVersion: 2, groups: [1, 2, 3], table });
    await t.refresh(true);
    const moved = keyIn((s) => s >= SLOT_COUNT / 2 && s % 2 === 0);
    const stayed = keyIn((s) => s < SLOT_COUNT / 2 && s % 2 === 0);
    expect(t.groupFor(moved)).toBe(3);
    expect(t.groupFor(stayed)).toBe(1);
    expect(t.versions.slotMapVersion).toBe(2);
    await t.refresh(true);
    expect(calls.filter((c) => c.endsWith('/slots'))).toHaveLength(1);
  });

  it('never goes back to an older version from a lagging seed, and keeps the old table when the route is missing', async () => {
    const calls: string[] = [];
    const table = Array.from({ length: SLOT_COUNT }, (_, s) => (s < SLOT_COUNT / 2 ? 1 : 2));
    const fresh: FakeNode = { slotMapVersion: 2, groups: [1, 2], table };
    const lagging: FakeNode = { slotMapVersion: 1, groups: [1], table: null };
    const t = topology(['127.0.0.1:1', '127.0.0.1:2'], fakeFetch({ '127.0.0.1:1': fresh, '127.0.0.1:2': lagging }, calls));
    await t.refresh(true);
    await t.refresh(true);
    expect(t.versions.slotMapVersion).toBe(2);
    expect(t.groupFor(keyIn((s) => s >= SLOT_COUNT / 2))).toBe(2);

    const old: FakeNode = { slotMapVersion: 3, groups: [1, 2, 3], table: null }; // an older node: no /v1/cluster/slots
    const u = topology(['127.0.0.1:3'], fakeFetch({ '127.0.0.1:3': old }, calls));
    await u.refresh(true);
    expect(u.versions.slotMapVersion).toBe(-1); // not adopted: checks go to any seed, which routes them
    expect(u.leaderAddressFor('anything')).toBeUndefined();
  });
});
