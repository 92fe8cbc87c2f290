/**
 * Real-process cluster for the scale-out tests: like chaos/harness/local-cluster.ts, but
 * nodes run with an admin token, new nodes start with `--join`, and the cluster map is
 * read through the admin API. Every wait is bounded; `stop()` ends only the processes
 * this helper started, by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { allReady, checkRetrying, requestJson, type HttpReply } from '../../chaos/harness/http.js';
import { freePorts, waitUntil } from '../../chaos/harness/local-cluster.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const ADMIN_TOKEN = 'scale-test-admin-token-0123456789';
const SECRET = 'scale-test-cluster-secret-0123456789';

export interface ScaleNode {
  readonly id: string;
  readonly apiPort: number;
  readonly peerPort: number;
  process: ChildProcess | null;
  log: string[];
  /** The member it joined through (null: a founding member). */
  joinVia: ScaleNode | null;
}

export interface MapView {
  readonly mapVersion: number;
  readonly nodes: readonly { id: string; state: string; metaVoter: boolean; replicas: number; preferredLeader: number; holds: readonly number[] }[];
  readonly moves: readonly { groupId: number }[];
}

export interface ClusterGroupView {
  readonly id: number;
  readonly replicas: readonly string[];
  readonly voters: readonly string[];
  readonly leader: string | null;
  readonly role: string | null;
  readonly hosted: boolean;
}

export class ScaleCluster {
  readonly nodes: ScaleNode[] = [];
  private dir = '';
  private readonly seeds: ScaleNode[] = [];

  constructor(private readonly options: { readonly limitsYaml: string; readonly groups: number; readonly tickMs?: number; readonly nodeArgs?: readonly string[] }) {}

  /** Starts `count` nodes as a fresh cluster (n1..n<count>) and waits until they are ready. */
  async start(count: number): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'rl-scale-'));
    await writeFile(join(this.dir, 'limits.yaml'), this.options.limitsYaml);
    for (let i = 0; i < count; i++) this.seeds.push(await this.newNode(`n${i + 1}`));
    for (const n of this.seeds) this.spawn(n, null);
    await this.waitReady(this.seeds, 30_000);
  }

  private async newNode(id: string): Promise<ScaleNode> {
    const [apiPort, peerPort] = (await freePorts(2)) as [number, number];
    const n: ScaleNode = { id, apiPort, peerPort, process: null, log: [], joinVia: null };
    this.nodes.push(n);
    return n;
  }

  /** Starts a new node that joins through `via`; resolves once it serves /readyz. */
  async join(id: string, via: ScaleNode): Promise<ScaleNode> {
    const n = await this.newNode(id);
    n.joinVia = via;
    this.spawn(n, via);
    await this.waitReady([n], 30_000);
    return n;
  }

  private spawn(n: ScaleNode, joinVia: ScaleNode | null, extraArgs: readonly string[] = []): void {
    const peers = joinVia === null ? this.seeds.filter((p) => p !== n).map((p) => `${p.id}=127.0.0.1:${p.peerPort}`).join(',') : '';
    const args = [
      '--import',
      'tsx',
      join(ROOT, 'src/node/main.ts'),
      '--id', n.id,
      '--listen', `127.0.0.1:${n.apiPort}`,
      '--peer-listen', `127.0.0.1:${n.peerPort}`,
      '--peers', peers,
      '--data', join(this.dir, n.id),
      '--config', join(this.dir, 'limits.yaml'),
      '--groups', String(this.options.groups),
      '--tick-ms', String(this.options.tickMs ?? 50),
      '--fsync', 'batch',
      '--log-level', 'info',
      ...(joinVia === null ? [] : ['--join', `127.0.0.1:${joinVia.apiPort}`]),
      ...(this.options.nodeArgs ?? []),
      ...extraArgs,
    ];
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, RL_CLUSTER_SECRET: SECRET, RL_ADMIN_TOKEN: ADMIN_TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (b: Buffer): void => {
      n.log.push(b.toString());
      if (n.log.length > 400) n.log.shift(); // bounded: the tail is what a failure report needs
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    n.process = child;
  }

  url(n: ScaleNode, path: string): string {
    return `http://127.0.0.1:${n.apiPort}${path}`;
  }

  async waitReady(nodes: readonly ScaleNode[], timeoutMs: number): Promise<void> {
    await waitUntil('nodes ready', timeoutMs, () => allReady(nodes.map((n) => this.url(n, '/readyz'))));
  }

  /** An admin request; network failures come back as status 0. */
  admin(n: ScaleNode, method: string, path: string, body?: unknown): Promise<HttpReply> {
    return requestJson(this.url(n, path), { method, token: ADMIN_TOKEN, body });
  }

  async mapView(n: ScaleNode): Promise<MapView | null> {
    const r = await this.admin(n, 'GET', '/v1/admin/nodes');
    return r.status === 200 ? (r.body as unknown as MapView) : null;
  }

  async groups(n: ScaleNode): Promise<ClusterGroupView[] | null> {
    try {
      const r = await fetch(this.url(n, '/v1/cluster'), { signal: AbortSignal.timeout(1000) });
      return ((await r.json()) as { groups: ClusterGroupView[] }).groups;
    } catch {
      return null;
    }
  }

  /** POST /v1/check; network failures come back as status 0. */
  check(n: ScaleNode, body: unknown, timeoutMs = 3000): Promise<HttpReply> {
    return requestJson(this.url(n, '/v1/check'), { method: 'POST', body, timeoutMs });
  }

  /** A check retried with the same idempotency id on retryable failures (never counted twice). */
  checkRetrying(n: ScaleNode, body: Record<string, unknown>, idempotencyId: string, attempts = 40): Promise<HttpReply> {
    return checkRetrying((b) => this.check(n, b), body, idempotencyId, attempts, 100);
  }

  /** Starts a new node that joins through `via` without waiting for it; `extraArgs` override its flags (the last of a flag wins). */
  async joinNoWait(id: string, via: ScaleNode, extraArgs: readonly string[] = []): Promise<ScaleNode> {
    const n = await this.newNode(id);
    n.joinVia = via;
    this.spawn(n, via, extraArgs);
    return n;
  }

  kill(n: ScaleNode): void {
    if (n.process?.pid !== undefined && n.process.exitCode === null) n.process.kill('SIGKILL');
    n.process = null;
  }

  /** Starts a stopped node again on its data (a joined node's --join is ignored once it has data). */
  restart(n: ScaleNode): void {
    if (n.process !== null) throw new Error(`${n.id} is running`);
    this.spawn(n, n.joinVia);
  }

  /** SIGTERM one node (SIGKILL after 5 s). */
  async stopNode(n: ScaleNode): Promise<void> {
    const p = n.process;
    if (p === null || p.exitCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    n.process = null;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.stopNode(n)));
    if (this.dir !== '') await rm(this.dir, { recursive: true, force: true });
  }

  logs(): string {
    return this.nodes.map((n) => `--- ${n.id}\n${n.log.join('').split('\n').slice(-80).join('\n')}`).join('\n');
  }
}

/** A `ScaleCluster` of three founding nodes, started before the file's tests and stopped after them. */
export function useScaleCluster(options: ConstructorParameters<typeof ScaleCluster>[0]): ScaleCluster {
  const cluster = new ScaleCluster(options);
  beforeAll(async () => {
    await cluster.start(3);
  }, 60_000);
  afterAll(async () => {
    await cluster.stop();
  }, 30_000);
  return cluster;
}
