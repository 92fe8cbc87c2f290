// Proves the built-in Toxiproxy server honours Toxiproxy's HTTP API as `toxiproxy-node-client`
// sees it (proxies: create, list, get, update, enable/disable, delete, populate, reset; toxics:
// add, get, update, remove) and that each toxic really acts on TCP bytes through an echo server.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Toxiproxy, ToxiproxyError, type Proxy } from 'toxiproxy-node-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ToxiproxyServer } from '../../chaos/toxiproxy/server.js';

let server: ToxiproxyServer;
let api: Toxiproxy;
let echo: Server;
let echoPort = 0;

/** Opens a connection to `listen`, writes `data`, and collects what comes back until `bytes` arrived, the socket closes, or `waitMs` passes. */
async function roundTrip(listen: string, data: Buffer, bytes: number, waitMs = 3000): Promise<{ got: Buffer; ms: number; closed: string | null }> {
  const [host, port] = listen.split(':');
  const started = performance.now();
  const sock: Socket = connect({ host: host as string, port: Number(port) });
  const chunks: Buffer[] = [];
  let closed: string | null = null;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, waitMs);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    sock.on('connect', () => sock.write(data));
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      if (Buffer.concat(chunks).length >= bytes) done();
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      closed = err.code ?? 'error';
      done();
    });
    sock.on('close', () => {
      closed ??= 'closed';
      done();
    });
  });
  const ms = performance.now() - started;
  sock.destroy();
  return { got: Buffer.concat(chunks), ms, closed };
}

async function freshProxy(name: string): Promise<Proxy> {
  return api.createProxy({ name, listen: '127.0.0.1:0', upstream: `127.0.0.1:${echoPort}` });
}

beforeAll(async () => {
  echo = createServer((s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  const a = echo.address();
  echoPort = typeof a === 'object' && a !== null ? a.port : 0;
  server = await ToxiproxyServer.start({ port: 0 });
  api = new Toxiproxy(server.url);
});

afterAll(async () => {
  await server.close();
  await new Promise<void>((r) => echo.close(() => r()));
});

describe('built-in Toxiproxy server, proxies', () => {
  it('creates a proxy on a free port that carries bytes both ways', async () => {
    const p = await freshProxy('plain');
    expect(p.name).toBe('plain');
    expect(p.enabled).toBe(true);
    expect(p.listen).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
    const r = await roundTrip(p.listen, Buffer.from('hello'), 5);
    expect(r.got.toString()).toBe('hello');
  });

  it('lists, gets, and refuses a duplicate name with a ToxiproxyError', async () => {
    await freshProxy('listed');
    const all = await api.getAll();
    expect(Object.keys(all)).toContain('listed');
    const got = await api.get('listed');
    expect(got.upstream).toBe(`127.0.0.1:${echoPort}`);
    await expect(freshProxy('listed')).rejects.toBeInstanceOf(ToxiproxyError);
    await expect(api.get('no-such-proxy')).rejects.toThrow(/404/);
  });

  it('disable refuses connections and cuts open ones; enable serves again on the same address', async () => {
    const p = await freshProxy('toggle');
    const [host, port] = p.listen.split(':');
    const open: Socket = connect({ host: host as string, port: Number(port) });
    await new Promise<void>((r) => open.once('connect', () => r()));
    const cut = new Promise<void>((r) => open.once('close', () => r()));
    open.on('error', () => undefined);
    const off = await p.update({ enabled: false, listen: p.listen, upstream: p.upstream });
    expect(off.enabled).toBe(false);
    await cut;
    const refused = await roundTrip(p.listen, Buffer.from('x'), 1, 1000);
    expect(refused.closed).toBe('ECONNREFUSED');
    const on = await p.update({ enabled: true, listen: p.listen, upstream: p.upstream });
    expect(on.enabled).toBe(true);
    expect(on.listen).toBe(p.listen);
    expect((await roundTrip(p.listen, Buffer.from('back'), 4)).got.toString()).toBe('back');
  });

  it('deletes a proxy (its port stops answering) and populates a set of proxies', async () => {
    const p = await freshProxy('doomed');
    await p.remove();
    await expect(api.get('doomed')).rejects.toBeInstanceOf(ToxiproxyError);
    expect((await roundTrip(p.listen, Buffer.from('x'), 1, 1000)).closed).toBe('ECONNREFUSED');
    const made = await api.populate([
      { name: 'pop-a', listen: '127.0.0.1:0', upstream: `127.0.0.1:${echoPort}` },
      { name: 'pop-b', listen: '127.0.0.1:0', upstream: `127.0.0.1:${echoPort}` },
    ]);
    expect(Object.keys(made).sort()).toEqual(['pop-a', 'pop-b']);
    expect((await roundTrip((made['pop-b'] as Proxy).listen, Buffer.from('pop'), 3)).got.toString()).toBe('pop');
  });

  it('reset removes every toxic and enables every proxy', async () => {
    const p = await freshProxy('resettable');
    await p.addToxic({ name: 'slow', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 500, jitter: 0 } });
    await p.update({ enabled: false, listen: p.listen, upstream: p.upstream });
    await api.reset();
    const after = await api.get('resettable');
    expect(after.enabled).toBe(true);
    expect((after.toJson() as unknown as { toxics?: unknown }).toxics).toBeUndefined(); // the client drops toxics from toJson
    await expect(after.getToxic('slow')).rejects.toBeInstanceOf(ToxiproxyError);
    expect(await api.getVersion()).toMatch(/\S/);
  });
});

describe('built-in Toxiproxy server, toxics', () => {
  it('latency with jitter delays each direction it is set on; update and remove take effect on open proxies', async () => {
    const p = await freshProxy('latency');
    const t = await p.addToxic({ name: 'lat', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 200, jitter: 50 } });
    expect(t.toJson()).toEqual({ name: 'lat', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 200, jitter: 50 } });
    const slow = await roundTrip(p.listen, Buffer.from('ping'), 4);
    expect(slow.got.toString()).toBe('ping');
    expect(slow.ms).toBeGreaterThanOrEqual(145);
    const up = await t.update({ name: 'lat', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 600, jitter: 0 } });
    expect(up.attributes).toEqual({ latency: 600, jitter: 0 });
    expect((await roundTrip(p.listen, Buffer.from('ping'), 4)).ms).toBeGreaterThanOrEqual(590);
    expect((await p.getToxic('lat')).attributes).toEqual({ latency: 600, jitter: 0 });
    await up.remove();
    expect((await roundTrip(p.listen, Buffer.from('ping'), 4)).ms).toBeLessThan(400);
  });

  it('upstream latency delays the client-to-server bytes', async () => {
    const p = await freshProxy('latency-up');
    await p.addToxic({ name: 'lat-up', type: 'latency', stream: 'upstream', toxicity: 1, attributes: { latency: 300, jitter: 0 } });
    expect((await roundTrip(p.listen, Buffer.from('ping'), 4)).ms).toBeGreaterThanOrEqual(290);
  });

  it('toxicity 0 leaves connections alone', async () => {
    const p = await freshProxy('nontoxic');
    await p.addToxic({ name: 'never', type: 'latency', stream: 'downstream', toxicity: 0, attributes: { latency: 1000, jitter: 0 } });
    expect((await roundTrip(p.listen, Buffer.from('ping'), 4)).ms).toBeLessThan(800);
  });

  it('bandwidth limits the rate (KB/s)', async () => {
    const p = await freshProxy('bandwidth');
    await p.addToxic({ name: 'bw', type: 'bandwidth', stream: 'downstream', toxicity: 1, attributes: { rate: 20 } });
    const data = Buffer.alloc(10_000, 7);
    const r = await roundTrip(p.listen, data, data.length, 5000);
    expect(r.got.length).toBe(data.length);
    expect(r.ms).toBeGreaterThanOrEqual(400); // 10 kB at 20 kB/s: 500 ms
  });

  it('timeout holds every byte and closes the connection after its timeout', async () => {
    const p = await freshProxy('timeout');
    await p.addToxic({ name: 'to', type: 'timeout', stream: 'upstream', toxicity: 1, attributes: { timeout: 300 } });
    const r = await roundTrip(p.listen, Buffer.from('lost'), 4, 3000);
    expect(r.got.length).toBe(0);
    expect(r.closed).not.toBeNull();
    expect(r.ms).toBeGreaterThanOrEqual(280);
    expect(r.ms).toBeLessThan(2500);
  });

  it('timeout 0 holds data until the toxic is removed, then delivers it', async () => {
    const p = await freshProxy('hold');
    const t = await p.addToxic({ name: 'hold', type: 'timeout', stream: 'downstream', toxicity: 1, attributes: { timeout: 0 } });
    const pending = roundTrip(p.listen, Buffer.from('late'), 4, 3000);
    await new Promise((r) => setTimeout(r, 400));
    await t.remove();
    const r = await pending;
    expect(r.got.toString()).toBe('late');
    expect(r.ms).toBeGreaterThanOrEqual(380);
  });

  it('reset_peer resets connections with ECONNRESET', async () => {
    const p = await freshProxy('reset');
    await p.addToxic({ name: 'rst', type: 'reset_peer', stream: 'upstream', toxicity: 1, attributes: { timeout: 100 } });
    const r = await roundTrip(p.listen, Buffer.from('x'), 1000, 3000);
    expect(r.closed).toBe('ECONNRESET');
  });

  it('limit_data closes the connection once its byte budget passed', async () => {
    const p = await freshProxy('limit');
    await p.addToxic({ name: 'lim', type: 'limit_data', stream: 'downstream', toxicity: 1, attributes: { bytes: 6 } });
    const r = await roundTrip(p.listen, Buffer.from('0123456789'), 10, 3000);
    expect(r.got.toString()).toBe('012345');
    expect(r.closed).not.toBeNull();
  });

  it('slicer splits data into small delayed pieces without changing it', async () => {
    const p = await freshProxy('slicer');
    await p.addToxic({ name: 'sl', type: 'slicer', stream: 'downstream', toxicity: 1, attributes: { average_size: 4, size_variation: 2, delay: 10_000 } });
    const data = Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789');
    const r = await roundTrip(p.listen, data, data.length, 5000);
    expect(r.got.toString()).toBe(data.toString());
    expect(r.ms).toBeGreaterThanOrEqual(40); // at least 5 pieces 10 ms apart
  });

  it('slow_close delays the close after the server ends', async () => {
    const p = await api.createProxy({ name: 'slow-close', listen: '127.0.0.1:0', upstream: `127.0.0.1:${echoPort}` });
    await p.addToxic({ name: 'sc', type: 'slow_close', stream: 'upstream', toxicity: 1, attributes: { delay: 400 } });
    const [host, port] = p.listen.split(':');
    const sock = connect({ host: host as string, port: Number(port) });
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const started = performance.now();
    const ended = new Promise<number>((r) => sock.once('end', () => r(performance.now() - started)));
    sock.on('data', () => undefined);
    sock.end(); // the client's FIN reaches the echo server only after the delay, and its FIN comes back after that
    expect(await ended).toBeGreaterThanOrEqual(380);
    sock.destroy();
  });

  it('rejects unknown toxic types, attributes and duplicate names with a ToxiproxyError', async () => {
    const p = await freshProxy('invalid');
    await expect(p.addToxic({ name: 'x', type: 'down', stream: 'upstream', toxicity: 1, attributes: {} })).rejects.toBeInstanceOf(ToxiproxyError);
    await expect(p.addToxic({ name: 'y', type: 'latency', stream: 'upstream', toxicity: 1, attributes: { latencyy: 3 } })).rejects.toThrow(/400/);
    await p.addToxic({ name: 'z', type: 'latency', stream: 'upstream', toxicity: 1, attributes: { latency: 1 } });
    await expect(p.addToxic({ name: 'z', type: 'latency', stream: 'upstream', toxicity: 1, attributes: { latency: 1 } })).rejects.toThrow(/409/);
  });
});
