/**
 * Membership configurations: applying one single-server change, the byte codec of
 * `confChange` entries, quorum sizes, and the bootstrap entry that starts a group.
 */
import { assert } from './assert.js';
import type { ConfChange, ConfChangeEntryData, ConfState, Entry, LogIndex, NodeId, Term } from './types.js';
import { toNodeId } from './types.js';

/**
 * Largest voter + learner count of one group; bounds progress maps, heartbeat fan-out and
 * the size of a configuration entry. 1024 because the meta group holds every node of the
 * cluster as a learner (ARCHITECTURE.md), so this is also the cluster's node limit.
 */
export const CONF_MEMBERS_MAX = 1024;

const EMPTY_CONF: ConfState = Object.freeze({ voters: Object.freeze([]), learners: Object.freeze([]) });

/** The configuration with no members (a node that has not learned any yet). */
export function emptyConfState(): ConfState {
  return EMPTY_CONF;
}

/** Majority size for `voterCount` voters; 0 voters need 0 (nothing can be decided). */
export function quorumSize(voterCount: number): number {
  return voterCount === 0 ? 0 : Math.floor(voterCount / 2) + 1;
}

export function isVoter(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id);
}

export function isLearner(conf: ConfState, id: NodeId): boolean {
  return conf.learners.includes(id);
}

export function isMember(conf: ConfState, id: NodeId): boolean {
  return isVoter(conf, id) || isLearner(conf, id);
}

/** Structural equality, order-insensitive. */
export function confStatesEqual(a: ConfState, b: ConfState): boolean {
  if (a.voters.length !== b.voters.length || a.learners.length !== b.learners.length) return false;
  return a.voters.every((v) => b.voters.includes(v)) && a.learners.every((l) => b.learners.includes(l));
}

/** Throws `RaftAssertionError` unless `conf` is well formed (disjoint, no duplicates, bounded). */
export function assertConfState(conf: ConfState, what: string): void {
  const all = [...conf.voters, ...conf.learners];
  assert(all.length <= CONF_MEMBERS_MAX, `${what}: ${all.length} members exceed ${CONF_MEMBERS_MAX}`);
  assert(new Set(all).size === all.length, `${what}: duplicate or overlapping members ${JSON.stringify(conf)}`);
}

export type ConfChangeOutcome =
  | { readonly ok: true; readonly confState: ConfState }
  | { readonly ok: false; readonly detail: string };

/**
 * The configuration `change` yields from `conf`, or why it is not a change at all.
 * Does not check the promotion catch-up rule (the leader does, it knows the progress).
 */
export function applyConfChange(conf: ConfState, change: ConfChange): ConfChangeOutcome {
  const id = change.nodeId;
  const voters = conf.voters.filter((v) => v !== id);
  const learners = conf.learners.filter((l) => l !== id);
  switch (change.type) {
    case 'addVoter':
      if (isVoter(conf, id)) return { ok: false, detail: `${id} is already a voter` };
      voters.push(id);
      break;
    case 'addLearner':
      if (isLearner(conf, id)) return { ok: false, detail: `${id} is already a learner` };
      if (isVoter(conf, id) && conf.voters.length === 1) return { ok: false, detail: `cannot demote ${id}, the last voter` };
      learners.push(id);
      break;
    case 'removeNode':
      if (!isMember(conf, id)) return { ok: false, detail: `${id} is not a member` };
      if (isVoter(conf, id) && conf.voters.length === 1) return { ok: false, detail: `cannot remove ${id}, the last voter` };
      break;
  }
  if (voters.length + learners.length > CONF_MEMBERS_MAX) {
    return { ok: false, detail: `a group holds at most ${CONF_MEMBERS_MAX} members` };
  }
  return { ok: true, confState: Object.freeze({ voters: Object.freeze(voters), learners: Object.freeze(learners) }) };
}

const CODEC_VERSION = 1;

/**
 * Encodes the payload of a `confChange` entry. A small JSON document keeps it readable
 * in log dumps; conf changes are rare, so its size does not matter.
 */
export function encodeConfChangeEntry(data: ConfChangeEntryData): Uint8Array {
  const doc = {
    v: CODEC_VERSION,
    change: data.change === null ? null : { type: data.change.type, nodeId: data.change.nodeId },
    voters: data.confState.voters,
    learners: data.confState.learners,
  };
  return new TextEncoder().encode(JSON.stringify(doc));
}

function nodeIdList(value: unknown, what: string): NodeId[] {
  assert(Array.isArray(value), `confChange entry: '${what}' is not an array`);
  return (value as unknown[]).map((v) => {
    assert(typeof v === 'string', `confChange entry: '${what}' holds a non-string`);
    return toNodeId(v);
  });
}

/**
 * Decodes the payload of a `confChange` entry (`entry.data`).
 * @throws RaftAssertionError when the bytes are not a valid encoding (a corrupt log).
 * @example
 * ```ts
 * if (entry.type === 'confChange') {
 *   const { change, confState } = decodeConfChangeEntry(entry.data);
 * }
 * ```
 */
export function decodeConfChangeEntry(bytes: Uint8Array): ConfChangeEntryData {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    assert(false, `confChange entry: undecodable payload (${String(err)})`);
  }
  assert(typeof doc === 'object' && doc !== null, 'confChange entry: payload is not an object');
  const d = doc as { v?: unknown; change?: unknown; voters?: unknown; learners?: unknown };
  assert(d.v === CODEC_VERSION, `confChange entry: unknown codec version ${String(d.v)}`);
  let change: ConfChange | null = null;
  if (d.change !== null) {
    const c = d.change as { type?: unknown; nodeId?: unknown } | undefined;
    assert(typeof c === 'object', 'confChange entry: change is not an object');
    assert(c.type === 'addVoter' || c.type === 'addLearner' || c.type === 'removeNode', `confChange entry: bad change type ${String(c.type)}`);
    assert(typeof c.nodeId === 'string', 'confChange entry: change.nodeId is not a string');
    change = { type: c.type, nodeId: toNodeId(c.nodeId) };
  }
  const confState: ConfState = { voters: nodeIdList(d.voters, 'voters'), learners: nodeIdList(d.learners, 'learners') };
  assertConfState(confState, 'confChange entry');
  return { change, confState };
}

/**
 * The entry that starts a new group: index 1, term 1, type `confChange`, carrying the
 * initial configuration. Every initial member stores the same entry and a hard state of
 * `{ term: 1, vote: null, commit: 1 }`, so the entry is committed from the start and a
 * member added later learns the initial configuration by replicating the log from index 1
 * (as etcd-raft bootstraps). `MemoryStorage.bootstrap` does exactly this.
 */
export function bootstrapEntry(confState: ConfState): Entry {
  assertConfState(confState, 'bootstrapEntry');
  if (confState.voters.length === 0) {
    throw new RangeError(`bootstrapEntry: 'confState.voters' must not be empty (got ${JSON.stringify(confState)})`);
  }
  return Object.freeze({
    term: 1 as Term,
    index: 1 as LogIndex,
    type: 'confChange' as const,
    data: encodeConfChangeEntry({ change: null, confState }),
  });
}
