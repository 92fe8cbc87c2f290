/**
 * `rlctl top`: a live terminal view of the cluster read from `GET /v1/stats` — the node
 * given by `--endpoint`, plus every other node whose API address it reports — refreshed
 * every `intervalMs`. On a terminal each frame clears the screen and redraws aligned
 * tables; otherwise frames are printed one after another (or one JSON line each with
 * `json`). Stops after `iterations` frames, or on SIGINT.
 */
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './cli-error.js';
import { parseEndpoint, request, type Endpoint } from './client.js';
import { processIo, type CliIo } from './io.js';
import { table } from './table.js';
import type { NodeStats } from '../node/stats/types.js';

export interface TopOptions {
  /** host:port (or http://host:port) of any node. */
  readonly endpoint: string;
  /** Sent as a bearer token when set (the stats need none today). */
  readonly token: string | undefined;
  /** Time between refreshes, 100 ms or more. */
  readonly intervalMs: number;
  /** Frames to draw before returning; unbounded (until SIGINT) when absent. */
  readonly iterations?: number;
  /** One JSON object per line instead of tables. */
  readonly json?: boolean;
  /** Where to write (tests); the process's stdout/stderr by default. */
  readonly io?: CliIo;
  /** Redraw in place with ANSI codes; by default when stdout is a terminal and `io` is not given. */
  readonly tty?: boolean;
}

/** One refresh: every node's stats that could be read, and which could not. */
export interface TopFrame {
  readonly endpoint: string;
  readonly atMs: number;
  /** Sums over the reporting nodes; latencies are the worst node's. */
  readonly totals: {
    readonly allowedPerSec: number;
    readonly deniedPerSec: number;
    readonly errorsPerSec: number;
    readonly p50Ms: number | null;
    readonly p99Ms: number | null;
  };
  readonly nodes: readonly NodeStats[];
  /** Nodes listed by the endpoint whose stats could not be read this time, with why. */
  readonly unreachable: readonly { readonly id: string; readonly reason: string }[];
}

/** Peers read per frame at most: bounds the fan-out of one refresh. */
const PEERS_MAX = 64;
const CLEAR = '\x1b[H\x1b[2J';
const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';

function isNodeStats(v: unknown): v is NodeStats {
  const o = v as Partial<NodeStats> | null;
  return typeof o === 'object' && o !== null && o.schema === 1 && typeof o.node === 'string' && typeof o.checks === 'object' && Array.isArray(o.groups) && Array.isArray(o.nodes);
}

async function readStats(endpoint: Endpoint, token: string | undefined, timeoutMs: number): Promise<NodeStats> {
  const a = await request(endpoint, '/v1/stats', { token, timeoutMs });
  if (a.status !== 200) throw new CliError(EXIT_FAILURE, `${endpoint.name} answered HTTP ${a.status} to /v1/stats`);
  if (!isNodeStats(a.body)) throw new CliError(EXIT_FAILURE, `${endpoint.name} answered /v1/stats with an unknown shape (schema 1 expected)`);
  return a.body;
}

/** Reads the endpoint's stats, then every other node's it names, in parallel. Throws CliError when the endpoint itself fails. */
export async function fetchFrame(endpoint: Endpoint, token: string | undefined, timeoutMs: number): Promise<TopFrame> {
  const self = await readStats(endpoint, token, timeoutMs);
  const peers = self.nodes.filter((n) => !n.self).slice(0, PEERS_MAX);
  const unreachable: { id: string; reason: string }[] = [];
  const others = await Promise.all(
    peers.map(async (n): Promise<NodeStats | null> => {
      if (n.api === null) {
        unreachable.push({ id: n.id, reason: 'API address not known yet' });
        return null;
      }
      try {
        return await readStats(parseEndpoint(n.api), token, timeoutMs);
      } catch (err) {
        unreachable.push({ id: n.id, reason: err instanceof Error ? err.message : String(err) });
        return null;
      }
    }),
  );
  const nodes = [self, ...others.filter((s): s is NodeStats => s !== null)];
  const worst = (pick: (s: NodeStats) => number | null): number | null =>
    nodes.reduce<number | null>((m, s) => {
      const v = pick(s);
      return v === null ? m : Math.max(m ?? 0, v);
    }, null);
  return {
    endpoint: endpoint.name,
    atMs: self.atMs,
    totals: {
      allowedPerSec: nodes.reduce((a, s) => a + s.checks.allowedPerSec, 0),
      deniedPerSec: nodes.reduce((a, s) => a + s.checks.deniedPerSec, 0),
      errorsPerSec: nodes.reduce((a, s) => a + s.checks.errorsPerSec, 0),
      p50Ms: worst((s) => s.checks.latency.p50Ms),
      p99Ms: worst((s) => s.checks.latency.p99Ms),
    },
    nodes,
    unreachable: unreachable.sort((a, b) => a.id.localeCompare(b.id)),
  };
}

function rate(n: number): string {
  return n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US');
}

function ms(v: number | null): string {
  if (v === null) return '-';
  return v < 10 ? `${v.toFixed(2)} ms` : `${v.toFixed(0)} ms`;
}

/** The text of one frame (tables, no ANSI codes). */
export function renderFrame(f: TopFrame, intervalMs: number): string {
  const self = f.nodes[0];
  if (self === undefined) return '';
  const time = new Date(f.atMs).toISOString().slice(11, 19);
  const lines: string[] = [];
  lines.push(`rlctl top  ${f.endpoint}  ${time} UTC  config v${self.configVersion}  slot map v${self.slotMapVersion}  every ${intervalMs} ms`);
  lines.push(
    `checks/s  allowed ${rate(f.totals.allowedPerSec)}  denied ${rate(f.totals.deniedPerSec)}  errors ${rate(f.totals.errorsPerSec)}` +
      `   latency p50 ${ms(f.totals.p50Ms)}  p99 ${ms(f.totals.p99Ms)}   (last ${self.windowS} s, ${f.nodes.length} of ${self.nodes.length} nodes reporting)`,
  );
  lines.push('');
  const byId = new Map(f.nodes.map((s) => [s.node, s]));
  const leads = (id: string): number => self.groups.filter((g) => g.leader === id).length;
  lines.push(
    table(
      ['NODE', 'LINK', 'ALLOWED/S', 'DENIED/S', 'ERRORS/S', 'P50', 'P99', 'LEADS', 'UP'],
      self.nodes.map((n) => {
        const s = byId.get(n.id);
        if (s === undefined) return [n.id, n.link, '-', '-', '-', '-', '-', String(leads(n.id)), '-'];
        return [n.id, n.link, rate(s.checks.allowedPerSec), rate(s.checks.deniedPerSec), rate(s.checks.errorsPerSec), ms(s.checks.latency.p50Ms), ms(s.checks.latency.p99Ms), String(leads(n.id)), `${Math.floor(s.uptimeMs / 1000)}s`];
      }),
    ).trimEnd(),
  );
  lines.push('');
  lines.push(
    table(
      ['GROUP', 'LEADER', 'TERM', 'COMMIT', 'APPLIED', 'REPLICAS', 'LAG'],
      self.groups.map((g) => {
        // The leader's own view has the followers' lag; else this node's apply lag.
        const leaderView = g.leader === null ? undefined : byId.get(g.leader)?.groups.find((x) => x.id === g.id);
        const lag = leaderView?.replicationLag != null ? Object.entries(leaderView.replicationLag).map(([id, n]) => `${id}:${n}`).join(' ') : g.applyLag === null ? '-' : `apply:${g.applyLag}`;
        return [
          g.id === 0 ? '0 meta' : String(g.id),
          g.leader ?? (g.hosted ? 'NONE' : '?'),
          g.term === null ? '-' : String(g.term),
          g.commitIndex === null ? '-' : String(g.commitIndex),
          g.appliedIndex === null ? '-' : String(g.appliedIndex),
          g.replicas.join(','),
          lag,
        ];
      }),
    ).trimEnd(),
  );
  const denied = new Map<string, number>();
  for (const s of f.nodes) for (const r of s.resources) if (r.deniedPerSec > 0) denied.set(r.name, (denied.get(r.name) ?? 0) + r.deniedPerSec);
  const top = [...denied].sort((a, b) => b[1] - a[1]).slice(0, 5);
  lines.push('');
  lines.push(top.length === 0 ? 'top denied: none in the window' : table(['TOP DENIED', 'DENIED/S'], top.map(([name, n]) => [name, rate(n)])).trimEnd());
  const alarms = new Map<number, string>();
  for (const s of f.nodes) for (const a of s.alarms) alarms.set(a.groupId, `${a.message} (seen by ${s.node})`);
  if (alarms.size > 0 || f.unreachable.length > 0) lines.push('');
  for (const [, text] of [...alarms].sort((a, b) => a[0] - b[0])) lines.push(`ALARM no leader: ${text}`);
  for (const u of f.unreachable) lines.push(`unreachable: ${u.id}: ${u.reason}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Runs the live view. Returns 0 when the last refresh read the endpoint, 1 when it could
 * not (a stop by SIGINT included), 2 for bad options.
 *
 * @example
 * ```ts
 * const code = await runTop({ endpoint: '127.0.0.1:7001', token: undefined, intervalMs: 1000, iterations: 5 });
 * ```
 */
export async function runTop(options: TopOptions): Promise<number> {
  const io = options.io ?? processIo;
  let endpoint: Endpoint;
  try {
    if (!Number.isInteger(options.intervalMs) || options.intervalMs < 100) throw new CliError(EXIT_USAGE, `--interval must be an integer of at least 100 ms (got ${options.intervalMs})`);
    if (options.iterations !== undefined && (!Number.isInteger(options.iterations) || options.iterations < 1)) {
      throw new CliError(EXIT_USAGE, `--iterations must be an integer of at least 1 (got ${options.iterations})`);
    }
    endpoint = parseEndpoint(options.endpoint);
  } catch (err) {
    io.err(`rlctl top: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof CliError ? err.exitCode : EXIT_USAGE;
  }
  const tty = options.tty ?? (options.io === undefined && process.stdout.isTTY === true && options.json !== true);
  const json = options.json === true;
  // A refresh waits at most one interval (at least 1 s) for any node, so a dead node never stalls the view.
  const timeoutMs = Math.max(1000, options.intervalMs);
  let stopped = false;
  let wake: (() => void) | null = null;
  const onSigint = (): void => {
    stopped = true;
    wake?.();
  };
  process.on('SIGINT', onSigint);
  if (tty) io.out(HIDE_CURSOR);
  let lastOk = false;
  try {
    for (let i = 0; !stopped && (options.iterations === undefined || i < options.iterations); i++) {
      const startedMs = Date.now();
      try {
        const frame = await fetchFrame(endpoint, options.token, timeoutMs);
        lastOk = true;
        if (json) io.out(`${JSON.stringify(frame)}\n`);
        else if (tty) io.out(CLEAR + renderFrame(frame, options.intervalMs));
        else io.out(`${i === 0 ? '' : '\n'}${renderFrame(frame, options.intervalMs)}`);
      } catch (err) {
        lastOk = false;
        const message = err instanceof Error ? err.message : String(err);
        if (json) io.out(`${JSON.stringify({ endpoint: endpoint.name, atMs: Date.now(), error: message })}\n`);
        else if (tty) io.out(`${CLEAR}rlctl top  ${endpoint.name}\n\n${message}\nretrying every ${options.intervalMs} ms (Ctrl-C to quit)\n`);
        else io.err(`rlctl top: ${message}\n`);
      }
      if (options.iterations !== undefined && i + 1 >= options.iterations) break;
      const waitMs = Math.max(0, options.intervalMs - (Date.now() - startedMs));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  } finally {
    process.off('SIGINT', onSigint);
    if (tty) io.out(SHOW_CURSOR);
  }
  return lastOk ? EXIT_OK : EXIT_FAILURE;
}
