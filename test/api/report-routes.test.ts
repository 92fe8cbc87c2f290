// Proves caller reports reach a node on real sockets: `POST /v1/report` sums samples per
// resource (202) and refuses bad bodies (400), a report-only WebSocket frame is handed over
// without an answer, both honour the client token, and the SDK's `client.report` sums
// reports and sends them in one frame per flush.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createClient } from '../../client/index.js';
import { ApiServer } from '../../src/node/api/server.js';
import type { CheckService } from '../../src/node/api/service.js';
import { reportBucketOf, type ReportSummary } from '../../src/protocol/report.js';
import { encodeReportFrame } from '../../src/protocol/ws.js';
import { waitFor } from '../support/wait-for.js';

const TOKEN = 'report-client-token-0123456789';

const service: CheckService = {
  check: () => {
    throw new Error('no checks here');
  },
  ruleWindowMs: () => undefined,
  isReady: () => true,
  clusterView: () => ({ node: 'n1', nodes: ['n1'], slotMapVersion: 1, configVersion: 1, groups: [{ id: 1, leader: 'n1', term: 1 }] }),
  metricsText: async () => ({ contentType: 'text/plain', body: '' }),
};

const received: ReportSummary[] = [];
let api: ApiServer;
let port: number;

beforeAll(async () => {
  api = new ApiServer({ host: '127.0.0.1', port: 0 }, { service, logger: null, clientToken: TOKEN, reports: (s) => received.push(...s) });
  port = (await api.start()).port;
});

afterAll(async () => {
  await api.close();
});

function post(body: unknown, token: string | null = TOKEN): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  return fetch(`http://127.0.0.1:${port}/v1/report`, { method: 'POST', body: JSON.stringify(body), headers });
}

describe('caller reports', () => {
  it('POST /v1/report sums samples per resource and answers 202', async () => {
    received.length = 0;
    const r = await post({ reports: [{ resource: 'search', latencyMs: 120, ok: true }, { resource: 'search', latencyMs: 80, ok: false }, { resource: 'upload', ok: true }] });
    expect(r.status).toBe(202);
    expect(await r.json()).toEqual({ accepted: 3 });
    expect(received).toEqual([
      { resource: 'search', count: 2, errors: 1, buckets: [[reportBucketOf(80), 1], [reportBucketOf(120), 1]] },
      { resource: 'upload', count: 1, errors: 0, buckets: [] },
    ]);
  });

  it('POST /v1/report refuses bad bodies and missing tokens', async () => {
    const bad = await post({ reports: [{ resource: 'search', latencyMs: 'fast', ok: true }] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'RL_ERR_BAD_REQUEST', message: expect.stringContaining('latencyMs') });
    expect((await post({ reports: [] }, null)).status).toBe(401);
  });

  it('a report frame on the WebSocket is handed over and gets no answer', async () => {
    received.length = 0;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const frames: Buffer[] = [];
    ws.on('message', (d: Buffer) => frames.push(d));
    await new Promise<void>((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
    });
    ws.send(encodeReportFrame([{ resource: 'search', count: 5, errors: 0, buckets: [[40, 5]] }]));
    await waitFor(() => received.length === 1, 5000, 'the report');
    expect(received[0]).toEqual({ resource: 'search', count: 5, errors: 0, buckets: [[40, 5]] });
    await new Promise((r) => setTimeout(r, 50));
    expect(frames).toEqual([]);
    ws.close();
  });

  it('client.report sums locally and flushes one frame per interval', async () => {
    received.length = 0;
    const client = createClient({ seeds: [`127.0.0.1:${port}`], timeoutMs: 500, token: TOKEN, reportIntervalMs: 50 });
    try {
      for (let i = 0; i < 1000; i++) client.report('search', { latencyMs: i % 2 === 0 ? 10 : 300, ok: i % 100 !== 0 });
      await waitFor(() => received.reduce((n, s) => n + s.count, 0) === 1000, 5000, 'all 1000 reports');
      // A few frames at most (the first flush only opens the socket): far fewer than the reports.
      expect(received.length).toBeLessThanOrEqual(3);
      const buckets = new Map<number, number>();
      for (const s of received) for (const [b, n] of s.buckets) buckets.set(b, (buckets.get(b) ?? 0) + n);
      expect([...buckets].sort((a, b) => a[0] - b[0])).toEqual([[reportBucketOf(10), 500], [reportBucketOf(300), 500]]);
      expect(received.reduce((n, s) => n + s.errors, 0)).toBe(10);
      expect(client.stats.reportsSent).toBe(1000);
      expect(() => client.report('search', { ok: true, latencyMs: -1 })).toThrow(RangeError);
    } finally {
      await client.close();
    }
  });
});
