// Proves the shard side of a group split on in-process replicas: a fence stops the
// source serving the moved slots, their state exported at the fence seeds the new group
// (which serves exactly those slots, with every counter intact), release drops the moved
// state on the source, an abort's unfence serves them again, late duplicates change
// nothing, the leader's pre-fence covers the gap before the fence applies, and slot
// ownership survives snapshots (which stay unchanged for groups never split).
import { describe, expect, it } from 'vitest';
import { loadConfigOrThrow } from '../../src/config/index.js';
import { ShardMachine } from '../../src/node/shard/shard-machine.js';
import { slotOf, SLOT_COUNT } from '../../src/protocol/slot.js';
import { CONTROL_TAG, decodeControl, encodeControl, type ControlEntry } from '../../src/shard/control.js';
import { ShardLeader, type CheckRequest } from '../../src/shard/leader.js';
import { ShardReplica } from '../../src/shard/replica.js';
import { SLOT_FENCED, SLOT_GONE, SLOT_SERVED } from '../../src/shard/slot-ownership.js';
import type { Entry, LogIndex, Term } from '../../raft/index.js';

const CONFIG = loadConfigOrThrow('defaults: { algorithm: gcra, limit: 3, period: 1h }');
const T0 = 1_700_000_000_000;
const req = (key: string): CheckRequest => ({ key, resources: ['default'], cost: 1, tier: undefined, idempotencyId: undefined });

/** Decides `n` checks of `key` on `leader` and commits them to `replica`; returns how many were allowed. */
function admit(leader: ShardLeader, replica: ShardReplica, key: string, n: number, nowMs = T0): number {
  let allowed = 0;
  for (let i = 0; i < n; i++) if (leader.check(req(key), nowMs).result.allowed) allowed++;
  const b = leader.seal();
  if (b !== null) leader.onApplied(replica.apply(replica.appliedIndex + 1, b.data));
  return allowed;
}

function control(r: ShardReplica, c: ControlEntry): void {
  r.applyControl(r.appliedIndex + 1, encodeControl(c));
}

/** Keys until both slot sets have `n` keys each: `moved` are in `slots`, `kept` are not. */
function keysFor(slots: ReadonlySet<number>, n: number): { moved: string[]; kept: string[] } {
  const moved: string[] = [];
  const kept: string[] = [];
  for (let i = 0; i < 100_000 && (moved.length < n || kept.length < n); i++) {
    const key = `user:${i}`;
    const list = slots.has(slotOf(key)) ? moved : kept;
    if (list.length < n) list.push(key);
  }
  return { moved, kept };
}

const MOVED = Array.from({ length: SLOT_COUNT / 2 }, (_, i) => SLOT_COUNT / 2 + i);
const MOVED_SET = new Set(MOVED);
const MASK = new Uint8Array(SLOT_COUNT);
for (const s of MOVED) MASK[s] = 1;

describe('group split on shard replicas', () => {
  it('fences, seeds the new group with every counter, serves each slot on exactly one side, then releases', () => {
    const source = new ShardReplica();
    const sourceLeader = new ShardLeader(source, CONFIG);
    const { moved, kept } = keysFor(MOVED_SET, 5);
    for (const key of [...moved, ...kept]) expect(admit(sourceLeader, source, key, 3)).toBe(3);

    control(source, { t: 'fence', splitId: 7, slots: MOVED });
    for (const s of MOVED) expect(source.ownership.states[s]).toBe(SLOT_FENCED);
    expect(source.ownership.fencedBy(7)).toHaveLength(MOVED.length);

    // The seed: the fenced slots' states, read at (or after) the fence.
    const target = new ShardReplica();
    control(target, { t: 'seedBegin', splitId: 7, slots: MOVED, nowMs: source.maxAppliedTimeMs });
    expect(target.ownership.states[0]).toBe(SLOT_GONE);
    expect(target.ownership.states[MOVED[0] as number]).toBe(SLOT_FENCED);
    const chunks = [...source.exportSlots(MASK, 2, 3)].filter((c) => c.byteLength > 0);
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    for (const batch of chunks) control(target, { t: 'seedChunk', splitId: 7, batch });
    control(target, { t: 'seedEnd', splitId: 7 });
    expect(target.ownership.seededSplit).toBe(7);
    for (const s of MOVED) expect(target.ownership.states[s]).toBe(SLOT_SERVED);
    expect(target.ownership.states[0]).toBe(SLOT_GONE);
    // Exactly the moved keys' states arrived, unchanged.
    expect(target.store.size).toBe(moved.length);
    for (const key of moved) expect(target.store.find(key, 'default')).toBeGreaterThanOrEqual(0);
    // Counters survive: every key at its limit stays at its limit on the side that serves it.
    const targetLeader = new ShardLeader(target, CONFIG);
    for (const key of moved) expect(admit(targetLeader, target, key, 1)).toBe(0);
    for (const key of kept) expect(admit(sourceLeader, source, key, 1)).toBe(0);
    expect(target.maxAppliedTimeMs).toBeGreaterThanOrEqual(source.maxAppliedTimeMs);

    // A chunk of a finished seed changes nothing; a duplicate seedBegin does not undo it.
    control(target, { t: 'seedBegin', splitId: 7, slots: MOVED, nowMs: 0 });
    expect(target.ownership.states[MOVED[0] as number]).toBe(SLOT_SERVED);

    control(source, { t: 'release', splitId: 7 });
    for (const s of MOVED) expect(source.ownership.states[s]).toBe(SLOT_GONE);
    expect(source.ownership.fenceIds()).toEqual([]);
    source.sweep(1_000_000);
    expect(source.store.size).toBe(kept.length);
    // A late duplicate fence fences nothing (a gone slot stays gone), so nothing can unfence it.
    control(source, { t: 'fence', splitId: 7, slots: MOVED });
    expect(source.ownership.fencedBy(7)).toBeUndefined();
    control(source, { t: 'unfence', splitId: 7 });
    for (const s of MOVED) expect(source.ownership.states[s]).toBe(SLOT_GONE);
  });

  it('an aborted split unfences the slots it fenced, and only those', () => {
    const r = new ShardReplica();
    control(r, { t: 'fence', splitId: 3, slots: [1, 2, 3] });
    control(r, { t: 'unfence', splitId: 3 });
    expect([...r.ownership.states.subarray(0, 5)]).toEqual([0, 0, 0, 0, 0]);
    expect(r.ownership.isDefault).toBe(true);
  });

  it('the leader stops deciding for slots once it proposes their fence, until the fence (or an abort) applies', () => {
    const m = new ShardMachine(CONFIG);
    m.onRoleChange('leader', null, 1 as Term);
    const slot = MOVED[0] as number;
    expect(m.refuses(slot)).toBe(false);
    m.preFence(9, [slot]);
    expect(m.refuses(slot)).toBe(true);
    const entry = (index: number, c: ControlEntry): Entry => ({ index: index as LogIndex, term: 1 as Term, type: 'normal', data: encodeControl(c) });
    m.apply(entry(1, { t: 'fence', splitId: 9, slots: [slot] }));
    expect(m.refuses(slot)).toBe(true);
    m.apply(entry(2, { t: 'unfence', splitId: 9 }));
    expect(m.refuses(slot)).toBe(false);
    // A leadership change drops a pre-fence whose entry never applied.
    m.preFence(10, [slot]);
    m.onRoleChange('follower', null, 2 as Term);
    expect(m.refuses(slot)).toBe(false);
  });

  it('slot ownership survives a snapshot; a group never split writes no ownership chunk', () => {
    const plain = new ShardReplica();
    admit(new ShardLeader(plain, CONFIG), plain, 'a', 1);
    expect([...plain.snapshotChunks()].some((c) => c[0] === CONTROL_TAG)).toBe(false);

    const r = new ShardReplica();
    const leader = new ShardLeader(r, CONFIG);
    const { moved } = keysFor(MOVED_SET, 3);
    for (const key of moved) admit(leader, r, key, 2);
    control(r, { t: 'fence', splitId: 4, slots: MOVED });
    const copy = new ShardReplica();
    copy.restore(r.appliedIndex, [...r.snapshotChunks()]);
    expect([...copy.ownership.states]).toEqual([...r.ownership.states]);
    expect(copy.ownership.fencedBy(4)).toEqual(r.ownership.fencedBy(4));
    expect(copy.store.size).toBe(r.store.size);
    // Restoring a snapshot without an ownership chunk serves everything again.
    copy.restore(plain.appliedIndex, [...plain.snapshotChunks()]);
    expect(copy.ownership.isDefault).toBe(true);
  });

  it('control entries round-trip and malformed ones are rejected by field', () => {
    const c: ControlEntry = { t: 'seedBegin', splitId: 5, slots: [1, 4095], nowMs: T0 };
    expect(decodeControl(encodeControl(c))).toEqual(c);
    expect(() => decodeControl(encodeControl({ t: 'fence', splitId: 5, slots: [4096] }))).toThrow(/control.slots\[0\]/);
    expect(() => decodeControl(encodeControl({ t: 'fence', splitId: 0, slots: [] }))).toThrow(/splitId/);
    expect(() => decodeControl(new Uint8Array([2, 1]))).toThrow(/not a control entry/);
  });
});
