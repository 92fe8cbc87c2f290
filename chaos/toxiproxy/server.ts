/**
 * A small Toxiproxy-compatible server (the real one cannot be installed on the build
 * machines): the part of Toxiproxy's HTTP API that `toxiproxy-node-client` uses, over
 * real TCP proxying. Chaos scenarios talk to it through the client library exactly as
 * they would to a real Toxiproxy (`TOXIPROXY_URL`); `test/chaos/toxiproxy-contract.test.ts`
 * pins the behaviour.
 *
 * Routes: GET /version; POST /reset; GET|POST /proxies; POST /populate;
 * GET|POST|PATCH|DELETE /proxies/{name}; GET|POST /proxies/{name}/toxics;
 * GET|POST|PATCH|DELETE /proxies/{name}/toxics/{toxic}.
 *
 * @example
 * ```ts
 * const server = await ToxiproxyServer.start({ port: 0 });
 * const api = new Toxiproxy(server.url);
 * const p = await api.createProxy({ name: 'n1-to-n2', listen: '127.0.0.1:0', upstream: '127.0.0.1:7102' });
 * await server.close();
 * ```
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { TcpProxy, TOXICS_MAX, splitHostPort } from './proxy.js';
import { parseToxic, toxicJson } from './toxics.js';

/** Request bodies are tiny JSON documents; anything bigger is a mistake. */
const BODY_BYTES_MAX = 1 << 20;
/** Proxies per server: N² links of a chaos cluster, with room. */
const PROXIES_MAX = 1024;
export const BUILTIN_VERSION = '2.9.0-rl-builtin';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class ToxiproxyServer {
  private readonly proxies = new Map<string, TcpProxy>();

  private constructor(
    private readonly http: Server,
    readonly url: string,
  ) {}

  /** Starts the API on 127.0.0.1:`port` (0: any free port; `url` says which). */
  static async start(options: { port: number; host?: string }): Promise<ToxiproxyServer> {
    const host = options.host ?? '127.0.0.1';
    let self: ToxiproxyServer | null = null;
    const http = createServer((req, res) => {
      if (self !== null) void self.handle(req, res);
    });
    await new Promise<void>((res, rej) => {
      http.once('error', rej);
      http.listen(options.port, host, () => res());
    });
    const addr = http.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : options.port;
    self = new ToxiproxyServer(http, `http://${host}:${port}`);
    return self;
  }

  /** Closes every proxy, its connections, and the API. */
  async close(): Promise<void> {
    await Promise.all([...this.proxies.values()].map((p) => p.disable()));
    this.proxies.clear();
    this.http.closeAllConnections();
    await new Promise<void>((r) => this.http.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const body = await readBody(req);
      const { status, json } = await this.route(req.method ?? 'GET', new URL(req.url ?? '/', 'http://x').pathname, body);
      if (json === undefined) {
        res.writeHead(status).end();
      } else if (typeof json === 'string') {
        res.writeHead(status, { 'content-type': 'text/plain' }).end(json);
      } else {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      }
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: err instanceof Error ? err.message : String(err), status }));
    }
  }

  private proxy(name: string): TcpProxy {
    const p = this.proxies.get(decodeURIComponent(name));
    if (p === undefined) throw new HttpError(404, 'proxy not found');
    return p;
  }

  private async route(method: string, path: string, body: unknown): Promise<{ status: number; json: unknown }> {
    const parts = path.split('/').filter((s) => s !== '');
    const [a, name, b, toxicName] = parts;
    if (method === 'GET' && a === 'version' && parts.length === 1) return { status: 200, json: BUILTIN_VERSION };
    if (method === 'POST' && a === 'reset' && parts.length === 1) {
      for (const p of this.proxies.values()) {
        p.toxics.length = 0;
        await p.enable();
      }
      return { status: 204, json: undefined };
    }
    if (method === 'POST' && a === 'populate' && parts.length === 1) {
      if (!Array.isArray(body)) throw new HttpError(400, 'populate takes a JSON array of proxies');
      const out: Record<string, unknown>[] = [];
      for (const item of body as unknown[]) {
        const spec = proxySpec(item);
        const old = this.proxies.get(spec.name);
        if (old !== undefined) {
          await old.disable();
          this.proxies.delete(spec.name);
        }
        out.push((await this.create(spec)).json());
      }
      return { status: 201, json: { proxies: out } };
    }
    if (a !== 'proxies') throw new HttpError(404, `no route ${method} ${path}`);
    if (name === undefined) {
      if (method === 'GET') return { status: 200, json: Object.fromEntries([...this.proxies].map(([k, p]) => [k, p.json()])) };
      if (method === 'POST') {
        const spec = proxySpec(body);
        if (this.proxies.has(spec.name)) throw new HttpError(409, 'proxy already exists');
        return { status: 201, json: (await this.create(spec)).json() };
      }
      throw new HttpError(405, `${method} not allowed on /proxies`);
    }
    const p = this.proxy(name);
    if (b === undefined) {
      if (method === 'GET') return { status: 200, json: p.json() };
      if (method === 'DELETE') {
        await p.disable();
        this.proxies.delete(p.name);
        return { status: 204, json: undefined };
      }
      if (method === 'POST' || method === 'PATCH') return { status: 200, json: (await this.update(p, body)).json() };
      throw new HttpError(405, `${method} not allowed on a proxy`);
    }
    if (b !== 'toxics' || parts.length > 4) throw new HttpError(404, `no route ${method} ${path}`);
    if (toxicName === undefined) {
      if (method === 'GET') return { status: 200, json: p.toxics.map(toxicJson) };
      if (method === 'POST') {
        const t = parseToxic(body, null);
        if (typeof t === 'string') throw new HttpError(400, t);
        if (p.toxics.some((x) => x.name === t.name)) throw new HttpError(409, 'toxic already exists');
        if (p.toxics.length >= TOXICS_MAX) throw new HttpError(400, `a proxy holds at most ${TOXICS_MAX} toxics`);
        p.toxics.push(t);
        return { status: 200, json: toxicJson(t) };
      }
      throw new HttpError(405, `${method} not allowed on toxics`);
    }
    const i = p.toxics.findIndex((x) => x.name === decodeURIComponent(toxicName));
    const old = p.toxics[i];
    if (old === undefined) throw new HttpError(404, 'toxic not found');
    if (method === 'GET') return { status: 200, json: toxicJson(old) };
    if (method === 'DELETE') {
      p.toxics.splice(i, 1);
      return { status: 204, json: undefined };
    }
    if (method === 'POST' || method === 'PATCH') {
      const t = parseToxic({ ...(typeof body === 'object' && body !== null ? body : {}), name: old.name }, old);
      if (typeof t === 'string') throw new HttpError(400, t);
      p.toxics[i] = t;
      return { status: 200, json: toxicJson(t) };
    }
    throw new HttpError(405, `${method} not allowed on a toxic`);
  }

  private async create(spec: ProxySpec): Promise<TcpProxy> {
    if (this.proxies.size >= PROXIES_MAX) throw new HttpError(400, `at most ${PROXIES_MAX} proxies`);
    const p = new TcpProxy(spec.name, spec.listen, spec.upstream);
    if (spec.enabled) {
      try {
        await p.enable();
      } catch (err) {
        throw new HttpError(500, `cannot listen on ${spec.listen}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    this.proxies.set(spec.name, p);
    return p;
  }

  private async update(p: TcpProxy, body: unknown): Promise<TcpProxy> {
    if (typeof body !== 'object' || body === null) throw new HttpError(400, 'proxy update must be a JSON object');
    const b = body as Record<string, unknown>;
    if (b['upstream'] !== undefined) {
      if (typeof b['upstream'] !== 'string' || splitHostPort(b['upstream']) === null) throw new HttpError(400, 'upstream must be host:port');
      if (b['upstream'] !== p.upstream) {
        p.upstream = b['upstream'];
        p.dropConnections();
      }
    }
    if (b['listen'] !== undefined && b['listen'] !== p.listen) {
      if (typeof b['listen'] !== 'string' || splitHostPort(b['listen']) === null) throw new HttpError(400, 'listen must be host:port');
      const wasEnabled = p.enabled;
      await p.disable();
      p.listen = b['listen'];
      if (wasEnabled) await p.enable();
    }
    if (b['enabled'] === false) await p.disable();
    else if (b['enabled'] === true) await p.enable();
    return p;
  }
}

interface ProxySpec {
  readonly name: string;
  readonly listen: string;
  readonly upstream: string;
  readonly enabled: boolean;
}

function proxySpec(body: unknown): ProxySpec {
  if (typeof body !== 'object' || body === null) throw new HttpError(400, 'proxy must be a JSON object');
  const b = body as Record<string, unknown>;
  const name = b['name'];
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,200}$/.test(name)) throw new HttpError(400, `proxy name must match [A-Za-z0-9_.-]{1,200} (got ${JSON.stringify(name)})`);
  const listen = b['listen'] ?? '127.0.0.1:0';
  const upstream = b['upstream'];
  if (typeof listen !== 'string' || splitHostPort(listen) === null) throw new HttpError(400, `listen must be host:port (got ${JSON.stringify(listen)})`);
  if (typeof upstream !== 'string' || splitHostPort(upstream) === null) throw new HttpError(400, `upstream must be host:port (got ${JSON.stringify(upstream)})`);
  const enabled = b['enabled'] ?? true;
  if (typeof enabled !== 'boolean') throw new HttpError(400, 'enabled must be a boolean');
  return { name, listen, upstream, enabled };
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const c of req) {
    const b = c as Buffer;
    bytes += b.length;
    if (bytes > BODY_BYTES_MAX) throw new HttpError(413, `request body over ${BODY_BYTES_MAX} bytes`);
    chunks.push(b);
  }
  if (bytes === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'request body is not JSON');
  }
}
