// Proves the record format catches damage and bad input: every record round-trips, any
// flipped byte, a truncated value, an unknown format version, a record stored under
// another group's or another index's key all raise StorageCorruptionError naming the group.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toLogIndex, toNodeId, toTerm } from '../../raft/index.js';
import { StorageCorruptionError, toGroupId } from '../../storage/index.js';
import {
  decodeEntry,
  decodeGroupState,
  decodeSnapshotChunk,
  decodeSnapshotMeta,
  encodeEntry,
  encodeGroupState,
  encodeSnapshotChunk,
  encodeSnapshotMeta,
  HEADER_BYTES,
} from '../../storage/records.js';
import { fcParams } from '../support/fc-params.js';
import { ent } from './fixtures.js';

const G = toGroupId(3);

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return null;
}

describe('records', () => {
  it('entries, group state (hard state and log bounds), snapshot meta and chunks round-trip', () => {
    const e = ent(77, 5, 300);
    expect(decodeEntry(G, 77, encodeEntry(G, e))).toEqual(e);
    const conf = { type: 'confChange' as const, index: toLogIndex(1), term: toTerm(1), data: new Uint8Array([1, 2]) };
    expect(decodeEntry(G, 1, encodeEntry(G, conf))).toEqual(conf);
    const h = { term: toTerm(9), vote: toNodeId('nöde-ü'), commit: toLogIndex(2 ** 40) };
    const log = { offsetIndex: toLogIndex(10), offsetTerm: toTerm(2), lastIndex: toLogIndex(2 ** 53 - 1), lastTerm: toTerm(3) };
    expect(decodeGroupState(G, encodeGroupState(G, { hardState: h, log }))).toEqual({ hardState: h, log });
    expect(decodeGroupState(G, encodeGroupState(G, { hardState: { ...h, vote: null }, log }))).toEqual({ hardState: { ...h, vote: null }, log });
    const s = {
      index: toLogIndex(500),
      term: toTerm(4),
      confState: { voters: [toNodeId('a'), toNodeId('b')], learners: [toNodeId('c')] },
      dataBytes: 10_000,
      generation: 7,
      chunkBytes: 4096,
      chunkCount: 3,
    };
    expect(decodeSnapshotMeta(G, encodeSnapshotMeta(G, s))).toEqual(s);
    expect(decodeSnapshotChunk(G, 500, 7, 2, encodeSnapshotChunk(G, 500, 7, 2, new Uint8Array([4, 5])))).toEqual(new Uint8Array([4, 5]));
  });

  it('any single flipped byte of a record is caught', () => {
    const value = encodeEntry(G, ent(12, 3, 64));
    fc.assert(
      fc.property(fc.nat(value.length - 1), fc.integer({ min: 1, max: 255 }), (pos, mask) => {
        const damaged = value.slice();
        damaged[pos] = (damaged[pos] as number) ^ mask;
        const err = caught(() => decodeEntry(G, 12, damaged));
        expect(err).toBeInstanceOf(StorageCorruptionError);
        expect(err).toMatchObject({ code: 'RL_ERR_STORAGE_CORRUPT', groupId: G, index: 12 });
      }),
      fcParams(200),
    );
  });

  it('a truncated record is caught', () => {
    const value = encodeEntry(G, ent(12, 3, 64));
    for (const n of [0, 5, HEADER_BYTES - 1, HEADER_BYTES, value.length - 1]) {
      expect(caught(() => decodeEntry(G, 12, value.subarray(0, n)))).toBeInstanceOf(StorageCorruptionError);
    }
  });

  it('an unknown format version is reported as such, not served', () => {
    const value = encodeEntry(G, ent(12, 3));
    value[0] = 2;
    expect(caught(() => decodeEntry(G, 12, value))).toMatchObject({ reason: 'formatVersion', groupId: G, index: 12, message: expect.stringMatching(/format version 2 is not supported/) });
  });

  it('a record under another group, index or record type is caught', () => {
    const value = encodeEntry(G, ent(12, 3));
    expect(caught(() => decodeEntry(toGroupId(4), 12, value))).toMatchObject({ reason: 'groupMismatch', groupId: 4, message: expect.stringMatching(/belongs to group 3/) });
    expect(caught(() => decodeEntry(G, 13, value))).toMatchObject({ reason: 'keyMismatch', index: 13 });
    expect(caught(() => decodeGroupState(G, value))).toMatchObject({ reason: 'keyMismatch' });
    expect(caught(() => decodeSnapshotChunk(G, 500, 7, 3, encodeSnapshotChunk(G, 500, 7, 2, new Uint8Array(1))))).toMatchObject({ reason: 'keyMismatch' });
  });
});
