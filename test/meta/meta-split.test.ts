// Proves the meta machine's group-split and zone commands: a split begins only from a
// settled group at the planned map version (one at a time, bounded group count), switch
// and abort exclude each other, done ends it, the slot map version moves with the slots;
// zones are registered and kept across drains; and everything survives a snapshot, the
// codec, and a snapshot written before these fields existed.
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { MetaStateMachine, decodeCommand, encodeCommand, slotsOf, type MetaCommand } from '../../cluster/meta/index.js';
import type { LogIndex, Term } from '../../raft/index.js';
import { loopbackMap, replayMeta, restoredCopy } from '../support/meta-log.js';

const MAP = loopbackMap(3, 16, [
  { id: 1, replicas: ['n1', 'n2', 'n3'] },
  { id: 2, replicas: ['n2', 'n3', 'n1'] },
]);

/** Applies the first map (index 1) and then `cmds` (indexes 2, 3, …). */
function replay(cmds: readonly MetaCommand[]): MetaStateMachine {
  return replayMeta([{ t: 'map', requestId: 'map', map: MAP }, ...cmds]);
}

const BEGIN: MetaCommand = { t: 'splitBegin', requestId: 'b', groupId: 1, ifMapVersion: 1, groupsMax: 8 };

describe('meta machine: group split', () => {
  it('begins a split: a new group on the source replicas, the upper half of its slots, phase seeding', () => {
    const m = replay([BEGIN]);
    expect(m.outcome('b')?.status).toBe('applied');
    const split = m.map?.split;
    expect(split).toEqual({ id: 2, source: 1, target: 3, slots: [8, 10, 12, 14], replicas: ['n1', 'n2', 'n3'], phase: 'seeding' });
    expect(m.map?.groups.find((g) => g.id === 3)).toEqual({ id: 3, replicas: ['n1', 'n2', 'n3'] });
    // The slots still live in the source until the switch.
    expect(slotsOf(m.map ?? MAP, 1)).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
    expect(m.map?.slotMapVersion).toBeUndefined();
  });

  it('refuses a split at a stale version, during another split or a move, at the group bound, and of an unknown group', () => {
    const stale = replay([{ t: 'join', requestId: 'j', node: { id: 'n4', peerAddress: '127.0.0.1:7104', apiAddress: null } }, BEGIN]);
    expect(stale.outcome('b')).toMatchObject({ status: 'ignored', why: 'the map changed (version 2, planned from 1)' });
    const twice = replay([BEGIN, { ...BEGIN, requestId: 'b2', groupId: 2, ifMapVersion: 2 }]);
    expect(twice.outcome('b2')).toMatchObject({ status: 'ignored', why: 'split 2 of group 1 is in progress' });
    const moving = replay([{ t: 'place', requestId: 'p', groupId: 1, replicas: ['n1', 'n2'], ifMapVersion: 1 }, { ...BEGIN, ifMapVersion: 2 }]);
    expect(moving.outcome('b')).toMatchObject({ status: 'ignored', why: 'group 1 has a move in progress' });
    const full = replay([{ ...BEGIN, groupsMax: 2 }]);
    expect(full.outcome('b')).toMatchObject({ status: 'ignored', why: 'the cluster holds 2 groups, its maximum (2)' });
    const unknown = replay([{ ...BEGIN, groupId: 9 }]);
    expect(unknown.outcome('b')).toMatchObject({ status: 'ignored', why: 'no group 9' });
  });

  it('switch moves the slots to the new group and bumps the slot map version; abort is then refused; done ends it', () => {
    const m = replay([
      BEGIN,
      { t: 'split', requestId: 'done-early', splitId: 2, step: 'done' },
      { t: 'split', requestId: 's', splitId: 2, step: 'switch' },
      { t: 'split', requestId: 'a', splitId: 2, step: 'abort' },
      { t: 'split', requestId: 'wrong', splitId: 99, step: 'done' },
    ]);
    expect(m.outcome('done-early')).toMatchObject({ status: 'ignored', why: 'split 2 has neither switched nor aborted' });
    expect(m.outcome('s')?.status).toBe('applied');
    expect(m.outcome('a')).toMatchObject({ status: 'ignored', why: 'split 2 is switched' });
    expect(m.outcome('wrong')).toMatchObject({ status: 'ignored', why: 'split 99 is not in progress' });
    expect(slotsOf(m.map ?? MAP, 3)).toEqual([8, 10, 12, 14]);
    expect(slotsOf(m.map ?? MAP, 1)).toEqual([0, 2, 4, 6]);
    expect(m.map?.slotMapVersion).toBe(2);
    expect(m.map?.split?.phase).toBe('switched');
    const done = replay([BEGIN, { t: 'split', requestId: 's', splitId: 2, step: 'switch' }, { t: 'split', requestId: 'd', splitId: 2, step: 'done' }]);
    expect(done.map?.split).toBeUndefined();
    expect(done.map?.groups.map((g) => g.id)).toEqual([1, 2, 3]);
  });

  it('abort removes the new group and keeps the slot map; switch is then refused', () => {
    const m = replay([BEGIN, { t: 'split', requestId: 'a', splitId: 2, step: 'abort' }, { t: 'split', requestId: 's', splitId: 2, step: 'switch' }]);
    expect(m.outcome('s')).toMatchObject({ status: 'ignored', why: 'split 2 is aborting' });
    expect(m.map?.groups.map((g) => g.id)).toEqual([1, 2]);
    expect(m.map?.slotGroups).toEqual(MAP.slotGroups);
    expect(m.map?.split?.phase).toBe('aborting');
    const after = replay([BEGIN, { t: 'split', requestId: 'a', splitId: 2, step: 'abort' }, { t: 'split', requestId: 'd', splitId: 2, step: 'done' }, { ...BEGIN, requestId: 'b2', ifMapVersion: 4 }]);
    // The next split gets a new id (its meta index) and a new group id: ids are never reused.
    expect(after.map?.split).toMatchObject({ id: 5, source: 1, target: 4, phase: 'seeding' });
  });
});

describe('meta machine: zones', () => {
  it('registers a zone on join and on re-registration, and keeps it across drain and undo', () => {
    const m = replay([
      { t: 'join', requestId: 'j', node: { id: 'n4', peerAddress: '127.0.0.1:7104', apiAddress: null, zone: 'b' } },
      { t: 'node', requestId: 'z', node: { id: 'n1', peerAddress: '127.0.0.1:7101', apiAddress: '127.0.0.1:7001', zone: 'a' } },
      { t: 'drain', requestId: 'd', nodeId: 'n4', draining: true },
      { t: 'drain', requestId: 'u', nodeId: 'n4', draining: false },
    ]);
    expect(m.map?.nodes.find((n) => n.id === 'n4')).toEqual({ id: 'n4', peerAddress: '127.0.0.1:7104', apiAddress: null, zone: 'b' });
    expect(m.map?.nodes.find((n) => n.id === 'n1')?.zone).toBe('a');
    expect(m.outcome('z')?.status).toBe('applied');
  });
});

describe('meta machine: split state across snapshots and the codec', () => {
  it('every command round-trips, and a map mid-split survives a snapshot', async () => {
    const cmds: MetaCommand[] = [BEGIN, { t: 'split', requestId: 's', splitId: 2, step: 'switch' }, { t: 'join', requestId: 'j', node: { id: 'n4', peerAddress: 'h:1', apiAddress: null, zone: 'z1' } }];
    for (const c of cmds) expect(decodeCommand(encodeCommand(c))).toEqual(c);
    const a = replay(cmds);
    const b = await restoredCopy(a);
    expect(b.map).toEqual(a.map);
    expect(b.map?.split?.phase).toBe('switched');
    expect(b.map?.slotMapVersion).toBe(2);
  });

  it('a snapshot written before splits and zones (no such fields) still restores', async () => {
    const packr = new Packr({ useRecords: false, moreTypes: false });
    const old = packr.pack({ v: 1, config: null, map: { version: 3, ...MAP }, hints: [] });
    const framed = new Uint8Array(4 + old.byteLength);
    new DataView(framed.buffer).setUint32(0, old.byteLength);
    framed.set(old, 4);
    const m = new MetaStateMachine();
    async function* chunks(): AsyncIterable<Uint8Array> {
      yield framed;
    }
    await m.restore({ index: 7 as LogIndex, term: 1 as Term, confState: { voters: [], learners: [] } }, chunks());
    expect(m.map?.version).toBe(3);
    expect(m.map?.split).toBeUndefined();
    expect(m.map?.slotMapVersion).toBeUndefined();
    expect(m.map?.nodes[0]?.zone).toBeUndefined();
  });
});
