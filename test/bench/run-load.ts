/**
 * Runs a load generator in its own process (never in a node's) and returns the JSON line
 * it prints last. Used by every benchmark that drives a cluster or a peer.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The cluster's load generator (WebSocket frames routed to each key's leader). */
export const NODE_LOAD_SCRIPT = fileURLToPath(new URL('./node-load.ts', import.meta.url));

/** An idle process that measures how long it waits for a CPU (test/bench/stall-probe.ts). */
export const STALL_PROBE_SCRIPT = fileURLToPath(new URL('./stall-probe.ts', import.meta.url));

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Runs `script` with `--seconds seconds` and `args`; killed after `seconds` + 60 s if it has not ended (bounded). */
export function runLoadScript<T = Record<string, number>>(script: string, seconds: number, args: readonly string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, '--seconds', String(seconds), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 60) * 1000);
    child.on('exit', (code) => {
      clearTimeout(killer);
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as T);
      } catch {
        reject(new Error(`load generator ${script} exited ${code}: ${out}`));
      }
    });
  });
}
