/**
 * Invariant checks for the Raft core. A failed assertion means a bug or corrupt input
 * from storage: the process should crash and restart from disk, never continue.
 */

/** Thrown by `assert`; `code` is stable so shells can tell a bug from an I/O failure. */
export class RaftAssertionError extends Error {
  readonly code = 'RAFT_ASSERTION_FAILED';

  constructor(message: string) {
    super(message);
    this.name = 'RaftAssertionError';
  }
}

/**
 * Throws `RaftAssertionError` with `message` unless `condition` holds.
 * @example
 * ```ts
 * assert(commit <= lastIndex, `commit ${commit} beyond last index ${lastIndex}`);
 * ```
 */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new RaftAssertionError(message);
}

/**
 * Throws `RaftAssertionError`. For hot paths, where the message (a template string) must
 * only be built when the check fails: `if (index > last) fail(`...${index}...`)`.
 */
export function fail(message: string): never {
  throw new RaftAssertionError(message);
}
