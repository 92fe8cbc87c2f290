// Proves `rlctl top` against a real 3-process cluster: bounded runs draw one frame per
// iteration with every node and group, totals that match the nodes' /v1/stats, ANSI
// redraws on a terminal, a node that goes down flagged, and clear exit codes for an
// unreachable endpoint and bad options.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, freePorts, waitUntil, type ClusterNode } from '../../chaos/harness/local-cluster.js';
import type { CliIo } from '../../src/cli/io.js';
import { runRlctl } from '../../src/cli/program.js';
import { runTop, type TopFrame } from '../../src/cli/top.js';
import type { NodeStats } from '../../src/node/stats/types.js';
import { LIMITS } from './limits.js';

function captureIo(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => void stdout.push(t), err: (t) => void stderr.push(t) };
}

describe('rlctl top', () => {
  const cluster = new LocalCluster({ nodes: 3, limitsYaml: LIMITS });
  let endpoint = '';
  let loadRunning = true;
  let load: Promise<void>[] = [];

  beforeAll(async () => {
    await cluster.start();
    const [n1, n2] = cluster.nodes as [ClusterNode, ClusterNode];
    endpoint = `127.0.0.1:${n1.apiPort}`;
    const worker = async (n: ClusterNode, w: number): Promise<void> => {
      for (let i = 0; loadRunning && i < 1_000_000; i++) {
        await cluster.check(n, { key: i % 5 === 0 ? `hot:${w}` : `top:${w}:${i % 300}`, resource: i % 5 === 0 ? 'small' : 'gcra' }, 3000);
      }
    };
    load = [worker(n1, 0), worker(n2, 1), worker(n2, 2)];
    // Rates cover complete seconds: wait until every node has some.
    await waitUntil('rates on every loaded node', 30_000, async () => {
      const s = await Promise.all([n1, n2].map(async (n) => (await (await fetch(cluster.url(n, '/v1/stats'))).json()) as NodeStats));
      return s.every((x) => x.checks.allowedPerSec > 0) && s.some((x) => x.checks.deniedPerSec > 0);
    });
  }, 90_000);

  afterAll(async () => {
    loadRunning = false;
    await Promise.all(load);
    await cluster.stop();
  }, 60_000);

  it('prints one JSON frame per iteration whose totals match the nodes\' /v1/stats', async () => {
    const io = captureIo();
    const code = await runTop({ endpoint, token: undefined, intervalMs: 300, iterations: 3, json: true, io });
    expect(code).toBe(0);
    const frames = io.stdout.join('').trim().split('\n').map((l) => JSON.parse(l) as TopFrame);
    expect(frames).toHaveLength(3);
    for (const f of frames) {
      expect(f.nodes.map((s) => s.node).sort()).toEqual(['n1', 'n2', 'n3']);
      expect(f.unreachable).toEqual([]);
      expect(f.totals.allowedPerSec).toBeCloseTo(f.nodes.reduce((a, s) => a + s.checks.allowedPerSec, 0), 6);
    }
    const last = frames.at(-1) as TopFrame;
    const now = await Promise.all(cluster.nodes.map(async (n) => (await (await fetch(cluster.url(n, '/v1/stats'))).json()) as NodeStats));
    const allowed = now.reduce((a, s) => a + s.checks.allowedPerSec, 0);
    expect(last.totals.allowedPerSec).toBeGreaterThan(0);
    expect(Math.abs(last.totals.allowedPerSec - allowed)).toBeLessThanOrEqual(Math.max(0.3 * allowed, 3));
    expect(last.totals.p99Ms).not.toBeNull();
  }, 60_000);

  it('draws tables of nodes, groups and denials; redraws in place on a terminal', async () => {
    const plain = captureIo();
    expect(await runTop({ endpoint, token: undefined, intervalMs: 200, iterations: 2, io: plain, tty: false })).toBe(0);
    const text = plain.stdout.join('');
    expect(text.match(/^rlctl top /gm)).toHaveLength(2);
    expect(text).not.toContain('\x1b[');
    expect(text).toMatch(/^NODE\s+LINK\s+ALLOWED\/S\s+DENIED\/S/m);
    for (const id of ['n1', 'n2', 'n3']) expect(text).toMatch(new RegExp(`^${id}\\s+(self|connected)\\s+[\\d.,]+`, 'm'));
    expect(text).toMatch(/^GROUP\s+LEADER\s+TERM/m);
    for (const g of ['0 meta', '1', '2', '3', '4']) expect(text).toMatch(new RegExp(`^${g}\\s+n[123]\\s+\\d+`, 'm'));
    expect(text).toMatch(/^small\s+[\d.,]+$/m);

    const term = captureIo();
    expect(await runTop({ endpoint, token: undefined, intervalMs: 200, iterations: 3, io: term, tty: true })).toBe(0);
    const drawn = term.stdout.join('');
    expect(drawn.split('\x1b[H\x1b[2J')).toHaveLength(4);
    expect(drawn.startsWith('\x1b[?25l')).toBe(true);
    expect(drawn.endsWith('\x1b[?25h')).toBe(true);
  }, 60_000);

  it('is registered as `rlctl top` and runs bounded', async () => {
    const io = captureIo();
    expect(await runRlctl(['--endpoint', endpoint, 'top', '--iterations', '1', '--interval', '200', '--json'], io, {})).toBe(0);
  }, 30_000);

  it('exits 1 for an unreachable endpoint and 2 for bad options', async () => {
    const [port] = await freePorts(1);
    const io = captureIo();
    expect(await runTop({ endpoint: `127.0.0.1:${port}`, token: undefined, intervalMs: 100, iterations: 2, io, tty: false })).toBe(1);
    expect(io.stderr.join('')).toContain('cannot reach');
    const bad = captureIo();
    expect(await runTop({ endpoint, token: undefined, intervalMs: 5, iterations: 1, io: bad })).toBe(2);
    expect(bad.stderr.join('')).toContain('--interval must be an integer of at least 100');
    expect(await runTop({ endpoint: 'not a host', token: undefined, intervalMs: 500, iterations: 1, io: bad })).toBe(2);
    expect(await runTop({ endpoint, token: undefined, intervalMs: 500, iterations: 0, io: bad })).toBe(2);
  }, 30_000);

  it('flags a node that went down and keeps showing the others', async () => {
    const n3 = cluster.nodes[2] as ClusterNode;
    cluster.kill(n3);
    const io = captureIo();
    await waitUntil('n3 seen down', 20_000, async () => {
      io.stdout.length = 0;
      expect(await runTop({ endpoint, token: undefined, intervalMs: 200, iterations: 1, io, tty: false })).toBe(0);
      return /^n3\s+down\s+-/m.test(io.stdout.join(''));
    });
    const text = io.stdout.join('');
    expect(text).toMatch(/^unreachable: n3: /m);
    expect(text).toMatch(/^n1\s+self\s+[\d.,]+/m);
  }, 60_000);
});
