/**
 * A crash-loop breaker. LevelDB (the prebuilt classic-level binary keeps its assertions)
 * can abort the whole process when it reads some damaged table files, e.g.
 * `ExtractUserKey: Assertion 'internal_key.size() >= 8' failed`; no JavaScript handler
 * runs, and the next start would read the same bytes and abort again.
 *
 * So before a read or wipe of one group's records, the group and operation are written
 * to a small file beside the database (`RL-INFLIGHT`, no fsync: it only has to survive the
 * process, not the machine), and removed after. A process that finds an entry left by an
 * earlier process knows that process died during that operation. Dying once may be chance
 * (a SIGKILL); dying `ATTEMPTS_MAX` times in a row on the same group is not: the group is
 * then marked corrupt without being read again, and its wipe is refused with a typed
 * error (the database needs `LevelNodeStorage.repair`, see docs/storage.md).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toGroupId, type GroupId } from './group-id.js';

/** `read`/`wipe` of one group's records; `list` is the listing of groups at open (group id 0 is unused for it). */
export type InflightOp = 'read' | 'wipe' | 'list';

/** Deaths in a row during one group's reads (or wipe) before it is given up on: once may be chance, twice is not. */
export const ATTEMPTS_MAX = 2;
/** Entries kept: one per group with an operation in flight or a recent death; a node hosts far fewer groups. */
const ENTRIES_MAX = 1 << 16;

interface Entry {
  readonly op: InflightOp;
  /** Operations begun on this group by processes that died before ending them, plus the current one. */
  attempts: number;
  /** Operations of this process in flight on the group (reads may overlap). */
  active: number;
}

export class InflightJournal {
  private readonly path: string;
  /** Keyed by group id, or `list`. */
  private readonly entries = new Map<string, Entry>();

  /** Reads the journal left in `location` (a missing or unreadable file means none). */
  constructor(location: string) {
    this.path = join(location, 'RL-INFLIGHT');
    let text = '';
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return;
    }
    for (const line of text.split('\n')) {
      const m = /^(\d+|list) (read|wipe|list) (\d+)$/.exec(line.trim());
      if (m === null || this.entries.size >= ENTRIES_MAX) continue;
      if (m[1] !== 'list' && Number(m[1]) > 0xffff_ffff) continue;
      this.entries.set(m[1] as string, { op: m[2] as InflightOp, attempts: Number(m[3]), active: 0 });
    }
  }

  /** Deletes the journal of the database at `location` (after a repair: its record of deaths no longer applies). */
  static clear(location: string): void {
    rmSync(join(location, 'RL-INFLIGHT'), { force: true });
  }

  /** Operations of `op`'s kind on the group (ignored for `list`) that earlier processes died in, in a row. */
  deaths(groupId: GroupId, op: InflightOp): number {
    const e = this.entries.get(keyOf(groupId, op));
    return e === undefined || e.active > 0 || e.op !== op ? 0 : e.attempts;
  }

  /** Groups whose reads killed `ATTEMPTS_MAX` processes in a row. */
  givenUp(op: InflightOp): GroupId[] {
    return [...this.entries]
      .filter(([k, e]) => k !== 'list' && e.active === 0 && e.op === op && e.attempts >= ATTEMPTS_MAX)
      .map(([k]) => toGroupId(Number(k)));
  }

  begin(groupId: GroupId, op: InflightOp): void {
    const key = keyOf(groupId, op);
    const prior = this.entries.get(key);
    if (prior !== undefined && prior.active > 0 && prior.op === op) {
      prior.active++;
      return;
    }
    const attempts = (prior !== undefined && prior.op === op ? prior.attempts : 0) + 1;
    this.entries.set(key, { op, attempts, active: 1 });
    this.write();
  }

  /** One operation completed: once none is in flight, the group's record of deaths is cleared. */
  end(groupId: GroupId, op: InflightOp = 'read'): void {
    const key = keyOf(groupId, op);
    const e = this.entries.get(key);
    if (e === undefined) return;
    if (--e.active > 0) return;
    this.entries.delete(key);
    this.write();
  }

  /** Forgets the group's deaths (after it was marked corrupt, wiped or dropped), or the listing's for `list`. */
  forget(groupId: GroupId, op: InflightOp = 'read'): void {
    if (this.entries.delete(keyOf(groupId, op))) this.write();
  }

  private write(): void {
    if (this.entries.size === 0) {
      rmSync(this.path, { force: true });
      return;
    }
    const lines: string[] = [];
    for (const [k, e] of this.entries) lines.push(`${k} ${e.op} ${e.attempts}`);
    writeFileSync(this.path, `${lines.join('\n')}\n`);
  }
}

function keyOf(groupId: GroupId, op: InflightOp): string {
  return op === 'list' ? 'list' : `${groupId}`;
}
