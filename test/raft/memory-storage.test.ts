// Proves MemoryStorage keeps the RaftStorage contract: consecutive appends that overwrite
// a conflicting suffix, byte-limited reads, snapshots read in chunks, and compaction only
// behind a snapshot.
import { describe, expect, it } from 'vitest';
import { MemoryStorage, toLogIndex, toNodeId, toTerm } from '../../raft/index.js';
import type { Entry } from '../../raft/index.js';
import { bytes } from './support/net.js';

const conf = { voters: [toNodeId('a')], learners: [] };

function entry(index: number, term: number, data = ''): Entry {
  return { index: toLogIndex(index), term: toTerm(term), type: 'normal', data: bytes(data) };
}

describe('MemoryStorage', () => {
  it('bootstraps with the configuration entry at index 1, committed', () => {
    const s = MemoryStorage.bootstrap(conf);
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(1);
    expect(s.term(toLogIndex(0))).toBe(0);
    expect(s.initialState().hardState).toEqual({ term: 1, vote: null, commit: 1 });
  });

  it('overwrites a conflicting suffix on append', () => {
    const s = MemoryStorage.bootstrap(conf);
    s.append([entry(2, 1), entry(3, 1), entry(4, 1)]);
    s.append([entry(3, 2)]);
    expect(s.lastIndex()).toBe(3);
    expect(s.term(toLogIndex(3))).toBe(2);
  });

  it('refuses a gap', () => {
    const s = MemoryStorage.bootstrap(conf);
    expect(() => s.append([entry(5, 1)])).toThrow(/gap/);
  });

  it('limits reads by bytes but returns at least one entry', () => {
    const s = MemoryStorage.bootstrap(conf);
    s.append([entry(2, 1, 'aaaa'), entry(3, 1, 'bbbb'), entry(4, 1, 'cccc')]);
    expect(s.entries(toLogIndex(2), toLogIndex(5), 1)).toHaveLength(1);
    expect(s.entries(toLogIndex(2), toLogIndex(5), 2 * 28)).toHaveLength(2);
    expect(s.entries(toLogIndex(2), toLogIndex(5), 1e9)).toHaveLength(3);
  });

  it('serves a snapshot in chunks and reports a replaced one unavailable', () => {
    const s = MemoryStorage.bootstrap(conf);
    s.append([entry(2, 1), entry(3, 1)]);
    s.setHardState({ term: toTerm(1), vote: null, commit: toLogIndex(3) });
    s.createSnapshot(toLogIndex(2), conf, bytes('0123456789'));
    expect(s.snapshotChunk(toLogIndex(2), 0, 4)).toEqual({ type: 'chunk', data: bytes('0123'), last: false });
    expect(s.snapshotChunk(toLogIndex(2), 8, 4)).toEqual({ type: 'chunk', data: bytes('89'), last: true });
    s.createSnapshot(toLogIndex(3), conf, bytes('x'));
    expect(s.snapshotChunk(toLogIndex(2), 0, 4)).toEqual({ type: 'unavailable' });
  });

  it('compacts only behind the snapshot and keeps the compaction point term', () => {
    const s = MemoryStorage.bootstrap(conf);
    s.append([entry(2, 1), entry(3, 2)]);
    s.setHardState({ term: toTerm(2), vote: null, commit: toLogIndex(3) });
    expect(() => s.compact(toLogIndex(2))).toThrow(RangeError);
    s.createSnapshot(toLogIndex(3), conf, bytes(''));
    s.compact(toLogIndex(2));
    expect(s.firstIndex()).toBe(3);
    expect(s.term(toLogIndex(2))).toBe(1);
  });

  it('refuses a snapshot beyond the commit index', () => {
    const s = MemoryStorage.bootstrap(conf);
    s.append([entry(2, 1)]);
    expect(() => s.createSnapshot(toLogIndex(2), conf, bytes(''))).toThrow(RangeError);
  });

  it('installs a received snapshot over the whole log', () => {
    const s = MemoryStorage.bootstrap(conf);
    s.applySnapshot({ meta: { index: toLogIndex(10), term: toTerm(3), confState: conf }, data: bytes('s') });
    expect(s.firstIndex()).toBe(11);
    expect(s.lastIndex()).toBe(10);
    expect(s.term(toLogIndex(10))).toBe(3);
  });
});
