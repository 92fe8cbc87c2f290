/**
 * The public API of storage/: node storages (LevelDB and in-memory), their interfaces,
 * errors and options. Import from here (`storage/index.js`). See docs/storage.md.
 */
export type { CorruptGroup, FsyncMode, GroupStorage, NodeStorage, NodeStorageStats, PersistInput, SnapshotCommitResult, SnapshotWriter, WipeOptions } from './types.js';
export { GROUP_ID_MAX, toGroupId } from './group-id.js';
export type { GroupId } from './group-id.js';
export { StorageCorruptionError, StorageUnavailableError } from './errors.js';
export type { CorruptionDetail, CorruptionReason, UnavailableReason } from './errors.js';
export { STORAGE_OPTION_DEFAULTS } from './options.js';
export type { LevelNodeStorageOptions, MemoryNodeStorageOptions, StorageOptions } from './options.js';
export { LevelNodeStorage } from './level-node-storage.js';
export type { LevelNodeStorageDeps, OpenReport } from './level-node-storage.js';
export { MemoryDisk, MemoryNodeStorage } from './memory-node-storage.js';
export type { MemoryNodeStorageDeps } from './memory-node-storage.js';
export { crc32c } from './crc32c.js';
export { FORMAT_VERSION } from './records.js';
export { FixedHistogram, STORAGE_LATENCY_BOUNDS_SECONDS } from './fixed-histogram.js';
