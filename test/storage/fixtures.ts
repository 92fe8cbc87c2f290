/**
 * Shared fixtures of the storage tests (no vitest import, so child processes and scripts
 * can use them): entries, hard states and Ready-like inputs of known contents, and
 * `observe`, everything a RaftStorage reader can see, for comparing two storages.
 */
import { toLogIndex, toNodeId, toTerm } from '../../raft/index.js';
import type { ConfState, Entry, HardState, LogIndex, RaftStorage } from '../../raft/index.js';
import { toGroupId } from '../../storage/index.js';
import type { PersistInput } from '../../storage/index.js';

export const G1 = toGroupId(1);
export const G2 = toGroupId(2);
export const CONF: ConfState = { voters: [toNodeId('a'), toNodeId('b'), toNodeId('c')], learners: [] };

/** An entry whose payload encodes (index, term) and has `size` bytes. */
export function ent(index: number, term: number, size = 8): Entry {
  const data = new Uint8Array(size);
  for (let k = 0; k < size; k++) data[k] = (index * 31 + term * 7 + k) & 0xff;
  return { index: toLogIndex(index), term: toTerm(term), type: 'normal', data };
}

export function ents(from: number, to: number, term: number, size = 8): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(ent(i, term, size));
  return out;
}

export function hs(term: number, commit: number, vote: string | null = null): HardState {
  return { term: toTerm(term), vote: vote === null ? null : toNodeId(vote), commit: toLogIndex(commit) };
}

export function rd(parts: Partial<PersistInput>): PersistInput {
  const entries = parts.entries ?? [];
  return {
    snapshot: parts.snapshot ?? null,
    entries,
    hardState: parts.hardState ?? null,
    mustSync: parts.mustSync ?? (entries.length > 0 || parts.snapshot != null),
  };
}

/** Everything a reader of `RaftStorage` can observe, for comparing two storages. */
export function observe(s: RaftStorage): unknown {
  const first = s.firstIndex();
  const last = s.lastIndex();
  const terms: number[] = [];
  for (let i = first - 1; i <= last; i++) terms.push(s.term(i as LogIndex));
  const entries = first <= last ? s.entries(first, (last + 1) as LogIndex, Number.MAX_SAFE_INTEGER).map((e) => [e.index, e.term, e.type, Buffer.from(e.data).toString('hex')]) : [];
  const snap = s.snapshot();
  const chunk = s.snapshotChunk(snap.index, 0, 1 << 30);
  return {
    hardState: s.initialState().hardState,
    first,
    last,
    terms,
    entries,
    snapshot: snap,
    snapshotData: chunk.type === 'chunk' ? Buffer.from(chunk.data).toString('hex') : null,
  };
}

