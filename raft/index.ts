/**
 * The public API of the Raft core. Import from here (`raft/index.js`), not from the
 * files behind it. See `types.ts` for the contract (and the `Ready` ordering rule).
 */
export * from './types.js';
export { createRaftNode } from './raft.js';
export { MemoryStorage } from './memory-storage.js';
export { createSeededPrng } from './prng.js';
export { RaftAssertionError, assert, fail } from './assert.js';
export { RAFT_OPTION_DEFAULTS, resolveRaftOptions } from './options.js';
export type { ResolvedRaftOptions } from './options.js';
export {
  CONF_MEMBERS_MAX,
  applyConfChange,
  bootstrapEntry,
  confStatesEqual,
  decodeConfChangeEntry,
  emptyConfState,
  encodeConfChangeEntry,
  isLearner,
  isMember,
  isVoter,
  quorumSize,
} from './conf.js';
export type { ConfChangeOutcome } from './conf.js';
