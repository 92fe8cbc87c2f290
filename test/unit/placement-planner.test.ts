// Proves the placement planner and the membership reconciler as pure functions: a new
// node receives replicas until replicas and preferred leaders spread within one per node;
// draining nodes lose theirs; no group ever gets two replicas on one node; moves wait for
// the previous one (bounded concurrency); replicas spread over zones when nodes carry
// labels; a stalled move is retargeted or rolled back; a group over the load threshold is
// proposed for a split; and a group's leader adds, promotes, then removes, handing
// leadership away before it removes itself.
import { describe, expect, it } from 'vitest';
import { planMetaVoters, planNext, planSplit, type PlannerGroup, type PlannerNode } from '../../src/node/placement/planner.js';
import { reconcileMembership, type ReconcileInput } from '../../src/node/placement/reconcile.js';
import { staticPlacement } from '../../src/node/placement.js';

function nodes(ids: readonly string[], draining: readonly string[] = []): PlannerNode[] {
  return ids.map((id) => ({ id, draining: draining.includes(id) }));
}

function initialGroups(members: readonly string[], groups: number): PlannerGroup[] {
  const p = staticPlacement(members, groups, 3);
  return p.groupIds.map((id) => ({ id, replicas: p.replicasOf(id), settled: true }));
}

/** Runs the planner to a fixed point, applying every step at once (each move completes); bounded. */
function converge(ns: readonly PlannerNode[], start: readonly PlannerGroup[], rf = 3): { groups: PlannerGroup[]; steps: number } {
  let groups = [...start];
  for (let steps = 0; steps < 400; steps++) {
    const step = planNext({ nodes: ns, groups, replicationFactor: rf, movesMax: 1 });
    if (step === null) return { groups, steps };
    const before = groups.find((g) => g.id === step.groupId);
    expect(before?.settled).toBe(true);
    // One replica changes per step at most (or only the order).
    const gone = before?.replicas.filter((r) => !step.replicas.includes(r)) ?? [];
    const added = step.replicas.filter((r) => !(before?.replicas ?? []).includes(r));
    expect(gone.length).toBeLessThanOrEqual(1);
    expect(added.length).toBeLessThanOrEqual(1);
    expect(new Set(step.replicas).size).toBe(step.replicas.length);
    groups = groups.map((g) => (g.id === step.groupId ? { ...g, replicas: step.replicas } : g));
  }
  throw new Error('planner did not converge in 400 steps');
}

function counts(groups: readonly PlannerGroup[], ids: readonly string[], pick: (g: PlannerGroup) => readonly string[]): number[] {
  return ids.map((id) => groups.filter((g) => pick(g).includes(id)).length);
}

function spread(xs: readonly number[]): number {
  return Math.max(...xs) - Math.min(...xs);
}

describe('planNext', () => {
  it('leaves a balanced initial placement alone', () => {
    expect(planNext({ nodes: nodes(['n1', 'n2', 'n3']), groups: initialGroups(['n1', 'n2', 'n3'], 8), replicationFactor: 3, movesMax: 1 })).toBeNull();
  });

  it('moves replicas onto a new node until replicas and preferred leaders spread within one', () => {
    const ids = ['n1', 'n2', 'n3', 'n4'];
    const { groups, steps } = converge(nodes(ids), initialGroups(['n1', 'n2', 'n3'], 8));
    expect(steps).toBeGreaterThan(0);
    expect(spread(counts(groups, ids, (g) => g.replicas))).toBeLessThanOrEqual(1);
    expect(spread(counts(groups, ids, (g) => g.replicas.slice(0, 1)))).toBeLessThanOrEqual(1);
    for (const g of groups) expect(new Set(g.replicas).size).toBe(3);
  });

  it('spreads over five nodes too, with the replication factor kept', () => {
    const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const { groups } = converge(nodes(ids), initialGroups(['n1', 'n2', 'n3'], 10));
    expect(spread(counts(groups, ids, (g) => g.replicas))).toBeLessThanOrEqual(1);
    expect(spread(counts(groups, ids, (g) => g.replicas.slice(0, 1)))).toBeLessThanOrEqual(1);
    for (const g of groups) expect(g.replicas).toHaveLength(3);
  });

  it('moves every replica off a draining node, one group at a time', () => {
    const ids = ['n1', 'n2', 'n3', 'n4'];
    const start = converge(nodes(ids), initialGroups(['n1', 'n2', 'n3'], 8)).groups;
    const { groups } = converge(nodes(ids, ['n2']), start);
    for (const g of groups) {
      expect(g.replicas).not.toContain('n2');
      expect(g.replicas).toHaveLength(3);
    }
  });

  it('takes no step while moves are in progress up to the bound, nor for an unsettled group', () => {
    const groups = initialGroups(['n1', 'n2', 'n3'], 4).map((g, i) => (i === 0 ? { ...g, settled: false } : g));
    expect(planNext({ nodes: nodes(['n1', 'n2', 'n3', 'n4']), groups, replicationFactor: 3, movesMax: 1 })).toBeNull();
    const step = planNext({ nodes: nodes(['n1', 'n2', 'n3', 'n4']), groups, replicationFactor: 3, movesMax: 2 });
    expect(step).not.toBeNull();
    expect(step?.groupId).not.toBe(1);
  });

  it('gives nothing to a node that is down, but does not take its replicas away', () => {
    const groups = initialGroups(['n1', 'n2', 'n3'], 6);
    const down = [...nodes(['n1', 'n2', 'n3']), { id: 'n4', draining: false, up: false }];
    expect(planNext({ nodes: down, groups, replicationFactor: 3, movesMax: 1 })).toBeNull();
    const n3Down = [{ id: 'n1', draining: false }, { id: 'n2', draining: false }, { id: 'n3', draining: false, up: false }];
    expect(planNext({ nodes: n3Down, groups, replicationFactor: 3, movesMax: 1 })).toBeNull();
  });

  it('cannot drain below the replication factor: it keeps the replica where no other node can take it', () => {
    const groups = initialGroups(['n1', 'n2', 'n3'], 3);
    expect(planNext({ nodes: nodes(['n1', 'n2', 'n3'], ['n3']), groups, replicationFactor: 3, movesMax: 1 })).toBeNull();
  });

  it('adds replicas to groups below the replication factor', () => {
    const groups: PlannerGroup[] = [{ id: 1, replicas: ['n1'], settled: true }];
    const { groups: out } = converge(nodes(['n1', 'n2', 'n3']), groups);
    expect([...(out[0]?.replicas ?? [])].sort()).toEqual(['n1', 'n2', 'n3']);
  });

  it('rejects nonsense options', () => {
    expect(() => planNext({ nodes: [], groups: [], replicationFactor: 0, movesMax: 1 })).toThrow(RangeError);
    expect(() => planNext({ nodes: [], groups: [], replicationFactor: 3, movesMax: 0 })).toThrow(RangeError);
  });
});

function zoned(spec: Record<string, string>): PlannerNode[] {
  return Object.entries(spec).map(([id, zone]) => ({ id, draining: false, zone }));
}

function zonesOf(g: PlannerGroup, ns: readonly PlannerNode[]): number {
  return new Set(g.replicas.map((r) => ns.find((n) => n.id === r)?.zone ?? '')).size;
}

describe('planNext with zones', () => {
  it('spreads every group over three zones, never two replicas on one node', () => {
    const ns = zoned({ n1: 'a', n2: 'a', n3: 'b', n4: 'b', n5: 'c', n6: 'c' });
    // Start every group on n1, n2, n3 (zones a, a, b).
    const start: PlannerGroup[] = Array.from({ length: 12 }, (_, i) => ({ id: i + 1, replicas: ['n1', 'n2', 'n3'], settled: true }));
    const { groups } = converge(ns, start);
    for (const g of groups) {
      expect(new Set(g.replicas).size).toBe(3);
      expect(zonesOf(g, ns)).toBe(3);
    }
    expect(spread(counts(groups, ns.map((n) => n.id), (g) => g.replicas))).toBeLessThanOrEqual(1);
  });

  it('places new replicas in a zone the group lacks, even on a busier node', () => {
    const ns = zoned({ n1: 'a', n2: 'a', n3: 'a', n4: 'b' });
    const groups: PlannerGroup[] = [
      { id: 1, replicas: ['n1', 'n2'], settled: true },
      { id: 2, replicas: ['n4', 'n3', 'n1'], settled: true },
    ];
    expect(planNext({ nodes: ns, groups, replicationFactor: 3, movesMax: 1 })).toMatchObject({ groupId: 1, reason: 'add', to: 'n4' });
  });

  it('never balances a replica into a zone the group already uses', () => {
    // Zone b has one node: every group keeps a replica there however loaded it is.
    const ns = zoned({ n1: 'a', n2: 'a', n3: 'a', n4: 'b' });
    const start = Array.from({ length: 6 }, (_, i): PlannerGroup => ({ id: i + 1, replicas: ['n1', 'n2', 'n4'], settled: true }));
    const { groups } = converge(ns, start);
    for (const g of groups) expect(zonesOf(g, ns)).toBe(2);
    // The zone-a nodes share the zone-a replicas within one.
    expect(spread(counts(groups, ['n1', 'n2', 'n3'], (g) => g.replicas))).toBeLessThanOrEqual(1);
  });

  it('without labels, behaves exactly as before (zone steps never fire)', () => {
    const ids = ['n1', 'n2', 'n3', 'n4'];
    const { groups } = converge(nodes(ids), initialGroups(['n1', 'n2', 'n3'], 8));
    expect(spread(counts(groups, ids, (g) => g.replicas))).toBeLessThanOrEqual(1);
  });
});

describe('planNext with stalled moves', () => {
  const ns = nodes(['n1', 'n2', 'n3', 'n4', 'n5']);

  it('retargets a stalled move to another node, even when moves are at their bound', () => {
    const groups: PlannerGroup[] = [
      { id: 1, replicas: ['n1', 'n2', 'n4'], settled: false, currentVoters: ['n1', 'n2', 'n3'], currentLearners: ['n4'], stalled: true },
      { id: 2, replicas: ['n2', 'n3', 'n1'], settled: true },
    ];
    const step = planNext({ nodes: ns, groups, replicationFactor: 3, movesMax: 1, avoid: ['n4'] });
    expect(step).toEqual({ groupId: 1, replicas: ['n1', 'n2', 'n5'], reason: 'retarget', from: 'n4', to: 'n5' });
    // Not stalled (yet): nothing, the move is in progress.
    expect(planNext({ nodes: ns, groups: [{ ...(groups[0] as PlannerGroup), stalled: false }, groups[1] as PlannerGroup], replicationFactor: 3, movesMax: 1 })).toBeNull();
  });

  it('rolls a stalled move back to the current voters when no other node can take it', () => {
    const three = [...nodes(['n1', 'n2', 'n3']), { id: 'n4', draining: false, up: false }];
    const groups: PlannerGroup[] = [{ id: 1, replicas: ['n4', 'n2', 'n3'], settled: false, currentVoters: ['n1', 'n2', 'n3'], currentLearners: ['n4'], stalled: true }];
    const step = planNext({ nodes: three, groups, replicationFactor: 3, movesMax: 1, avoid: ['n4'] });
    expect(step).toEqual({ groupId: 1, replicas: ['n2', 'n3', 'n1'], reason: 'retarget', from: 'n4', to: null });
  });

  it('leaves a stalled move alone when only removals are left (its leader finishes them), and a frozen group always', () => {
    const groups: PlannerGroup[] = [{ id: 1, replicas: ['n1', 'n2'], settled: false, currentVoters: ['n1', 'n2', 'n3'], stalled: true }];
    expect(planNext({ nodes: ns, groups, replicationFactor: 3, movesMax: 1 })).toBeNull();
    const frozen: PlannerGroup[] = [{ id: 1, replicas: ['n1'], settled: true, frozen: true }];
    expect(planNext({ nodes: ns, groups: frozen, replicationFactor: 3, movesMax: 1 })).toBeNull();
  });
});

describe('planSplit', () => {
  const groups = [
    { id: 1, slots: 2048, settled: true },
    { id: 2, slots: 2048, settled: true },
  ];

  it('proposes the busiest group above the threshold', () => {
    const checksPerSecond = new Map([
      [1, 60_000],
      [2, 90_000],
    ]);
    expect(planSplit({ groups, checksPerSecond, checksPerSecondMin: 50_000, groupsMax: 256, splitInProgress: false })).toEqual({ groupId: 2, checksPerSecond: 90_000 });
    expect(planSplit({ groups, checksPerSecond, checksPerSecondMin: 100_000, groupsMax: 256, splitInProgress: false })).toBeNull();
  });

  it('is off by default, one at a time, waits for moves, stops at the group bound and at one slot', () => {
    const checksPerSecond = new Map([[1, 1e9]]);
    const base = { groups, checksPerSecond, checksPerSecondMin: 10, groupsMax: 256, splitInProgress: false };
    expect(planSplit({ ...base, checksPerSecondMin: 0 })).toBeNull();
    expect(planSplit({ ...base, splitInProgress: true })).toBeNull();
    expect(planSplit({ ...base, groups: [{ id: 1, slots: 2048, settled: true }, { id: 2, slots: 2048, settled: false }] })).toBeNull();
    expect(planSplit({ ...base, groupsMax: 2 })).toBeNull();
    expect(planSplit({ ...base, groups: [{ id: 1, slots: 1, settled: true }] })).toBeNull();
    expect(planSplit(base)).toEqual({ groupId: 1, checksPerSecond: 1e9 });
  });
});

describe('planMetaVoters', () => {
  it('tops voters up to five and drops draining ones', () => {
    expect(planMetaVoters(nodes(['n1', 'n2', 'n3', 'n4']), ['n1', 'n2', 'n3'], 5)).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(planMetaVoters(nodes(['n1', 'n2', 'n3', 'n4', 'n5', 'n6']), ['n1', 'n2', 'n3', 'n4', 'n5'], 5)).toBeNull();
    expect(planMetaVoters(nodes(['n1', 'n2', 'n3', 'n4', 'n5', 'n6'], ['n2']), ['n1', 'n2', 'n3', 'n4', 'n5'], 5)).toEqual(['n1', 'n3', 'n4', 'n5', 'n6']);
    expect(planMetaVoters(nodes(['n1', 'n2', 'n3', 'n4'], ['n4']), ['n1', 'n2', 'n3', 'n4'], 5)).toEqual(['n1', 'n2', 'n3']);
  });

  it('gives no vote to a node that is down (added but never started), and takes none from a voter that is down', () => {
    const n4Down = [...nodes(['n1', 'n2', 'n3']), { id: 'n4', draining: false, up: false }];
    expect(planMetaVoters(n4Down, ['n1', 'n2', 'n3'], 5)).toBeNull();
    const n2Down = [{ id: 'n1', draining: false }, { id: 'n2', draining: false, up: false }, { id: 'n3', draining: false }];
    expect(planMetaVoters(n2Down, ['n1', 'n2', 'n3'], 5)).toBeNull();
  });
});

describe('reconcileMembership', () => {
  const base: ReconcileInput = {
    self: 'n1',
    voters: ['n1', 'n2', 'n3'],
    learners: [],
    targetVoters: ['n1', 'n2', 'n4'],
    targetLearners: [],
    match: new Map([
      ['n1', 10],
      ['n2', 10],
      ['n3', 10],
    ]),
    commit: 10,
    reachable: new Set(['n1', 'n2', 'n3', 'n4']),
  };

  it('walks a replica move: add learner, wait for catch-up, promote, remove', () => {
    expect(reconcileMembership(base)).toEqual({ type: 'addLearner', nodeId: 'n4' });
    const learning = { ...base, learners: ['n4'], match: new Map([...base.match, ['n4', 3]]) };
    expect(reconcileMembership(learning)).toMatchObject({ type: 'wait' });
    const caughtUp = { ...learning, match: new Map([...base.match, ['n4', 10]]) };
    expect(reconcileMembership(caughtUp)).toEqual({ type: 'addVoter', nodeId: 'n4' });
    const promoted = { ...caughtUp, voters: ['n1', 'n2', 'n3', 'n4'], learners: [] };
    expect(reconcileMembership(promoted)).toEqual({ type: 'removeNode', nodeId: 'n3' });
    expect(reconcileMembership({ ...promoted, voters: ['n1', 'n2', 'n4'] })).toBeNull();
  });

  it('a leader that leaves hands leadership to a caught-up, reachable target voter first', () => {
    const input = { ...base, voters: ['n1', 'n2', 'n4'], targetVoters: ['n2', 'n4', 'n3'], learners: [] };
    expect(reconcileMembership(input)).toEqual({ type: 'addLearner', nodeId: 'n3' });
    const all = { ...input, voters: ['n1', 'n2', 'n3', 'n4'], match: new Map([['n1', 10], ['n2', 8], ['n3', 10], ['n4', 10]]) };
    // n2 is behind; n4 and n3 are caught up, and n4 comes first in the target.
    expect(reconcileMembership(all)).toEqual({ type: 'transfer', to: 'n4' });
    expect(reconcileMembership({ ...all, reachable: new Set(['n1']) })).toMatchObject({ type: 'wait' });
  });

  it('demotes a voter that stays as a learner and removes learners that leave (group 0)', () => {
    const meta = { ...base, voters: ['n1', 'n2', 'n3', 'n4'], learners: ['n5'], targetVoters: ['n1', 'n2', 'n3'], targetLearners: ['n4'] };
    expect(reconcileMembership(meta)).toEqual({ type: 'addLearner', nodeId: 'n4' });
    expect(reconcileMembership({ ...meta, voters: ['n1', 'n2', 'n3'], learners: ['n4', 'n5'] })).toEqual({ type: 'removeNode', nodeId: 'n5' });
  });
});
