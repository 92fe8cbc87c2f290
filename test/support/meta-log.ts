/**
 * Meta-group logs for state-machine tests: commands as Raft entries, replayed on a fresh
 * `MetaStateMachine`, and the small cluster maps the tests start from.
 */
import { MetaStateMachine, bootstrapClusterMap, encodeCommand, type ClusterMap, type MetaCommand } from '../../cluster/meta/index.js';
import type { Entry, LogIndex, SnapshotMeta, Term } from '../../raft/index.js';

/** `cmd` as the entry at `index` (term 1); null is an empty entry (a leader's no-op). */
export function metaEntry(index: number, cmd: MetaCommand | null, type: Entry['type'] = 'normal'): Entry {
  return { index: index as LogIndex, term: 1 as Term, type, data: cmd === null ? new Uint8Array(0) : encodeCommand(cmd) };
}

/** Applies `cmds` from index 1 on a fresh machine; returns it. */
export function replayMeta(cmds: readonly (MetaCommand | null)[]): MetaStateMachine {
  const m = new MetaStateMachine();
  cmds.forEach((c, i) => m.apply(metaEntry(i + 1, c)));
  return m;
}

/** A map over nodes n1..nN at 127.0.0.1:710i (peers) and :700i (API), slot s in group s % 2 + 1. */
export function loopbackMap(nodes: number, slotCount: number, groups: readonly { id: number; replicas: string[] }[]): Omit<ClusterMap, 'version'> {
  return bootstrapClusterMap(
    Array.from({ length: nodes }, (_, i) => ({ id: `n${i + 1}`, peerAddress: `127.0.0.1:710${i + 1}`, apiAddress: `127.0.0.1:700${i + 1}` })),
    slotCount,
    (s) => (s % 2) + 1,
    groups,
  );
}

/** A fresh machine restored from `m`'s snapshot at its applied index. */
export async function restoredCopy(m: MetaStateMachine): Promise<MetaStateMachine> {
  const b = new MetaStateMachine();
  const meta: SnapshotMeta = { index: m.appliedIndex() as LogIndex, term: 1 as Term, confState: { voters: [], learners: [] } };
  async function* chunks(): AsyncIterable<Uint8Array> {
    yield* m.snapshotChunks();
  }
  await b.restore(meta, chunks());
  return b;
}
