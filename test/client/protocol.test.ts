// Proves the SDK's wire behaviour against scripted fake nodes (real sockets, scripted replies): one frame per event-loop turn, split replies matched by id, NOT_LEADER hints followed, a dropped reply retried with the same idempotency id, non-retryable errors not retried, and the send queue bounded.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { decodeRequestFrame, encodeReplyFrame, type WireReply } from '../../src/protocol/ws.js';
import { createClient, type Client } from '../../client/index.js';

type Check = { key: string; idempotencyId: string };
type Handler = (ws: WebSocket, checks: [number, Check][], frameNo: number) => void;

interface FakeNode {
  readonly id: string;
  address: string;
  frames: [number, Check][][];
  handler: Handler;
  leader: string;
  close(): Promise<void>;
}

const ok = (id: number): WireReply => ({ id, ok: true, output: { allowed: true, limit: 10, remaining: 9, resetMs: 100, retryAfterMs: 0, rule: 'defaults' } });
const send = (ws: WebSocket, replies: WireReply[]): void => ws.send(encodeReplyFrame(replies));

async function fakeNode(id: string, handler: Handler): Promise<FakeNode> {
  const node: FakeNode = { id, address: '', frames: [], handler, leader: id, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    if (req.url !== '/v1/cluster') {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ node: id, nodes: [id], slotCount: 4096, slotMapVersion: 1, configVersion: 1, groups: [{ id: 1, replicas: [id], hosted: true, leader: node.leader, role: 'leader', term: 1, commitIndex: 1, appliedIndex: 1 }] }));
  });
  const wss = new WebSocketServer({ server, path: '/v1/ws' });
  wss.on('connection', (ws) => {
    ws.on('message', (data: Buffer) => {
      const f = decodeRequestFrame(new Uint8Array(data));
      if (!f.ok) throw new Error(f.message);
      const checks = f.checks as [number, Check][];
      node.frames.push(checks);
      node.handler(ws, checks, node.frames.length);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  node.address = `127.0.0.1:${typeof a === 'object' && a !== null ? a.port : 0}`;
  node.close = async () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
  return node;
}

const open: { nodes: FakeNode[]; clients: Client[] } = { nodes: [], clients: [] };
afterEach(async () => {
  await Promise.all(open.clients.map((c) => c.close()));
  await Promise.all(open.nodes.map((n) => n.close()));
  open.clients = [];
  open.nodes = [];
});

async function setup(handler: Handler, options: { queueMax?: number; inflightMax?: number; timeoutMs?: number } = {}): Promise<{ node: FakeNode; client: Client }> {
  const node = await fakeNode('n1', handler);
  const client = createClient({ seeds: [node.address], timeoutMs: options.timeoutMs ?? 2000, ...options });
  open.nodes.push(node);
  open.clients.push(client);
  return { node, client };
}

describe('SDK wire behaviour', () => {
  it('sends the checks of one event-loop turn in one frame and matches split replies by id', async () => {
    const { node, client } = await setup((ws, checks) => {
      // Answer in two frames, second half first.
      const half = Math.floor(checks.length / 2);
      send(ws, checks.slice(half).map(([id]) => ok(id)));
      if (half > 0) send(ws, checks.slice(0, half).map(([id]) => ok(id)));
    });
    await client.check('warm');
    const before = node.frames.length;
    const rs = await Promise.all(Array.from({ length: 50 }, (_, i) => client.check(`k${i}`)));
    expect(rs.every((r) => r.allowed && r.source === 'cluster')).toBe(true);
    expect(node.frames.length - before).toBe(1);
    expect(node.frames.at(-1)?.length).toBe(50);
    expect(new Set(node.frames.at(-1)?.map(([, c]) => c.idempotencyId)).size).toBe(50);
  });

  it('follows a NOT_LEADER leader hint to the named node with the same idempotency id', async () => {
    const b = await fakeNode('n2', (ws, checks) => send(ws, checks.map(([id]) => ok(id))));
    const a = await fakeNode('n1', (ws, checks) => send(ws, checks.map(([id]) => ({ id, ok: false, error: { code: 'RL_ERR_NOT_LEADER', message: 'moved', leaderHint: 'n2' } }))));
    open.nodes.push(a, b);
    b.leader = 'n1'; // both views name n1 (stale): only the hint can send the client to n2
    const client = createClient({ seeds: [a.address, b.address], timeoutMs: 2000 });
    open.clients.push(client);
    const r = await client.check('k');
    expect(r).toMatchObject({ allowed: true, source: 'cluster' });
    expect(a.frames.length).toBe(1);
    expect(b.frames.length).toBe(1);
    expect(b.frames[0]?.[0]?.[1].idempotencyId).toBe(a.frames[0]?.[0]?.[1].idempotencyId);
  });

  it('retries a check whose reply was dropped (connection lost) with the same idempotency id, answering once', async () => {
    const { node, client } = await setup((ws, checks, n) => {
      if (n === 1) ws.terminate();
      else send(ws, checks.map(([id]) => ok(id)));
    });
    const r = await client.check('k');
    expect(r.source).toBe('cluster');
    expect(node.frames.length).toBe(2);
    expect(node.frames[1]?.[0]?.[1].idempotencyId).toBe(node.frames[0]?.[0]?.[1].idempotencyId);
    expect(client.stats.retries).toBe(1);
  });

  it('does not retry a non-retryable error', async () => {
    const { node, client } = await setup((ws, checks) => send(ws, checks.map(([id]) => ({ id, ok: false, error: { code: 'RL_ERR_UNKNOWN_RESOURCE', message: 'no rule' } }))));
    await expect(client.check('k', { resource: 'nope' })).rejects.toMatchObject({ code: 'RL_ERR_UNKNOWN_RESOURCE', reason: 'server' });
    expect(node.frames.length).toBe(1);
  });

  it('fails fast with queueFull beyond the send-queue bound', async () => {
    const { client } = await setup((ws, checks) => send(ws, checks.map(([id]) => ok(id))), { queueMax: 3 });
    await client.check('warm');
    const rs = await client.checkMany(Array.from({ length: 10 }, (_, i) => ({ key: `k${i}` })));
    expect(rs.filter((r) => r.ok).length).toBe(3);
    expect(rs.filter((r) => !r.ok).map((r) => (r.ok ? '' : r.error.reason))).toEqual(Array(7).fill('queueFull'));
  });

  it('waitFor sleeps retryAfterMs between tries, and rejects at once on retryAfterMs -1', async () => {
    let calls = 0;
    const { client } = await setup((ws, checks) =>
      send(
        ws,
        checks.map(([id, c]) => {
          if (c.key === 'never') return { id, ok: true, output: { allowed: false, limit: 1, remaining: 0, resetMs: 0, retryAfterMs: -1, rule: 'blocked' } };
          calls++;
          return calls < 3 ? { id, ok: true, output: { allowed: false, limit: 1, remaining: 0, resetMs: 30, retryAfterMs: 30, rule: 'r' } } : ok(id);
        }),
      ),
    { timeoutMs: 500 });
    const t0 = performance.now();
    // denyCache would answer the repeats locally until 30 ms pass; waitFor sleeps past that.
    expect(await client.waitFor('w', { deadlineMs: 5000 })).toMatchObject({ allowed: true });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
    expect(calls).toBe(3);
    await expect(client.waitFor('never', { deadlineMs: 5000 })).rejects.toMatchObject({ reason: 'never' });
  });
});
