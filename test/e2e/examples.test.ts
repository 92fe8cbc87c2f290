// Proves the examples under examples/ work as their comments say, against a real local
// 3-node cluster running docs/limits.example.yaml (what `npm start` runs): curl.sh (check,
// batch, cluster, stats, config get with the admin token), the standard-library Python
// client (check, batch, a denial waited out with retryAfterMs, an error code) and the SDK
// app (httpRateLimit in a node:http server: 200 with RateLimit headers, then 429 with
// Retry-After). Each example runs as a child process, as a user runs it, bounded in time.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, type ClusterNode } from '../../chaos/harness/local-cluster.js';
// Type-only: keeps examples/node-http/app.ts (outside tsconfig's include) in `tsc --noEmit`.
import type { AppOptions } from '../../examples/node-http/app.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const TOKEN = 'examples-e2e-admin-token-0123456789';
const RUN_MS_MAX = 30_000;

interface Run {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

/** Runs a command to completion; SIGKILLed after RUN_MS_MAX. */
function run(cmd: string, args: readonly string[], env: Record<string, string>): Promise<Run> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_MS_MAX);
    child.on('error', rej);
    child.on('exit', (code) => {
      clearTimeout(timer);
      res({ code, out, err });
    });
  });
}

/** The sections of curl.sh's output, by the words after "== ". */
function sections(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of out.split(/^== /m).slice(1)) {
    const nl = part.indexOf('\n');
    m.set((part.slice(0, nl).split(':')[0] ?? '').trim(), part.slice(nl + 1));
  }
  return m;
}

function section(s: Map<string, string>, name: string): string {
  const v = s.get(name);
  if (v === undefined) throw new Error(`curl.sh printed no "${name}" section`);
  return v;
}

describe('examples against a local 3-node cluster', () => {
  const saved = process.env['RL_ADMIN_TOKEN'];
  let cluster: LocalCluster;
  let endpoint = '';
  let seeds: AppOptions['seeds'] = [];

  beforeAll(async () => {
    process.env['RL_ADMIN_TOKEN'] = TOKEN; // the harness passes its environment to the nodes
    const limitsYaml = await readFile(join(ROOT, 'docs/limits.example.yaml'), 'utf8');
    cluster = new LocalCluster({ nodes: 3, limitsYaml, groups: 4 });
    await cluster.start();
    const nodes = cluster.nodes as ClusterNode[];
    endpoint = `127.0.0.1:${(nodes[0] as ClusterNode).apiPort}`;
    seeds = nodes.map((n) => `127.0.0.1:${n.apiPort}`);
  }, 60_000);

  afterAll(async () => {
    await cluster.stop();
    if (saved === undefined) delete process.env['RL_ADMIN_TOKEN'];
    else process.env['RL_ADMIN_TOKEN'] = saved;
  }, 30_000);

  it('curl.sh: check with RateLimit headers, batch with a per-check error, cluster, stats, config get', async () => {
    const r = await run('bash', [join(ROOT, 'examples/curl.sh')], { RL_ENDPOINT: endpoint, RL_ADMIN_TOKEN: TOKEN });
    expect(r.code, r.err).toBe(0);
    const s = sections(r.out);

    const check = section(s, 'check');
    expect(check).toMatch(/^HTTP\/1\.1 200/m);
    expect(check).toMatch(/^RateLimit-Policy: "clients\[\\"user:42\\"\]\.resources\.search";q=500;w=1/im);
    const answer = JSON.parse(check.slice(check.indexOf('{'))) as Record<string, unknown>;
    expect(answer).toMatchObject({ allowed: true, limit: 500, retryAfterMs: 0, rule: 'clients["user:42"].resources.search' });

    const batch = JSON.parse(section(s, 'batch')) as { results: Record<string, unknown>[] };
    expect(batch.results).toHaveLength(3);
    expect(batch.results[0]).toMatchObject({ allowed: true, rule: 'resources.search' });
    expect(batch.results[1]).toMatchObject({ allowed: true });
    expect(batch.results[2]).toMatchObject({ error: { code: 'RL_ERR_BAD_REQUEST' } });

    const view = JSON.parse(section(s, 'cluster')) as { groups: { id: number; leader: string | null }[] };
    expect(view.groups.length).toBeGreaterThanOrEqual(4);
    expect(view.groups.every((g) => g.leader !== null)).toBe(true);

    const stats = JSON.parse(section(s, 'stats')) as { schema: number; node: string };
    expect(stats).toMatchObject({ schema: 1, node: 'n1' });

    const config = JSON.parse(section(s, 'config get')) as { version: number; text: string };
    expect(config.version).toBeGreaterThanOrEqual(1);
    expect(config.text).toContain('search: { limit: 10, period: 1s }');
  }, 60_000);

  it('curl.sh without a token stops before the admin call, with a message, exit 0', async () => {
    const r = await run('bash', [join(ROOT, 'examples/curl.sh')], { RL_ENDPOINT: endpoint, RL_ADMIN_TOKEN: '' });
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('RL_ADMIN_TOKEN is not set');
    expect(r.out).not.toContain('"text"');
  }, 60_000);

  it('python client: a check, a batch, a burst denied then waited out via retryAfterMs, an error code', async () => {
    const r = await run('python3', [join(ROOT, 'examples/python/client.py'), '--endpoint', endpoint], {});
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split('\n');
    const summary = JSON.parse(lines[lines.length - 1] as string) as {
      check: Record<string, unknown>;
      batch: Record<string, unknown>[];
      burstAllowed: number;
      burstDenied: number;
      retryAfterMs: number;
      afterWaitAllowed: boolean;
      waitedMs: number;
      error: { status: number; code: string; retryable: boolean } | null;
    };
    expect(summary.check).toMatchObject({ allowed: true, limit: 10, remaining: 9, rule: 'resources.search' });
    expect(summary.batch).toHaveLength(3);
    for (const b of summary.batch) expect(b).toMatchObject({ allowed: true });
    // search is GCRA 10 per second with burst 10: one batch of 15 admits the burst (plus at
    // most one unit refilled while the batch is decided) and denies the rest.
    expect(summary.burstAllowed).toBeGreaterThanOrEqual(10);
    expect(summary.burstAllowed).toBeLessThanOrEqual(11);
    expect(summary.burstDenied).toBe(15 - summary.burstAllowed);
    expect(summary.retryAfterMs).toBeGreaterThan(0);
    expect(summary.retryAfterMs).toBeLessThanOrEqual(100);
    expect(summary.afterWaitAllowed).toBe(true);
    expect(summary.error).toEqual({ status: 400, code: 'RL_ERR_BAD_REQUEST', retryable: false });
    expect(r.out).toMatch(/^burst: \d+ allowed, \d+ denied; first denial says retry after \d+ ms$/m);
  }, 60_000);

  it('SDK app: allowed requests get RateLimit headers, past the limit 429 with Retry-After, no key passes', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'examples/node-http/app.ts')], {
      cwd: ROOT,
      env: { ...process.env, RL_SEEDS: seeds.join(','), PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    const killer = setTimeout(() => child.kill('SIGKILL'), RUN_MS_MAX);
    try {
      const deadline = Date.now() + 15_000;
      while (!/listening on (http:\S+)/.test(out)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`app did not start:\n${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      const url = (/listening on (http:\S+)/.exec(out) as RegExpExecArray)[1] as string;
      const get = (path: string, key: string | null): Promise<Response> =>
        fetch(url + path, { headers: key === null ? {} : { 'x-api-key': key }, signal: AbortSignal.timeout(5000) });

      const first = await get('/search?q=raft', 'app:alice');
      expect(first.status).toBe(200);
      expect(first.headers.get('ratelimit-policy')).toBe('"resources.search";q=10;w=1');
      expect(first.headers.get('ratelimit')).toMatch(/^"resources\.search";r=9;t=\d+$/);
      expect(await first.json()).toEqual({ ok: true, resource: 'search', path: '/search?q=raft' });

      // 20 at once: the SDK sends them in one frame; the burst of 10 (9 left) is admitted, the rest denied.
      const burst = await Promise.all(Array.from({ length: 20 }, () => get('/search', 'app:alice')));
      const denied = burst.filter((r) => r.status === 429);
      expect(burst.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(9);
      expect(denied.length).toBeGreaterThanOrEqual(9);
      const d = denied[0] as Response;
      expect(d.headers.get('retry-after')).toBe('1');
      const body = (await d.json()) as { error: string; retryAfterMs: number; rule: string };
      expect(body).toMatchObject({ error: 'rate limited', rule: 'resources.search' });
      expect(body.retryAfterMs).toBeGreaterThan(0);
      await Promise.all(burst.filter((r) => r !== d).map((r) => r.arrayBuffer()));

      const anonymous = await get('/', null);
      expect(anonymous.status).toBe(200);
      expect(anonymous.headers.get('ratelimit')).toBeNull();
      await anonymous.arrayBuffer();
    } finally {
      child.kill('SIGTERM');
      const code = await exited;
      clearTimeout(killer);
      expect(code, err).toBe(0);
    }
  }, 60_000);
});
