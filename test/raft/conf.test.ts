// Proves the configuration helpers: single-server changes computed from a ConfState, the
// confChange entry codec round-trips and refuses corrupt bytes as a broken invariant, and
// quorum sizes are majorities.
import { describe, expect, it } from 'vitest';
import {
  RaftAssertionError,
  applyConfChange,
  bootstrapEntry,
  decodeConfChangeEntry,
  encodeConfChangeEntry,
  quorumSize,
  toNodeId,
} from '../../raft/index.js';

const [a, b, c] = [toNodeId('a'), toNodeId('b'), toNodeId('c')];

describe('configuration', () => {
  it('quorumSize is a strict majority', () => {
    expect([1, 2, 3, 4, 5].map(quorumSize)).toEqual([1, 2, 2, 3, 3]);
  });

  it('applyConfChange adds, promotes, demotes and removes one member at a time', () => {
    const base = { voters: [a, b], learners: [] };
    const withC = applyConfChange(base, { type: 'addLearner', nodeId: c });
    expect(withC).toEqual({ ok: true, confState: { voters: [a, b], learners: [c] } });
    if (!withC.ok) return;
    expect(applyConfChange(withC.confState, { type: 'addVoter', nodeId: c })).toEqual({ ok: true, confState: { voters: [a, b, c], learners: [] } });
    expect(applyConfChange(base, { type: 'addLearner', nodeId: b })).toEqual({ ok: true, confState: { voters: [a], learners: [b] } });
    expect(applyConfChange(base, { type: 'removeNode', nodeId: a })).toEqual({ ok: true, confState: { voters: [b], learners: [] } });
  });

  it('applyConfChange refuses no-op and fatal changes with a reason', () => {
    expect(applyConfChange({ voters: [a], learners: [] }, { type: 'removeNode', nodeId: a })).toMatchObject({ ok: false });
    expect(applyConfChange({ voters: [a], learners: [] }, { type: 'addVoter', nodeId: a })).toMatchObject({ ok: false });
    expect(applyConfChange({ voters: [a], learners: [] }, { type: 'removeNode', nodeId: b })).toMatchObject({ ok: false });
  });

  it('the entry codec round-trips', () => {
    const data = { change: { type: 'addVoter' as const, nodeId: c }, confState: { voters: [a, b, c], learners: [] } };
    expect(decodeConfChangeEntry(encodeConfChangeEntry(data))).toEqual(data);
  });

  it('the bootstrap entry is index 1, term 1, with no change', () => {
    const e = bootstrapEntry({ voters: [a, b, c], learners: [] });
    expect([e.index, e.term, e.type]).toEqual([1, 1, 'confChange']);
    expect(decodeConfChangeEntry(e.data)).toEqual({ change: null, confState: { voters: [a, b, c], learners: [] } });
    expect(() => bootstrapEntry({ voters: [], learners: [] })).toThrow(RangeError);
  });

  it('decoding corrupt bytes is a broken invariant', () => {
    expect(() => decodeConfChangeEntry(new Uint8Array([0xff, 0x00]))).toThrow(RaftAssertionError);
    expect(() => decodeConfChangeEntry(new TextEncoder().encode('{"v":2}'))).toThrow(RaftAssertionError);
    expect(() =>
      decodeConfChangeEntry(new TextEncoder().encode('{"v":1,"change":null,"voters":["a"],"learners":["a"]}')),
    ).toThrow(/duplicate/);
  });
});
