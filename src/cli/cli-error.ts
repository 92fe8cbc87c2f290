/**
 * How rlctl fails: a `CliError` carries the exit code (1: the operation failed, 2: the
 * command line is wrong) and one line for the user; `details` go to `--json` output.
 * Nothing else reaches the user: no stack traces.
 */

/** Exit codes, documented in docs/rlctl.md. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export class CliError extends Error {
  constructor(
    readonly exitCode: typeof EXIT_FAILURE | typeof EXIT_USAGE,
    message: string,
    /** The error as `--json` prints it (code, message, issues, …). */
    readonly details: Readonly<Record<string, unknown>> = {},
    /** Extra lines printed after the message in human output (e.g. one per config issue). */
    readonly lines: readonly string[] = [],
  ) {
    super(message);
    this.name = 'CliError';
  }
}
