// Proves the stats routes on a real uWS server: GET /v1/stats answers the snapshot, the
// stream pushes it on every interval, subscribers beyond the bound are refused with 503,
// and a reader that stops reading is dropped while a reader that keeps up is not.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { waitUntil } from '../../chaos/harness/local-cluster.js';
import { ApiServer } from '../../src/node/api/server.js';
import type { CheckService } from '../../src/node/api/service.js';
import { StatsRoutes } from '../../src/node/api/stats-routes.js';

const service: CheckService = {
  check: () => {
    throw new Error('no checks in this test');
  },
  ruleWindowMs: () => undefined,
  isReady: () => true,
  clusterView: () => ({}),
  metricsText: async () => ({ contentType: 'text/plain', body: '' }),
};

/** Opens a WebSocket to the stream by hand and then never reads from it. */
function stalledSubscriber(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(
        'GET /v1/stats/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    s.once('data', (chunk: Buffer) => {
      if (!chunk.toString('latin1').startsWith('HTTP/1.1 101')) reject(new Error(`upgrade refused: ${chunk.toString('latin1').slice(0, 80)}`));
      s.pause(); // never read again: the kernel buffers fill, then the node's
      resolve(s);
    });
    s.once('error', reject);
  });
}

describe('stats routes', () => {
  let seq = 0;
  // A large object (about 100 KB) pushed every 20 ms, so a stalled reader falls behind fast.
  const padding = 'x'.repeat(100_000);
  const stats = new StatsRoutes(
    { subscribersMax: 3, backpressureBytesMax: 1024 * 1024, pushIntervalMs: 20 },
    { snapshot: () => ({ schema: 1, seq: ++seq, padding }), logger: null },
  );
  const api = new ApiServer({ host: '127.0.0.1', port: 0 }, { service, logger: null, routes: [stats.register] });
  let port = 0;
  beforeAll(async () => {
    port = (await api.start()).port;
  });
  afterAll(async () => {
    stats.close();
    await api.close();
  });

  it('GET /v1/stats answers the snapshot as JSON, readable from any origin', async () => {
    const r = await fetch(`http://127.0.0.1:${port}/v1/stats`);
    expect(r.status).toBe(200);
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    const body = (await r.json()) as { schema: number; seq: number };
    expect(body.schema).toBe(1);
    expect(body.seq).toBeGreaterThan(0);
  });

  it('pushes fresh objects, refuses subscribers over the bound, and drops a stalled reader but not a fast one', async () => {
    const received: number[] = [];
    const fast = new WebSocket(`ws://127.0.0.1:${port}/v1/stats/stream`);
    fast.on('message', (data: Buffer) => received.push((JSON.parse(data.toString()) as { seq: number }).seq));
    await waitUntil('first pushes', 10_000, () => received.length >= 5);
    expect(received).toEqual([...received].sort((a, b) => a - b));
    expect(new Set(received).size).toBe(received.length);

    const stalled = await stalledSubscriber(port);
    const third = new WebSocket(`ws://127.0.0.1:${port}/v1/stats/stream`);
    await new Promise<void>((r, j) => {
      third.once('open', () => r());
      third.once('error', j);
    });
    expect(stats.subscriberCount()).toBe(3);
    // The fourth is over the bound.
    const status = await new Promise<number>((resolve) => {
      const extra = new WebSocket(`ws://127.0.0.1:${port}/v1/stats/stream`);
      extra.on('error', () => undefined); // terminate() during the handshake reports an error; expected here
      extra.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        extra.terminate();
      });
      extra.once('open', () => {
        resolve(101);
        extra.close();
      });
    });
    expect(status).toBe(503);
    expect(stats.refused).toBe(1);
    third.close();

    // The stalled reader is dropped within a bounded time; the fast one keeps receiving.
    await waitUntil('stalled subscriber dropped', 30_000, () => stats.subscriberCount() === 1);
    expect(stats.droppedSlow).toBe(1);
    const before = received.length;
    await waitUntil('fast subscriber still served', 10_000, () => received.length >= before + 5);
    expect(fast.readyState).toBe(WebSocket.OPEN);
    fast.close();
    stalled.destroy();
    await waitUntil('no subscribers', 10_000, () => stats.subscriberCount() === 0);
  }, 60_000);
});
