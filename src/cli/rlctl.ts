/**
 * `rlctl`: the admin CLI (entry point). `npm run rlctl -- status`, or the `rlctl` bin
 * (bin/rlctl.mjs). Commands and exit codes: docs/rlctl.md.
 */
import { processIo } from './io.js';
import { runRlctl } from './program.js';

process.exitCode = await runRlctl(process.argv.slice(2), processIo, process.env);
