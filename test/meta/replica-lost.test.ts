// Proves the rebuild of a corrupt replica step by step, from the cluster map alone: the
// node marks its replica lost (replicaLost), the group's leader removes it (reconcile
// toward targetMembership), the node wipes it only once group 0 shows it out of the
// group, clears its mark, and the leader adds it back as a learner and promotes it once
// caught up. The mark survives the codec and a meta snapshot, and a move off the node
// clears it.
import { describe, expect, it } from 'vitest';
import { MetaStateMachine, decodeCommand, encodeCommand, type ClusterMap, type MetaCommand } from '../../cluster/meta/index.js';
import { rebuildStep, targetMembership } from '../../src/node/placement/corrupt-replica.js';
import { reconcileMembership } from '../../src/node/placement/reconcile.js';
import { loopbackMap, metaEntry, restoredCopy } from '../support/meta-log.js';

const MAP = loopbackMap(4, 8, [
  { id: 1, replicas: ['n1', 'n2', 'n3'] },
  { id: 2, replicas: ['n2', 'n3', 'n4'] },
]);

class Meta {
  readonly m = new MetaStateMachine();
  private index = 0;
  constructor() {
    this.apply({ t: 'map', requestId: 'map', map: MAP });
  }
  apply(c: MetaCommand): void {
    this.m.apply(metaEntry(++this.index, c));
  }
  get map(): ClusterMap {
    if (this.m.map === null) throw new Error('no map');
    return this.m.map;
  }
  group(id: number) {
    const g = this.map.groups.find((x) => x.id === id);
    if (g === undefined) throw new Error(`no group ${id}`);
    return g;
  }
}

describe('rebuilding a corrupt replica', () => {
  it('marks, removes, wipes, clears, re-adds and promotes, in that order, and never wipes a member', () => {
    const meta = new Meta();
    // n3 finds group 1 corrupt: it still votes there, so it reports first.
    expect(rebuildStep(meta.map, 'n3', 1)).toEqual({ type: 'report' });
    meta.apply({ t: 'replicaLost', requestId: 'l1', groupId: 1, nodeId: 'n3', lost: true });
    expect(meta.group(1).lost).toEqual(['n3']);
    // Marked but still a member: wait (never wipe while group 0 shows it in the group).
    expect(rebuildStep(meta.map, 'n3', 1).type).toBe('wait');
    // The leader (n1) removes n3: the leader's progress for it (how far its log matched) goes with it.
    const target = targetMembership(meta.group(1));
    expect(target).toEqual({ voters: ['n1', 'n2'], learners: [] });
    const match = new Map([
      ['n1', 50],
      ['n2', 50],
      ['n3', 40],
    ]);
    const all = new Set(['n1', 'n2', 'n3']);
    const input = (voters: string[], learners: string[], m: Map<string, number>) => ({ self: 'n1', voters, learners, ...asTargets(targetMembership(meta.group(1))), match: m, commit: 60, reachable: all });
    expect(reconcileMembership(input(['n1', 'n2', 'n3'], [], match))).toEqual({ type: 'removeNode', nodeId: 'n3' });
    // A learner found corrupt is removed the same way.
    expect(reconcileMembership(input(['n1', 'n2'], ['n3'], match))).toEqual({ type: 'removeNode', nodeId: 'n3' });
    // The leader reports the applied removal; now n3 may wipe, starting at the reported term.
    meta.apply({ t: 'groupConf', requestId: 'c1', groupId: 1, conf: { voters: ['n1', 'n2'], learners: [], index: 51, term: 4 } });
    expect(rebuildStep(meta.map, 'n3', 1)).toEqual({ type: 'wipe', term: 4 });
    // While marked, the leader does not take it back.
    expect(reconcileMembership(input(['n1', 'n2'], [], match))).toBeNull();
    // n3 wiped and hosts the group again: it clears the mark; the leader adds it as a learner, then promotes it once caught up, not before.
    meta.apply({ t: 'replicaLost', requestId: 'l2', groupId: 1, nodeId: 'n3', lost: false });
    expect(meta.group(1).lost).toBeUndefined();
    expect(reconcileMembership(input(['n1', 'n2'], [], new Map([...match, ['n3', 0]])))).toEqual({ type: 'addLearner', nodeId: 'n3' });
    expect(reconcileMembership(input(['n1', 'n2'], ['n3'], new Map([...match, ['n3', 10]])))?.type).toBe('wait');
    expect(reconcileMembership(input(['n1', 'n2'], ['n3'], new Map([...match, ['n3', 60]])))).toEqual({ type: 'addVoter', nodeId: 'n3' });
  });

  it('refuses a mark from a node that holds no replica, and a move off the node clears its mark', () => {
    const meta = new Meta();
    meta.apply({ t: 'replicaLost', requestId: 'x', groupId: 1, nodeId: 'n4', lost: true });
    expect(meta.m.outcome('x')).toMatchObject({ status: 'ignored', why: 'node n4 holds no replica of group 1' });
    meta.apply({ t: 'replicaLost', requestId: 'l', groupId: 2, nodeId: 'n4', lost: true });
    meta.apply({ t: 'replicaLost', requestId: 'again', groupId: 2, nodeId: 'n4', lost: true });
    expect(meta.m.outcome('again')).toMatchObject({ status: 'ignored', why: 'no change' });
    expect(meta.group(2).lost).toEqual(['n4']);
    meta.apply({ t: 'place', requestId: 'p', groupId: 2, replicas: ['n2', 'n3', 'n1'], ifMapVersion: meta.map.version });
    expect(meta.group(2).lost).toBeUndefined();
    // The group no longer names n4: its records are dropped, not rebuilt, once the group has removed it.
    meta.apply({ t: 'groupConf', requestId: 'c', groupId: 2, conf: { voters: ['n1', 'n2', 'n3'], learners: [], index: 9, term: 2 } });
    expect(rebuildStep(meta.map, 'n4', 2)).toEqual({ type: 'drop' });
    expect(rebuildStep(null, 'n4', 2).type).toBe('wait');
  });

  it('the mark survives the codec and a meta snapshot', async () => {
    const meta = new Meta();
    const cmd: MetaCommand = { t: 'replicaLost', requestId: 'l', groupId: 2, nodeId: 'n3', lost: true };
    expect(decodeCommand(encodeCommand(cmd))).toEqual(cmd);
    meta.apply(cmd);
    const b = await restoredCopy(meta.m);
    expect(b.map).toEqual(meta.map);
    expect(b.map?.groups.find((g) => g.id === 2)?.lost).toEqual(['n3']);
  });
});

function asTargets(t: { voters: readonly string[]; learners: readonly string[] }): { targetVoters: readonly string[]; targetLearners: readonly string[] } {
  return { targetVoters: t.voters, targetLearners: t.learners };
}
