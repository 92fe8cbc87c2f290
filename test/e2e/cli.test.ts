// Proves rlctl against a real 3-process cluster: every command's human and --json output,
// and exit codes: 0 on success, 1 when the operation fails (unreachable endpoint, bad
// token, invalid config, conflict), 2 on usage errors; each failure is one clear line on
// stderr, never a stack trace. Most commands run in-process (`runRlctl`, the code the bin
// runs); the failure and usage cases also run the bin shim as a child process, as users do.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, freePorts, waitUntil, type ClusterNode } from '../../chaos/harness/local-cluster.js';
import { runRlctl } from '../../src/cli/program.js';
import { LIMITS } from './limits.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const TOKEN = 'cli-e2e-admin-token-0123456789';

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs bin/rlctl.mjs with `args`; bounded at 30 s. */
function rlctl(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/rlctl.mjs'), ...args], {
      cwd: ROOT,
      env: { ...process.env, RL_ADMIN_TOKEN: undefined, RL_ENDPOINT: undefined, RL_CLIENT_TOKEN: undefined, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', rej);
    child.on('exit', (code) => {
      clearTimeout(timer);
      res({ code: code ?? -1, out, err });
    });
  });
}

/** Runs rlctl in this process (same code as the bin) and captures what it prints. */
async function inProcess(args: readonly string[], env: Record<string, string | undefined>): Promise<Run> {
  let out = '';
  let err = '';
  const code = await runRlctl(args, { out: (t) => (out += t), err: (t) => (err += t) }, env);
  return { code, out, err };
}

function json(r: Run): Record<string, unknown> {
  try {
    return JSON.parse(r.out) as Record<string, unknown>;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.out}\n${r.err}`);
  }
}

/** No stack trace: no "    at " frames, no "Error:" dumps. */
function oneClearLine(r: Run): void {
  expect(r.err).not.toMatch(/\n\s+at |node:internal|TypeError|ReferenceError/);
  expect(r.err.trim().split('\n')[0]).toMatch(/^rlctl: /);
}

describe('rlctl against a 3-node cluster', () => {
  const saved = process.env['RL_ADMIN_TOKEN'];
  process.env['RL_ADMIN_TOKEN'] = TOKEN; // the harness passes its environment to the nodes
  const cluster = new LocalCluster({ nodes: 3, limitsYaml: LIMITS, groups: 4 });
  let dir = '';
  let ep = '';
  const n = (i: number): ClusterNode => cluster.nodes[i] as ClusterNode;
  const admin = (args: readonly string[]): Promise<Run> => inProcess(['--endpoint', ep, ...args], { RL_ADMIN_TOKEN: TOKEN });

  beforeAll(async () => {
    await cluster.start();
    ep = `127.0.0.1:${n(0).apiPort}`;
    dir = await mkdtemp(join(tmpdir(), 'rlctl-'));
    // Every node registers its API address in the cluster map (status reaches them through it).
    await waitUntil('every node registered', 15_000, async () => {
      const v = (await (await fetch(cluster.url(n(0), '/v1/cluster'))).json()) as { members: { apiAddress: string | null }[] };
      return v.members.every((m) => m.apiAddress !== null);
    });
  }, 60_000);
  afterAll(async () => {
    await cluster.stop();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
    if (saved === undefined) delete process.env['RL_ADMIN_TOKEN'];
    else process.env['RL_ADMIN_TOKEN'] = saved;
  }, 30_000);

  it('status: a table of nodes and groups (exit 0), and its --json shape', async () => {
    const human = await rlctl(['--endpoint', ep, 'status'], { RL_ADMIN_TOKEN: TOKEN }); // the bin itself, once
    expect(human.code, human.err).toBe(0);
    expect(human.out).toMatch(/^NODE\s+API\s+STATE\s+CONFIG\s+META\s+LEADS/m);
    expect(human.out).toMatch(/^n3\s+127\.0\.0\.1:\d+\s+up\s+v1\s+/m);
    expect(human.out).toMatch(/^0 \(meta\)\s+n\d\s+\d+/m);
    const j = json(await admin(['status', '--json']));
    expect(j).toMatchObject({ healthy: true, configVersion: 1 });
    const nodes = j['nodes'] as { id: string; up: boolean; configVersion: number }[];
    expect(nodes.map((x) => [x.id, x.up, x.configVersion])).toEqual([
      ['n1', true, 1],
      ['n2', true, 1],
      ['n3', true, 1],
    ]);
    const groups = j['groups'] as { id: number; leader: string | null; replicas: { node: string; lagEntries: number | null }[] }[];
    expect(groups.map((g) => g.id)).toEqual([0, 1, 2, 3, 4]);
    for (const g of groups) {
      expect(g.leader).not.toBeNull();
      expect(g.replicas).toHaveLength(3);
    }
  }, 60_000);

  it('groups: every group with replicas and leader', async () => {
    const r = await admin(['groups']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^GROUP\s+REPLICAS\s+LEADER\s+TERM\s+COMMIT\s+APPLIED/m);
    const j = json(await admin(['groups', '--json']));
    expect((j['groups'] as { id: number }[]).map((g) => g.id)).toEqual([0, 1, 2, 3, 4]);
  });

  it('config get | validate | diff | apply | explain, with --json shapes', async () => {
    const get = await admin(['config', 'get']);
    expect(get.code).toBe(0);
    expect(get.out).toBe(LIMITS);
    expect(get.err).toMatch(/configuration version 1/);
    expect(json(await admin(['config', 'get', '--json']))).toMatchObject({ version: 1, format: 'yaml', text: LIMITS });

    const file = join(dir, 'next.yaml');
    await writeFile(file, LIMITS.replace('small: { algorithm: gcra, limit: 5', 'small: { algorithm: fixed_window, limit: 5') + '  extra: { limit: 3, period: 1m }\n');
    const valid = await admin(['config', 'validate', file]);
    expect(valid.code, valid.err).toBe(0);
    expect(valid.out).toMatch(/valid \(7 rules\)/);
    expect(json(await admin(['config', 'validate', file, '--json']))).toMatchObject({ valid: true, added: ['resources.extra'], resets: [{ rule: 'resources.small' }] });

    const diff = await admin(['config', 'diff', file]);
    expect(diff.code).toBe(0);
    expect(diff.out).toMatch(/^\+ resources\.extra: gcra 3 per 60000ms/m);
    expect(diff.out).toMatch(/^~ resources\.small: gcra 5 per 3600000ms, burst 5 -> fixed_window 5 per 3600000ms \(counters reset\)/m);
    expect(json(await admin(['config', 'diff', file, '--json']))).toMatchObject({ currentVersion: 1, identicalText: false, removed: [], changed: [{ rule: 'resources.small', resetsCounters: true }] });

    const applied = await admin(['config', 'apply', file, '--if-match', '1']);
    expect(applied.code, applied.err).toBe(0);
    expect(applied.out).toMatch(/applied configuration version 2/);
    expect(applied.out).toMatch(/resources\.small: .* \(counters reset\)/);
    // The same If-Match again: the version moved on, a conflict (exit 1, one line).
    const stale = await admin(['config', 'apply', file, '--if-match', '1']);
    expect(stale.code).toBe(1);
    oneClearLine(stale);
    expect(stale.err).toMatch(/RL_ERR_CONFLICT/);

    const explain = await admin(['config', 'explain', '--key', 'user:1', '--resource', 'extra']);
    expect(explain.code).toBe(0);
    expect(explain.out).toMatch(/resources\.extra: gcra 3 per 60000ms, burst 3 {2}<- decides/);
    expect(explain.out).toMatch(/configuration version 2/);
    expect(json(await admin(['config', 'explain', '--key', 'user:1', '--resource', 'extra', '--tier', 'gold', '--json']))).toMatchObject({
      version: 2,
      decidedBy: 'resources.extra',
      tierSource: 'request_unknown',
    });
    // Every node serves version 2 (status --json reads each node).
    await waitUntil('all nodes on v2', 10_000, async () => (json(await admin(['status', '--json']))['nodes'] as { configVersion: number }[]).every((x) => x.configVersion === 2));
  }, 90_000);

  it('check: one decision, human and --json', async () => {
    const r = await admin(['check', '--key', 'cli:1', '--resource', 'extra']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^allowed {2}limit 3 {2}remaining 2 /);
    const j = json(await admin(['check', '--key', 'cli:1', '--resource', 'extra', '--cost', '2', '--json']));
    expect(j).toMatchObject({ allowed: true, remaining: 0, rule: 'resources.extra' });
    const denied = await admin(['check', '--key', 'cli:1', '--resource', 'extra']);
    expect(denied.out).toMatch(/^denied .* retry after \d+ms/);
  }, 30_000);

  it('leader transfer moves a group and waits until it moved', async () => {
    const groups = json(await admin(['groups', '--json']))['groups'] as { id: number; leader: string; replicas: string[] }[];
    const g = groups.find((x) => x.id === 2) as { id: number; leader: string; replicas: string[] };
    const target = g.replicas.find((r) => r !== g.leader) as string;
    const r = await admin(['leader', 'transfer', '2', target]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`group 2: leader ${g.leader} -> ${target}`));
    const meta = groups.find((x) => x.id === 0) as { leader: string; replicas: string[] };
    const metaTarget = meta.replicas.find((x) => x !== meta.leader) as string;
    const m = json(await admin(['leader', 'transfer', '0', metaTarget, '--json']));
    expect(m).toMatchObject({ group: 0, to: metaTarget, leader: metaTarget });
    // Config writes still work through the new meta leader.
    expect((await admin(['config', 'apply', join(dir, 'next.yaml')])).code).toBe(0);
    const bad = await admin(['leader', 'transfer', '2', 'n9']);
    expect(bad.code).toBe(1);
    oneClearLine(bad);
  }, 60_000);

  it('failures are one clear line with exit 1: unreachable endpoint, missing or bad token, invalid config', async () => {
    const [port] = await freePorts(1);
    const unreachable = await rlctl(['--endpoint', `127.0.0.1:${port}`, 'status'], { RL_ADMIN_TOKEN: TOKEN });
    expect(unreachable.code).toBe(1);
    oneClearLine(unreachable);
    expect(unreachable.err).toMatch(/cannot reach 127\.0\.0\.1:\d+: connection refused/);
    expect(json(await inProcess(['--endpoint', `127.0.0.1:${port}`, 'status', '--json'], {}))).toMatchObject({ error: { code: 'RLCTL_UNREACHABLE' } });

    const noToken = await rlctl(['--endpoint', ep, 'config', 'get']);
    expect(noToken.code).toBe(1);
    oneClearLine(noToken);
    expect(noToken.err).toMatch(/needs a token: pass --token or set RL_ADMIN_TOKEN/);
    const badToken = await inProcess(['--endpoint', ep, '--token', 'wrong-token-0123456789', 'config', 'get'], {});
    expect(badToken.code).toBe(1);
    oneClearLine(badToken);
    expect(badToken.err).toMatch(/refused the token/);

    const invalid = join(dir, 'invalid.yaml');
    await writeFile(invalid, 'resources:\n  a: { limit: 0, period: 1s }\n  b: { limit: 1, period: 1x }\n');
    const apply = await rlctl(['--endpoint', ep, 'config', 'apply', invalid], { RL_ADMIN_TOKEN: TOKEN });
    expect(apply.code).toBe(1);
    oneClearLine(apply);
    expect(apply.err).toMatch(/^rlctl: invalid configuration \(2 issues\); nothing was applied\n {2}resources\.a\.limit: .*\n {2}resources\.b\.period: /);
    const validate = await admin(['config', 'validate', invalid]);
    expect(validate.code).toBe(1);
    expect(json(await admin(['config', 'validate', invalid, '--json']))).toMatchObject({ valid: false });
    expect(json(await admin(['config', 'apply', invalid, '--json']))).toMatchObject({ error: { code: 'RL_ERR_CONFIG_INVALID' } });
  }, 60_000);

  it('usage errors exit 2: unknown command, missing argument, bad number, unreadable file', async () => {
    const bin = await rlctl(['bogus']);
    expect(bin.code).toBe(2);
    expect(bin.err).toMatch(/unknown command 'bogus'/);
    for (const args of [['bogus'], ['leader', 'transfer', '1'], ['leader', 'transfer', 'x', 'n1'], ['check'], ['config', 'apply', join(dir, 'missing.yaml')], ['--endpoint', 'not a host', 'status']]) {
      const r = await admin(args);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
    expect((await admin(['--help'])).code).toBe(0);
  }, 60_000);
});
