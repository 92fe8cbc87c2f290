/**
 * What the crash tests compare: a digest of everything a group shows (hard state, log,
 * terms, snapshot meta and data, applied index). The child prints the digest of each
 * write's resulting view as it stages it; after a SIGKILL the parent reopens the database
 * and requires each group's digest to be one of those the child could have left on disk.
 */
import { createHash } from 'node:crypto';
import type { LogIndex } from '../../raft/index.js';
import type { GroupStorage } from '../../storage/index.js';

/** A hex digest of the group's whole observable state. Reads every entry and the snapshot data. */
export function digestGroup(g: GroupStorage): string {
  const h = createHash('sha1');
  const hs = g.initialState().hardState;
  const first = g.firstIndex();
  const last = g.lastIndex();
  const snap = g.snapshot();
  h.update(JSON.stringify({ hs, first, last, snap, applied: g.appliedIndex(), offsetTerm: g.term((first - 1) as LogIndex) }));
  if (first <= last) {
    let lo: number = first;
    // Bounded by the log length: each page advances lo.
    while (lo <= last) {
      const page = g.entries(lo as LogIndex, (last + 1) as LogIndex, 1 << 20);
      for (const e of page) {
        h.update(`${e.index}/${e.term}/${e.type}/${e.data.byteLength}:`);
        h.update(e.data);
      }
      lo += page.length;
    }
  }
  const chunk = g.snapshotChunk(snap.index, 0, 1 << 30);
  if (chunk.type === 'chunk') h.update(chunk.data);
  return h.digest('hex');
}

/** One line of the child's protocol on stdout. */
export type ChildLine =
  | { readonly kind: 'ready' }
  | { readonly kind: 'start'; readonly group: number; readonly digest: string }
  | { readonly kind: 'staged'; readonly group: number; readonly digest: string }
  | { readonly kind: 'ack'; readonly group: number; readonly digest: string };

export function parseLine(line: string): ChildLine | null {
  const p = line.trim().split(' ');
  switch (p[0]) {
    case 'ready':
      return { kind: 'ready' };
    case 'start':
      return { kind: 'start', group: Number(p[1]), digest: p[2] ?? '' };
    case 'staged':
      return { kind: 'staged', group: Number(p[1]), digest: p[2] ?? '' };
    case 'ack':
      return { kind: 'ack', group: Number(p[1]), digest: p[2] ?? '' };
    default:
      return null;
  }
}
