// Proves option validation: defaults fill in, every bad value is a TypeError/RangeError
// naming the option and the value, unknown and etcd-style names are refused with a hint.
import { describe, expect, it } from 'vitest';
import { MemoryStorage, RAFT_OPTION_DEFAULTS, createRaftNode, createSeededPrng, resolveRaftOptions, toNodeId } from '../../raft/index.js';
import type { RaftOptions } from '../../raft/index.js';

const id = toNodeId('a');

describe('options', () => {
  it('fills every default and freezes the result', () => {
    const o = resolveRaftOptions({ id });
    expect(o.electionTimeoutTicks).toBe(RAFT_OPTION_DEFAULTS.electionTimeoutTicks);
    expect(o.preVote).toBe(true);
    expect(o.checkQuorum).toBe(true);
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('requires electionTimeoutTicks to exceed heartbeatIntervalTicks, naming both', () => {
    expect(() => resolveRaftOptions({ id, electionTimeoutTicks: 10, heartbeatIntervalTicks: 10 })).toThrow(
      "Cannot create Raft node: 'electionTimeoutTicks' must exceed 'heartbeatIntervalTicks' (got 10 and 10)",
    );
  });

  it('requires the clock drift bound below the election timeout in ms', () => {
    expect(() => resolveRaftOptions({ id, electionTimeoutTicks: 10, tickIntervalMs: 10, clockDriftMsMax: 100 })).toThrow(RangeError);
  });

  it('rejects non-integers with a TypeError and out-of-range values with a RangeError', () => {
    expect(() => resolveRaftOptions({ id, inflightMessagesMax: 1.5 })).toThrow(/'inflightMessagesMax' must be an integer \(got 1.5\)/);
    expect(() => resolveRaftOptions({ id, inflightMessagesMax: 0 })).toThrow(/'inflightMessagesMax' must be in \[1, 1000000\] \(got 0\)/);
    expect(() => resolveRaftOptions({ id, preVote: 'yes' as unknown as boolean })).toThrow(TypeError);
  });

  it('rejects unknown options, with a hint for etcd-style names', () => {
    expect(() => resolveRaftOptions({ id, electionTick: 10 } as unknown as RaftOptions)).toThrow(
      "unknown option 'electionTick'; did you mean 'electionTimeoutTicks'?",
    );
    expect(() => resolveRaftOptions({ id, colour: 1 } as unknown as RaftOptions)).toThrow("unknown option 'colour'");
  });

  it('rejects a bad id and bad deps', () => {
    expect(() => resolveRaftOptions({ id: '' as never })).toThrow(TypeError);
    expect(() => createRaftNode({ id }, { storage: {} as never, prng: createSeededPrng(1) })).toThrow(/deps.storage.initialState/);
    expect(() => createRaftNode({ id }, { storage: new MemoryStorage(), prng: {} as never })).toThrow(/deps.prng.nextInt/);
  });

  it('rejects an appliedIndex outside [snapshot, commit]', () => {
    const storage = MemoryStorage.bootstrap({ voters: [id], learners: [] });
    expect(() => createRaftNode({ id, appliedIndex: 5 as never }, { storage, prng: createSeededPrng(1) })).toThrow(/'appliedIndex' must be in \[0, 1\]/);
  });
});
