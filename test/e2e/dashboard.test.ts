// Proves the live dashboard in a real browser (Debian's headless Chromium driven by
// playwright-core) against a real 3-process cluster under load: the page loads only from
// the node, its numbers update and match the nodes' /v1/stats within tolerance, it maps
// every group's leader, it raises the no-leader alarm when two of three nodes stop, and it
// leaves screenshots in test-artifacts/.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, waitUntil, type ClusterNode } from '../../chaos/harness/local-cluster.js';
import type { NodeStats } from '../../src/node/stats/types.js';
import { LIMITS } from './limits.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(process.cwd(), 'test-artifacts');

async function stats(cluster: LocalCluster, n: ClusterNode): Promise<NodeStats> {
  const r = await fetch(cluster.url(n, '/v1/stats'), { signal: AbortSignal.timeout(2000) });
  expect(r.status).toBe(200);
  return (await r.json()) as NodeStats;
}

/** A KPI's raw number as the page holds it (`data-value`), or null while it shows none. */
async function kpi(page: Page, id: string): Promise<number | null> {
  const v = await page.locator(`#${id}`).getAttribute('data-value');
  return v === null || v === '' ? null : Number(v);
}

describe('dashboard in headless Chromium', () => {
  const cluster = new LocalCluster({ nodes: 3, limitsYaml: LIMITS });
  let context: BrowserContext | null = null;
  let profileDir = '';
  let page: Page;
  const pageErrors: string[] = [];
  const foreignRequests: string[] = [];
  let loadRunning = true;
  let loadSent = 0;
  let load: Promise<void>[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)`);
    await mkdir(ARTIFACTS, { recursive: true });
    await cluster.start();
    profileDir = await mkdtemp(join(tmpdir(), 'rl-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1440, height: 1000 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    page.on('request', (req) => {
      if (!req.url().startsWith('http://127.0.0.1:') && !req.url().startsWith('ws://127.0.0.1:') && !req.url().startsWith('data:')) foreignRequests.push(req.url());
    });
    // Steady load through two nodes: mostly allowed checks on many keys, and a few hot keys
    // on a 5-per-hour resource, so denials show too.
    const worker = async (n: ClusterNode, w: number): Promise<void> => {
      for (let i = 0; loadRunning && i < 1_000_000; i++) {
        const hot = i % 4 === 0;
        await cluster.check(n, { key: hot ? `hot:${w % 2}` : `user:${w}:${i % 500}`, resource: hot ? 'small' : 'gcra' }, 3000);
        loadSent++;
      }
    };
    const [n1, n2] = cluster.nodes as [ClusterNode, ClusterNode];
    load = [worker(n1, 0), worker(n1, 1), worker(n2, 2), worker(n2, 3)];
  }, 90_000);

  afterAll(async () => {
    loadRunning = false;
    await Promise.all(load);
    await context?.close();
    if (profileDir !== '') await rm(profileDir, { recursive: true, force: true });
    await cluster.stop();
  }, 60_000);

  it('shows live numbers that match /v1/stats of the nodes, and maps every group leader', async () => {
    const [n1] = cluster.nodes as [ClusterNode];
    await page.goto(cluster.url(n1, '/'), { waitUntil: 'load' });
    expect(await page.title()).toContain('Rate limiter');
    await waitUntil('the stream live on the page', 20_000, async () => (await page.locator('#conn').textContent()) === 'live');

    // The numbers update: rates appear once the load has run a few seconds, and the data moves on.
    await waitUntil('allowed and denied rates on the page', 30_000, async () => ((await kpi(page, 'kpi-allowed')) ?? 0) > 5 && ((await kpi(page, 'kpi-denied')) ?? 0) > 0.5);
    const firstAt = Number(await page.locator('body').getAttribute('data-at'));
    await waitUntil('the page to receive newer stats', 10_000, async () => Number(await page.locator('body').getAttribute('data-at')) > firstAt);
    expect(loadSent).toBeGreaterThan(0);

    // The page sums the cluster; so does this test, from every node's /v1/stats at about the
    // same moment, once every window is full (rates then move slowly under steady load).
    await waitUntil('full 10 s windows', 30_000, async () => (await Promise.all(cluster.nodes.map((n) => stats(cluster, n)))).every((s) => s.windowS === 10));
    let last = '';
    await waitUntil('page rates within 25% of the nodes\' /v1/stats', 30_000, async () => {
      const [pAllowed, pDenied, pP99] = [await kpi(page, 'kpi-allowed'), await kpi(page, 'kpi-denied'), await kpi(page, 'kpi-p99')];
      const all = await Promise.all(cluster.nodes.map((n) => stats(cluster, n)));
      const allowed = Math.round(all.reduce((a, s) => a + s.checks.allowedPerSec, 0) * 1000) / 1000;
      const denied = Math.round(all.reduce((a, s) => a + s.checks.deniedPerSec, 0) * 1000) / 1000;
      const p99 = Math.max(...all.map((s) => s.checks.latency.p99Ms ?? 0));
      last = JSON.stringify({ page: { pAllowed, pDenied, pP99 }, api: { allowed, denied, p99 } });
      const near = (got: number | null, want: number, rel: number, abs: number): boolean => got !== null && Math.abs(got - want) <= Math.max(rel * want, abs);
      return near(pAllowed, allowed, 0.25, 3) && near(pDenied, denied, 0.25, 1) && near(pP99, p99, 1, 2);
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}; last comparison ${last}`);
    });
    process.stdout.write(`dashboard vs /v1/stats: ${last}\n`);

    const s1 = await stats(cluster, n1);
    expect(await page.locator('#config-version').getAttribute('data-value')).toBe(String(s1.configVersion));
    // One row per group, each naming the leader /v1/stats names.
    await waitUntil('group rows', 10_000, async () => (await page.locator('#groups tbody tr').count()) === s1.groups.length);
    for (const g of s1.groups) {
      expect(await page.locator(`#groups tr[data-group="${g.id}"]`).getAttribute('data-leader'), `group ${g.id}`).toBe(g.leader ?? '');
    }
    // Denials are listed by resource.
    await expect.poll(async () => page.locator('#top-denied tr[data-resource="small"]').count(), { timeout: 15_000 }).toBe(1);
    // The charts have drawn lines.
    await waitUntil('chart lines', 15_000, async () => (await page.locator('#chart-checks path.line').count()) >= 1 && (await page.locator('#chart-latency path.line').count()) >= 1);
    expect(await page.locator('#alarms [data-alarm="GROUP_NO_LEADER"]').count()).toBe(0);
    await new Promise((r) => setTimeout(r, 10_000)); // more seconds of chart for the screenshot
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
    expect(foreignRequests).toEqual([]);
  }, 150_000);

  it('raises the no-leader alarm when two of three nodes stop', async () => {
    const [n1, n2, n3] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
    loadRunning = false;
    await Promise.all(load);
    cluster.kill(n2);
    cluster.kill(n3);
    // n1 alone has no quorum: its leaders step down (check-quorum) and nobody can win an election.
    await page.waitForSelector('#alarms [data-alarm="GROUP_NO_LEADER"]', { timeout: 30_000 });
    await waitUntil('an alarm for every group', 30_000, async () => {
      const s = await stats(cluster, n1);
      const onPage = await page.locator('#alarms [data-alarm="GROUP_NO_LEADER"] [data-group]').count();
      return s.alarms.length === s.groups.length && onPage === s.groups.length;
    });
    const s = await stats(cluster, n1);
    for (const a of s.alarms) {
      expect(a.code).toBe('GROUP_NO_LEADER');
      await expect.poll(async () => page.locator(`#alarms [data-group="${a.groupId}"]`).count(), { timeout: 5000 }).toBe(1);
      expect(await page.locator(`#groups tr[data-group="${a.groupId}"]`).getAttribute('class')).toContain('no-leader');
    }
    expect(await page.locator('#alarms').innerText()).toContain('no leader');
    await waitUntil('the down nodes flagged', 10_000, async () => (await page.locator('#alarms [data-alarm="NODE_DOWN"]').count()) === 2);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-no-leader.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
