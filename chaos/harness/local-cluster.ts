/**
 * Real-process cluster harness: starts rl-node processes on loopback with free ports,
 * kills (SIGKILL) and restarts them, and talks to them over HTTP. Every wait is bounded;
 * `stop()` ends only the processes this harness started, by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { slotOf } from '../../src/protocol/slot.js';
import { allReady, checkRetrying, requestJson, type HttpReply } from './http.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface ClusterNode {
  readonly id: string;
  /** Address the node listens on (API and peers): 127.0.0.1 unless `hostOf` says otherwise. */
  readonly host: string;
  readonly apiPort: number;
  readonly peerPort: number;
  process: ChildProcess | null;
  log: string[];
  /** Test-only wall-clock shift (`--clock-offset-ms`) applied at the next (re)start. */
  clockOffsetMs: number;
  /** True between `pause` (SIGSTOP) and `resume` (SIGCONT). */
  paused: boolean;
}

export interface LocalClusterOptions {
  readonly nodes: number;
  readonly limitsYaml: string;
  readonly groups?: number;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly fsync?: 'always' | 'batch' | 'off';
  /** Extra Node.js flags for every node process (e.g. `--cpu-prof`). */
  readonly nodeArgs?: readonly string[];
  /**
   * The address `from` dials to reach `to`'s peer port (chaos runs route every link
   * through a fault proxy); defaults to `to`'s peer port on 127.0.0.1.
   */
  readonly peerAddress?: (from: ClusterNode, to: ClusterNode) => string;
  /** Called after ports are chosen and before any node starts (e.g. to create the proxies `peerAddress` names). */
  readonly beforeSpawn?: (nodes: readonly ClusterNode[]) => Promise<void>;
  /** The address a node listens on (e.g. its network namespace's); default 127.0.0.1. */
  readonly hostOf?: (id: string) => string;
  /** Wraps a node's command line (e.g. `ip netns exec <ns> ...`, which keeps the PID). */
  readonly wrapCommand?: (id: string, cmd: string, args: readonly string[]) => [string, string[]];
}

/** Free TCP ports on 127.0.0.1 (bound then released; good enough on a private loopback). */
export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < n) {
    const port = await new Promise<number>((res, rej) => {
      const s = createServer();
      s.once('error', rej);
      s.listen(0, '127.0.0.1', () => {
        const addr = s.address();
        const p = typeof addr === 'object' && addr !== null ? addr.port : 0;
        s.close(() => res(p));
      });
    });
    if (!ports.includes(port)) ports.push(port);
  }
  return ports;
}

export async function waitUntil(what: string, timeoutMs: number, cond: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Admin bearer token of every node a `LocalCluster` starts (its join, drain and remove
 * routes), unless the environment sets `RL_ADMIN_TOKEN` (then that one).
 */
export const LOCAL_ADMIN_TOKEN = 'local-cluster-admin-token-0123456789';

function adminToken(): string {
  const t = process.env['RL_ADMIN_TOKEN'];
  return t === undefined || t === '' ? LOCAL_ADMIN_TOKEN : t;
}

export class LocalCluster {
  /** The cluster's members: the founding nodes, then nodes added with `addNode` (removed ones leave it). */
  readonly nodes: ClusterNode[] = [];
  /** The founding nodes (each other's `--peers`). */
  private founders: ClusterNode[] = [];
  /** Nodes added with `addNode`, by id: the member they joined through. */
  private readonly joinedVia = new Map<string, ClusterNode>();
  /** Nodes taken out with `retire` (kept for their logs). */
  private readonly retired: ClusterNode[] = [];
  private dir = '';
  private readonly secret = 'local-cluster-test-secret-0123456789';

  constructor(private readonly options: LocalClusterOptions) {}

  async start(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'rl-cluster-'));
    await writeFile(join(this.dir, 'limits.yaml'), this.options.limitsYaml);
    const ports = await freePorts(this.options.nodes * 2);
    for (let i = 0; i < this.options.nodes; i++) {
      const id = `n${i + 1}`;
      this.nodes.push({ id, host: this.options.hostOf?.(id) ?? '127.0.0.1', apiPort: ports[2 * i] as number, peerPort: ports[2 * i + 1] as number, process: null, log: [], clockOffsetMs: 0, paused: false });
    }
    this.founders = [...this.nodes];
    await this.options.beforeSpawn?.(this.nodes);
    for (const n of this.nodes) this.spawn(n);
    await this.waitReady(20_000);
  }

  /**
   * Starts a new node that joins the cluster through `via` (`--join`); resolves once it
   * serves. Its links are direct (not through `peerAddress`): a joining node learns its
   * peers' addresses from the cluster map.
   */
  async addNode(via: ClusterNode, timeoutMs = 30_000): Promise<ClusterNode> {
    const [apiPort, peerPort] = (await freePorts(2)) as [number, number];
    let k = this.nodes.length + this.retired.length + 1;
    while ([...this.nodes, ...this.retired].some((n) => n.id === `n${k}`)) k++;
    const n: ClusterNode = { id: `n${k}`, host: '127.0.0.1', apiPort, peerPort, process: null, log: [], clockOffsetMs: 0, paused: false };
    this.joinedVia.set(n.id, via);
    this.nodes.push(n);
    this.spawn(n);
    await waitUntil(`${n.id} ready`, timeoutMs, () => allReady([this.url(n, '/readyz')]));
    return n;
  }

  /** Stops `n` for good (after `rlctl node remove`): it leaves `nodes`, so nothing restarts or picks it again. */
  async retire(n: ClusterNode): Promise<void> {
    await this.terminate(n);
    const i = this.nodes.indexOf(n);
    if (i >= 0) this.nodes.splice(i, 1);
    this.retired.push(n);
  }

  /** An admin API request with the cluster's admin token; network failures come back as status 0. */
  admin(n: ClusterNode, method: string, path: string, body?: unknown): Promise<HttpReply> {
    return requestJson(this.url(n, path), { method, token: adminToken(), body });
  }

  private spawn(n: ClusterNode): void {
    const address = this.options.peerAddress ?? ((_from: ClusterNode, to: ClusterNode): string => `${to.host}:${to.peerPort}`);
    const via = this.joinedVia.get(n.id);
    // A joined node gets its peers from the map (its --join is ignored once it has data).
    const peers = via !== undefined ? '' : this.founders.filter((p) => p !== n).map((p) => `${p.id}=${address(n, p)}`).join(',');
    const args = [
      ...(this.options.nodeArgs ?? []),
      '--import',
      'tsx',
      join(ROOT, 'src/node/main.ts'),
      '--id', n.id,
      '--listen', `${n.host}:${n.apiPort}`,
      '--peer-listen', `${n.host}:${n.peerPort}`,
      '--peers', peers,
      '--data', join(this.dir, n.id),
      '--config', join(this.dir, 'limits.yaml'),
      '--groups', String(this.options.groups ?? 4),
      '--tick-ms', String(this.options.tickMs ?? 50),
      '--election-ticks', String(this.options.electionTicks ?? 10),
      '--fsync', this.options.fsync ?? 'batch',
      '--log-level', 'warn',
      ...(n.clockOffsetMs === 0 ? [] : [`--clock-offset-ms=${n.clockOffsetMs}`]),
      ...(via === undefined ? [] : ['--join', `${via.host}:${via.apiPort}`]),
    ];
    const [cmd, argv] = this.options.wrapCommand?.(n.id, process.execPath, args) ?? [process.execPath, args];
    const child = spawn(cmd, argv, { cwd: ROOT, env: { ...process.env, RL_CLUSTER_SECRET: this.secret, RL_ADMIN_TOKEN: adminToken() }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer): void => {
      n.log.push(b.toString());
      if (n.log.length > 200) n.log.shift(); // bounded: the tail is what a failure report needs
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    n.process = child;
    n.paused = false;
  }

  /** The data directory of a node (LevelDB under `raft/`). */
  dataDir(n: ClusterNode): string {
    return join(this.dir, n.id);
  }

  url(n: ClusterNode, path: string): string {
    return `http://${n.host}:${n.apiPort}${path}`;
  }

  /** Every running node is ready and every group has a leader. */
  async waitReady(timeoutMs: number): Promise<void> {
    await waitUntil('cluster ready', timeoutMs, () => allReady(this.nodes.filter((n) => n.process !== null).map((n) => this.url(n, '/readyz'))));
  }

  async clusterView(n: ClusterNode): Promise<{ groups: { id: number; leader: string | null; role: string | null; term: number | null }[] }> {
    const r = await fetch(this.url(n, '/v1/cluster'), { signal: AbortSignal.timeout(1000) });
    return (await r.json()) as { groups: { id: number; leader: string | null; role: string | null; term: number | null }[] };
  }

  /** POST /v1/check; returns status and body. Network failures come back as status 0. */
  check(n: ClusterNode, body: unknown, timeoutMs = 3000): Promise<HttpReply> {
    return requestJson(this.url(n, '/v1/check'), { method: 'POST', body, timeoutMs });
  }

  /** The node leading the group of `key`, as `via` sees it (static placement: slot mod groups). */
  async leaderOfKey(via: ClusterNode, key: string): Promise<ClusterNode | undefined> {
    const view = await this.clusterView(via);
    const groupId = (slotOf(key) % view.groups.length) + 1;
    const leader = view.groups.find((g) => g.id === groupId)?.leader;
    return this.nodes.find((n) => n.id === leader);
  }

  /**
   * A check as a well-behaved client sends it: retried (same idempotency id, so never
   * counted twice) on retryable errors and network failures, at most `attempts` times.
   */
  checkRetrying(n: ClusterNode, body: Record<string, unknown>, idempotencyId: string, attempts = 20): Promise<HttpReply> {
    return checkRetrying((b) => this.check(n, b), body, idempotencyId, attempts, 50);
  }

  kill(n: ClusterNode): void {
    if (n.process?.pid !== undefined && n.process.exitCode === null) n.process.kill('SIGKILL');
    n.process = null;
    n.paused = false;
  }

  /** SIGKILL and wait for the exit, so its ports and LevelDB lock are free for a restart. */
  async killAndWait(n: ClusterNode, timeoutMs = 10_000): Promise<void> {
    const p = n.process;
    this.kill(n);
    if (p === null || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((r) => {
      const timer = setTimeout(r, timeoutMs);
      p.once('exit', () => {
        clearTimeout(timer);
        r();
      });
    });
  }

  /** SIGTERM (a clean stop: flush, close), SIGKILL after `timeoutMs`; resolves once it exited. */
  async terminate(n: ClusterNode, timeoutMs = 10_000): Promise<void> {
    const p = n.process;
    if (p === null) return;
    if (p.exitCode === null && p.signalCode === null) {
      const exited = new Promise<void>((r) => p.once('exit', () => r()));
      if (n.paused) p.kill('SIGCONT');
      p.kill('SIGTERM');
      const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    }
    n.process = null;
    n.paused = false;
  }

  /** SIGSTOP: the process freezes (timers, sockets) until `resume`. */
  pause(n: ClusterNode): void {
    if (n.process === null || n.paused) return;
    n.process.kill('SIGSTOP');
    n.paused = true;
  }

  /** SIGCONT after `pause`. */
  resume(n: ClusterNode): void {
    if (n.process === null || !n.paused) return;
    n.process.kill('SIGCONT');
    n.paused = false;
  }

  restart(n: ClusterNode): void {
    if (n.process !== null) throw new Error(`${n.id} is running`);
    this.spawn(n);
  }

  /** SIGTERM every node (SIGKILL after 5 s), then removes the data directory. */
  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (n) => {
        const p = n.process;
        if (p === null || p.exitCode !== null) return;
        const exited = new Promise<void>((r) => p.once('exit', () => r()));
        if (n.paused) p.kill('SIGCONT');
        p.kill('SIGTERM');
        const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
        n.process = null;
      }),
    );
    if (this.dir !== '') await rm(this.dir, { recursive: true, force: true });
  }

  logs(): string {
    return [...this.nodes, ...this.retired].map((n) => `--- ${n.id}\n${n.log.join('')}`).join('\n');
  }
}
