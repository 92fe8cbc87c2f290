// Proves the meta machine's membership and placement commands: join, drain, remove,
// place, metaVoters and groupConf apply by their rules identically on every replica
// (refusals decided at apply from the map alone), survive a snapshot and round-trip
// through the codec.
import { describe, expect, it } from 'vitest';
import { MetaStateMachine, decodeCommand, encodeCommand, groupsHolding, type MetaCommand } from '../../cluster/meta/index.js';
import { loopbackMap, replayMeta, restoredCopy } from '../support/meta-log.js';

const MAP = loopbackMap(3, 8, [
  { id: 1, replicas: ['n1', 'n2', 'n3'] },
  { id: 2, replicas: ['n2', 'n3', 'n1'] },
]);

function replay(cmds: readonly MetaCommand[]): MetaStateMachine {
  return replayMeta([{ t: 'map', requestId: 'map', map: MAP }, ...cmds]);
}

const N4 = { id: 'n4', peerAddress: '127.0.0.1:7104', apiAddress: '127.0.0.1:7004' };

describe('meta machine: membership and placement', () => {
  it('a join adds the node once; the same join again changes nothing; another peer address for the id is refused', () => {
    const m = replay([
      { t: 'join', requestId: 'a', node: N4 },
      { t: 'join', requestId: 'b', node: N4 },
      { t: 'join', requestId: 'c', node: { ...N4, peerAddress: '127.0.0.1:9999' } },
    ]);
    expect(m.map?.nodes.map((n) => n.id)).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(m.outcome('a')?.status).toBe('applied');
    expect(m.outcome('b')).toMatchObject({ status: 'ignored', why: 'no change' });
    expect(m.outcome('c')).toMatchObject({ status: 'ignored' });
    expect(m.map?.version).toBe(2);
  });

  it('place applies only at the map version it was planned from, and records the old membership as current', () => {
    const m = replay([
      { t: 'join', requestId: 'j', node: N4 },
      { t: 'place', requestId: 'p', groupId: 1, replicas: ['n1', 'n2', 'n4'], ifMapVersion: 2 },
      { t: 'place', requestId: 'stale', groupId: 2, replicas: ['n2', 'n3', 'n4'], ifMapVersion: 2 },
      { t: 'place', requestId: 'dup', groupId: 2, replicas: ['n2', 'n2', 'n4'], ifMapVersion: 3 },
    ]);
    expect(m.outcome('p')?.status).toBe('applied');
    expect(m.outcome('stale')).toMatchObject({ status: 'ignored' });
    expect(m.outcome('dup')).toMatchObject({ status: 'ignored', why: 'replicas must be distinct members' });
    const g1 = m.map?.groups.find((g) => g.id === 1);
    expect(g1).toEqual({ id: 1, replicas: ['n1', 'n2', 'n4'], current: { voters: ['n1', 'n2', 'n3'], learners: [], index: 0, term: 0 } });
    expect(groupsHolding(m.map ?? { groups: [] }, 'n3')).toEqual([1, 2]);
  });

  it('groupConf reports replace older ones only; the leaving node is free once the report drops it', () => {
    const m = replay([
      { t: 'join', requestId: 'j', node: N4 },
      { t: 'place', requestId: 'p', groupId: 1, replicas: ['n1', 'n2', 'n4'], ifMapVersion: 2 },
      { t: 'groupConf', requestId: 'r1', groupId: 1, conf: { voters: ['n1', 'n2', 'n3'], learners: ['n4'], index: 20, term: 2 } },
      { t: 'groupConf', requestId: 'old', groupId: 1, conf: { voters: ['n1', 'n2', 'n3'], learners: [], index: 12, term: 2 } },
      { t: 'groupConf', requestId: 'r2', groupId: 1, conf: { voters: ['n1', 'n2', 'n4'], learners: [], index: 25, term: 2 } },
    ]);
    expect(m.outcome('old')).toMatchObject({ status: 'ignored', why: 'an older membership report' });
    expect(m.map?.groups.find((g) => g.id === 1)?.current).toEqual({ voters: ['n1', 'n2', 'n4'], learners: [], index: 25, term: 2 });
    expect(groupsHolding(m.map ?? { groups: [] }, 'n3')).toEqual([2]);
  });

  it('remove is refused while the node votes in group 0 or holds replicas, and applies once it holds none', () => {
    const m = replay([
      { t: 'join', requestId: 'j', node: N4 },
      { t: 'drain', requestId: 'd', nodeId: 'n4', draining: true },
      { t: 'remove', requestId: 'r', nodeId: 'n3' },
      { t: 'remove', requestId: 'r4', nodeId: 'n4' },
      { t: 'remove', requestId: 'nobody', nodeId: 'n9' },
    ]);
    expect(m.map?.nodes.find((n) => n.id === 'n4')).toBeUndefined();
    expect(m.outcome('r')).toMatchObject({ status: 'ignored', why: 'node n3 still votes in group 0' });
    expect(m.outcome('r4')?.status).toBe('applied');
    expect(m.outcome('nobody')).toMatchObject({ status: 'ignored', why: 'node n9 is not a member' });
    const v = replay([
      { t: 'metaVoters', requestId: 'mv', voters: ['n1', 'n2'], ifMapVersion: 1 },
      { t: 'remove', requestId: 'r3', nodeId: 'n3' },
    ]);
    expect(v.outcome('r3')).toMatchObject({ status: 'ignored', why: 'node n3 still holds replicas of groups 1, 2' });
  });

  it('drain marks and unmarks a node; the map survives a snapshot and every command survives the codec', async () => {
    const cmds: MetaCommand[] = [
      { t: 'join', requestId: 'j', node: N4 },
      { t: 'drain', requestId: 'd', nodeId: 'n2', draining: true },
      { t: 'place', requestId: 'p', groupId: 1, replicas: ['n1', 'n4', 'n3'], ifMapVersion: 3 },
      { t: 'groupConf', requestId: 'g', groupId: 1, conf: { voters: ['n1', 'n2', 'n3'], learners: ['n4'], index: 9, term: 1 } },
      { t: 'metaVoters', requestId: 'v', voters: ['n1', 'n3', 'n4'], ifMapVersion: 5 },
    ];
    for (const c of cmds) expect(decodeCommand(encodeCommand(c))).toEqual(c);
    const a = replay(cmds);
    expect(a.map?.nodes.find((n) => n.id === 'n2')?.draining).toBe(true);
    expect(a.map?.metaVoters).toEqual(['n1', 'n3', 'n4']);
    const b = await restoredCopy(a);
    expect(b.map).toEqual(a.map);
    // A draining node that registers new addresses stays draining.
    const moved = replay([...cmds, { t: 'node', requestId: 'addr', node: { id: 'n2', peerAddress: '127.0.0.1:8102', apiAddress: '127.0.0.1:8002' } }]);
    expect(moved.map?.nodes.find((n) => n.id === 'n2')).toEqual({ id: 'n2', peerAddress: '127.0.0.1:8102', apiAddress: '127.0.0.1:8002', draining: true });
    const undo = replay([...cmds, { t: 'drain', requestId: 'u', nodeId: 'n2', draining: false }]);
    expect(undo.map?.nodes.find((n) => n.id === 'n2')).toEqual({ id: 'n2', peerAddress: '127.0.0.1:7102', apiAddress: '127.0.0.1:7002' });
  });
});
