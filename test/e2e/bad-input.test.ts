// Proves a real node answers every kind of bad input over HTTP and WebSocket with its
// error code while it keeps serving other clients' good checks in the same moment.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LocalCluster, type ClusterNode } from '../../chaos/harness/local-cluster.js';
import { decodeReplyFrame, encodeRequestFrame, type WireReply } from '../../src/protocol/ws.js';

/** No global defaults: a resource that is not listed is unknown. */
const LIMITS = `
resources:
  gcra: { algorithm: gcra, limit: 1000, period: 1h }
`;

describe('bad input against a real node', () => {
  const cluster = new LocalCluster({ nodes: 1, limitsYaml: LIMITS, groups: 2 });
  let node: ClusterNode;
  beforeAll(async () => {
    await cluster.start();
    node = cluster.nodes[0] as ClusterNode;
  }, 60_000);
  afterAll(async () => {
    await cluster.stop();
  }, 30_000);

  it('HTTP: each bad request gets 400 RL_ERR_BAD_REQUEST (or UNKNOWN_RESOURCE) while good checks keep succeeding', async () => {
    const bad: [string, string, string][] = [
      ['malformed JSON', '{"key":', 'RL_ERR_BAD_REQUEST'],
      ['missing key', '{"resource":"gcra"}', 'RL_ERR_BAD_REQUEST'],
      ['key over 256 bytes', JSON.stringify({ key: 'k'.repeat(300) }), 'RL_ERR_BAD_REQUEST'],
      ['negative cost', JSON.stringify({ key: 'k', cost: -3 }), 'RL_ERR_BAD_REQUEST'],
      ['non-integer cost', JSON.stringify({ key: 'k', cost: 1.25 }), 'RL_ERR_BAD_REQUEST'],
      ['unknown field', JSON.stringify({ key: 'k', extra: true }), 'RL_ERR_BAD_REQUEST'],
      ['body over 64 KiB', JSON.stringify({ key: 'k', pad: 'p'.repeat(80_000) }), 'RL_ERR_BAD_REQUEST'],
      ['unknown resource', JSON.stringify({ key: 'k', resource: 'no-such-resource' }), 'RL_ERR_UNKNOWN_RESOURCE'],
    ];
    const good = Array.from({ length: 40 }, (_, i) => cluster.check(node, { key: `good:${i}`, resource: 'gcra' }));
    const answers = await Promise.all(
      bad.map(async ([what, body, code]) => {
        const r = await fetch(cluster.url(node, '/v1/check'), { method: 'POST', body });
        return { what, code, status: r.status, body: (await r.json()) as { error?: { code?: string } } };
      }),
    );
    for (const a of answers) {
      expect(a.status, a.what).toBe(400);
      expect(a.body.error?.code, a.what).toBe(a.code);
    }
    for (const g of await Promise.all(good)) expect(g).toMatchObject({ status: 200, body: { allowed: true } });
  }, 30_000);

  it('WebSocket: a garbage frame and bad checks get errors by id; the connection and others keep working', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${node.apiPort}/v1/ws`);
    await new Promise<void>((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
    });
    const replies: WireReply[] = [];
    ws.on('message', (data: Buffer) => replies.push(...decodeReplyFrame(new Uint8Array(data))));
    ws.send(new Uint8Array([0xc1, 0xff, 0x00]));
    ws.send(
      encodeRequestFrame([
        [1, { key: 'ws:1', resource: 'gcra' }],
        [2, { key: '' }],
        [3, { key: 'ws:1', cost: 'lots' }],
        [4, { key: 'ws:1', resource: 'no-such-resource' }],
      ]),
    );
    const other = cluster.check(node, { key: 'other', resource: 'gcra' });
    const deadline = Date.now() + 10_000;
    while (replies.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    ws.close();
    const byId = new Map(replies.map((r) => [r.id, r]));
    expect(byId.get(0)).toMatchObject({ ok: false, error: { code: 'RL_ERR_BAD_REQUEST' } });
    expect(byId.get(1)).toMatchObject({ ok: true, output: { allowed: true } });
    expect(byId.get(2)).toMatchObject({ ok: false, error: { code: 'RL_ERR_BAD_REQUEST' } });
    expect(byId.get(3)).toMatchObject({ ok: false, error: { code: 'RL_ERR_BAD_REQUEST' } });
    expect(byId.get(4)).toMatchObject({ ok: false, error: { code: 'RL_ERR_UNKNOWN_RESOURCE' } });
    expect(await other).toMatchObject({ status: 200, body: { allowed: true } });
  }, 30_000);
});
