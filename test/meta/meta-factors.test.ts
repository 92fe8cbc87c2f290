// Proves the meta group's adaptive factors (cluster/meta/factors.ts): `factors` applies per
// resource only while the record it was decided from is current and only under the
// configuration version it was decided under, so two controllers never interleave; `freeze`
// pins a factor and refuses later updates until released; every replica holds the same
// records at the same index and tells listeners in log order; records survive a snapshot,
// and snapshots and entries written before factors existed still decode; malformed factor
// commands are refused loudly.
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { MetaCodecError, MetaStateMachine, decodeCommand, encodeCommand, type FactorUpdate, type MetaCommand } from '../../cluster/meta/index.js';
import type { LogIndex, SnapshotMeta, Term } from '../../raft/index.js';
import { metaEntry, replayMeta } from '../support/meta-log.js';

const CONFIG: MetaCommand = { t: 'config', requestId: 'seed', format: 'yaml', text: 'resources: {}', ifMatch: 0 };

function update(resource: string, factor: number, ifIndex: number): FactorUpdate {
  return { resource, factor, reason: `to ${factor}`, signals: { latencyP99Ms: 250.5, samples: 100, limiterCpu: null }, ifIndex };
}

function factors(requestId: string, updates: FactorUpdate[], configVersion = 1): MetaCommand {
  return { t: 'factors', requestId, configVersion, atMs: 1_700_000_000_000, updates };
}

function freeze(requestId: string, resource: string, frozen: boolean): MetaCommand {
  return { t: 'freeze', requestId, resource, frozen, atMs: 1_700_000_000_001, reason: frozen ? 'pinned' : 'released' };
}

describe('adaptive factors in the meta group', () => {
  it('applies an update while its record is current, and refuses one decided from an older record', () => {
    const m = replayMeta([CONFIG, factors('a', [update('search', 0.75, 0)]), factors('b', [update('search', 0.5, 0)]), factors('c', [update('search', 0.6, 2)])]);
    expect(m.outcome('a')).toMatchObject({ status: 'applied', index: 2 });
    expect(m.outcome('b')).toMatchObject({ status: 'ignored', why: 'every update was stale or frozen (search)' });
    expect(m.outcome('c')).toMatchObject({ status: 'applied', index: 4 });
    expect(m.factors().get('search')).toEqual({ factor: 0.6, frozen: false, reason: 'to 0.6', signals: { latencyP99Ms: 250.5, samples: 100, limiterCpu: null }, index: 4, configVersion: 1, atMs: 1_700_000_000_000 });
  });

  it('applies the updates of one entry independently: a stale one does not block a current one', () => {
    const m = replayMeta([CONFIG, factors('a', [update('x', 0.9, 0)]), factors('b', [update('x', 0.8, 0), update('y', 1.2, 0)])]);
    expect(m.outcome('b')?.status).toBe('applied');
    expect(m.factors().get('x')?.factor).toBe(0.9);
    expect(m.factors().get('y')?.factor).toBe(1.2);
  });

  it('refuses updates decided under another configuration version', () => {
    const m = replayMeta([CONFIG, factors('old', [update('search', 0.5, 0)], 7)]);
    expect(m.outcome('old')).toMatchObject({ status: 'ignored', why: 'the configuration changed (version 1, decided under 7)' });
    expect(m.factors().size).toBe(0);
  });

  it('freeze pins a factor: later updates are refused until it is released', () => {
    const m = replayMeta([
      CONFIG,
      factors('a', [update('search', 0.7, 0)]),
      freeze('f', 'search', true),
      factors('b', [update('search', 0.4, 3)]),
      freeze('f2', 'search', true),
      freeze('u', 'search', false),
      factors('c', [update('search', 0.4, 6)]),
    ]);
    expect(m.outcome('f')).toMatchObject({ status: 'applied', index: 3 });
    expect(m.outcome('b')?.status).toBe('ignored');
    expect(m.outcome('f2')).toMatchObject({ status: 'ignored', why: 'no change' });
    expect(m.outcome('c')?.status).toBe('applied');
    expect(m.factors().get('search')).toMatchObject({ factor: 0.4, frozen: false, index: 7 });
  });

  it('freezing a resource without a factor pins 1.0', () => {
    const m = replayMeta([CONFIG, freeze('f', 'fresh', true)]);
    expect(m.factors().get('fresh')).toMatchObject({ factor: 1, frozen: true, reason: 'pinned', index: 2 });
  });

  it('two controllers interleaving (an old and a new meta leader): each replica ends with the same records', () => {
    // Both decided from index 2; the log orders them; the second is refused everywhere.
    const cmds = [CONFIG, factors('l1', [update('s', 0.9, 0)]), factors('old-leader', [update('s', 0.8, 2)]), factors('new-leader', [update('s', 0.7, 2)])];
    const a = replayMeta(cmds);
    const b = replayMeta(cmds);
    expect(a.factors().get('s')?.factor).toBe(0.8);
    expect(a.outcome('new-leader')?.status).toBe('ignored');
    expect([...b.factors()]).toEqual([...a.factors()]);
  });

  it('tells listeners which resources changed, at which index, in log order', () => {
    const m = new MetaStateMachine();
    const seen: [string[], number][] = [];
    m.listen({ onFactors: (resources, index) => seen.push([[...resources], index]) });
    [CONFIG, factors('a', [update('x', 0.9, 0), update('y', 0.8, 0)]), factors('b', [update('x', 0.5, 0)]), freeze('f', 'y', true)].forEach((c, i) => m.apply(metaEntry(i + 1, c)));
    expect(seen).toEqual([
      [['x', 'y'], 2],
      [['y'], 4],
    ]);
  });

  it('keeps factors in its snapshot and tells listeners after restoring', async () => {
    const a = replayMeta([CONFIG, factors('a', [update('x', 0.9, 0)]), freeze('f', 'y', true)]);
    const bytes = [...a.snapshotChunks()][0] as Uint8Array;
    const b = new MetaStateMachine();
    const order: string[] = [];
    b.listen({ onConfig: () => order.push('config'), onFactors: (rs, i) => order.push(`factors ${rs.join(',')} @${i}`) });
    async function* pieces(): AsyncIterable<Uint8Array> {
      yield bytes;
    }
    await b.restore({ index: 3 as LogIndex, term: 1 as Term } as SnapshotMeta, pieces());
    expect([...b.factors()]).toEqual([...a.factors()]);
    expect(order).toEqual(['config', 'factors x,y @3']);
  });

  it('decodes a snapshot written before factors existed (no factors field) as none', async () => {
    const packr = new Packr({ useRecords: false, moreTypes: false });
    const old = packr.pack({ v: 1, config: { version: 1, format: 'yaml', text: 'resources: {}', index: 1 }, map: null, hints: [] });
    const framed = new Uint8Array(4 + old.byteLength);
    new DataView(framed.buffer).setUint32(0, old.byteLength);
    framed.set(old, 4);
    const m = replayMeta([CONFIG, factors('a', [update('x', 0.9, 0)])]);
    async function* pieces(): AsyncIterable<Uint8Array> {
      yield framed;
    }
    await m.restore({ index: 1 as LogIndex, term: 1 as Term } as SnapshotMeta, pieces());
    expect(m.factors().size).toBe(0);
    expect(m.config?.version).toBe(1);
  });

  it('round-trips factor commands and refuses malformed ones', () => {
    for (const c of [factors('a', [update('x', 0.25, 3)]), freeze('f', 'x', false)]) expect(decodeCommand(encodeCommand(c))).toEqual(c);
    const packr = new Packr({ useRecords: false, moreTypes: false });
    const bad = [
      { t: 'factors', requestId: 'r', configVersion: 1, atMs: 0, updates: [{ ...update('x', 0, 0) }] },
      { t: 'factors', requestId: 'r', configVersion: 1, atMs: 0, updates: [{ ...update('x', Number.NaN, 0) }] },
      { t: 'factors', requestId: 'r', configVersion: -1, atMs: 0, updates: [] },
      { t: 'factors', requestId: 'r', configVersion: 1, atMs: 0, updates: [{ ...update('x', 0.5, 0), signals: { a: 'x' } }] },
      { t: 'factors', requestId: 'r', configVersion: 1, atMs: 0, updates: [{ ...update('x', 0.5, 0), reason: 'r'.repeat(401) }] },
      { t: 'freeze', requestId: 'r', resource: 'x', frozen: 'yes', atMs: 0, reason: '' },
    ];
    for (const c of bad) expect(() => decodeCommand(packr.pack({ v: 1, c })), JSON.stringify(c)).toThrow(MetaCodecError);
  });
});
