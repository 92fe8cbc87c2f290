// Proves the meta group's state machine is deterministic and keeps its contract: config
// versions number 1, 2, 3…; If-Match is decided at apply (of two writes with the same
// If-Match exactly one wins, on every replica alike); the seed applies only to an empty
// group; maps, node addresses and leader hints follow their rules; snapshots round-trip;
// and entries that do not decode are refused loudly.
import { describe, expect, it } from 'vitest';
import { MetaStateMachine, bootstrapClusterMap, decodeCommand, encodeCommand, metaMembership, type MetaCommand } from '../../cluster/meta/index.js';
import type { LogIndex, SnapshotMeta, Term } from '../../raft/index.js';
import { metaEntry, replayMeta } from '../support/meta-log.js';

function config(requestId: string, text: string, ifMatch: number | null): MetaCommand {
  return { t: 'config', requestId, format: 'yaml', text, ifMatch };
}

const MAP = bootstrapClusterMap(
  [
    { id: 'n2', peerAddress: '127.0.0.1:7102', apiAddress: null },
    { id: 'n1', peerAddress: '127.0.0.1:7101', apiAddress: null },
  ],
  8,
  (s) => (s % 2) + 1,
  [
    { id: 1, replicas: ['n1', 'n2'] },
    { id: 2, replicas: ['n2', 'n1'] },
  ],
);

describe('MetaStateMachine', () => {
  it('numbers configuration versions 1, 2, 3 and tells listeners in log order', () => {
    const m = new MetaStateMachine();
    const seen: number[] = [];
    m.listen({ onConfig: (d) => seen.push(d.version) });
    m.apply(metaEntry(1, null)); // the leader's no-op
    m.apply(metaEntry(2, config('a', 'v: a', 0)));
    m.apply(metaEntry(3, config('b', 'v: b', null)));
    m.apply(metaEntry(4, config('c', 'v: c', 2)));
    expect(seen).toEqual([1, 2, 3]);
    expect(m.config).toEqual({ version: 3, format: 'yaml', text: 'v: c', index: 4 });
    expect(m.outcome('c')).toEqual({ status: 'applied', index: 4, configVersion: 3, mapVersion: 0 });
  });

  it('of two writes with the same If-Match exactly one wins, identically on every replica', () => {
    const cmds = [config('seed', 'v: 1', 0), config('x', 'v: x', 1), config('y', 'v: y', 1)];
    const a = replayMeta(cmds);
    const b = replayMeta(cmds);
    expect(a.config?.text).toBe('v: x');
    expect(a.outcome('x')?.status).toBe('applied');
    expect(a.outcome('y')).toEqual({ status: 'conflict', index: 3, configVersion: 2, expected: 1 });
    expect(b.config).toEqual(a.config);
    expect(b.outcome('y')).toEqual(a.outcome('y'));
  });

  it('the seed (If-Match 0) applies only while group 0 holds no configuration', () => {
    const m = replayMeta([config('seed-n1', 'from n1', 0), config('seed-n2', 'from n2', 0)]);
    expect(m.config).toMatchObject({ version: 1, text: 'from n1' });
    expect(m.outcome('seed-n2')?.status).toBe('conflict');
  });

  it('keeps the first cluster map, updates node addresses, ignores unknown nodes and stale hints', () => {
    const m = replayMeta([
      { t: 'map', requestId: 'm1', map: MAP },
      { t: 'map', requestId: 'm2', map: { ...MAP, groups: [] } },
      { t: 'node', requestId: 'r1', node: { id: 'n1', peerAddress: '127.0.0.1:7101', apiAddress: '127.0.0.1:7001' } },
      { t: 'node', requestId: 'r2', node: { id: 'n9', peerAddress: 'x:1', apiAddress: 'x:2' } },
      { t: 'hint', requestId: 'h1', groupId: 1, hint: { leader: 'n2', term: 5 } },
      { t: 'hint', requestId: 'h2', groupId: 1, hint: { leader: 'n1', term: 4 } },
    ]);
    expect(m.map?.groups).toHaveLength(2);
    expect(m.map?.version).toBe(2);
    expect(m.map?.nodes.map((n) => n.id)).toEqual(['n1', 'n2']);
    expect(m.map?.nodes[0]?.apiAddress).toBe('127.0.0.1:7001');
    expect(m.map?.slotGroups).toEqual([1, 2, 1, 2, 1, 2, 1, 2]);
    expect(m.outcome('m2')?.status).toBe('ignored');
    expect(m.outcome('r2')?.status).toBe('ignored');
    expect(m.leaderHints().get(1)).toEqual({ leader: 'n2', term: 5 });
  });

  it('restores from its own snapshot to the same state, and tells listeners of the version', async () => {
    const a = replayMeta([{ t: 'map', requestId: 'm', map: MAP }, config('s', 'v: 1', 0), config('t', 'v: 2', 1), { t: 'hint', requestId: 'h', groupId: 2, hint: { leader: 'n1', term: 3 } }]);
    const chunks = [...a.snapshotChunks()];
    const b = new MetaStateMachine();
    const versions: number[] = [];
    b.listen({ onConfig: (d) => versions.push(d.version) });
    // Storage may hand the bytes back in pieces of any size.
    const bytes = Buffer.concat(chunks);
    async function* pieces(): AsyncIterable<Uint8Array> {
      for (let i = 0; i < bytes.length; i += 7) yield bytes.subarray(i, i + 7);
    }
    await b.restore({ index: 4 as LogIndex, term: 1 as Term } as SnapshotMeta, pieces());
    expect(b.appliedIndex()).toBe(4);
    expect(b.config).toEqual(a.config);
    expect(b.map).toEqual(a.map);
    expect([...b.leaderHints()]).toEqual([...a.leaderHints()]);
    expect(versions).toEqual([2]);
    b.apply(metaEntry(5, config('u', 'v: 3', 2)));
    expect(b.config?.version).toBe(3);
  });

  it('refuses entries out of order and payloads that are not meta commands', () => {
    const m = new MetaStateMachine();
    expect(() => m.apply(metaEntry(2, null))).toThrow(/out of order/);
    m.apply(metaEntry(1, null, 'confChange'));
    expect(m.appliedIndex()).toBe(1);
    expect(() => m.apply({ index: 2 as LogIndex, term: 1 as Term, type: 'normal', data: new Uint8Array([1, 2, 3]) })).toThrow(/meta codec/);
    expect(() => decodeCommand(encodeCommand({ t: 'config', requestId: 'x', format: 'toml' as 'yaml', text: '', ifMatch: null }))).toThrow(/format must be yaml or json/);
  });
});

describe('meta membership', () => {
  it('makes the first five sorted ids voters and the rest learners', () => {
    expect(metaMembership(['n3', 'n1', 'n2'])).toEqual({ voters: ['n1', 'n2', 'n3'], learners: [] });
    expect(metaMembership(['g', 'f', 'e', 'd', 'c', 'b', 'a'])).toEqual({ voters: ['a', 'b', 'c', 'd', 'e'], learners: ['f', 'g'] });
  });
});
