/**
 * The SDK in a web app: `httpRateLimit` in front of a `node:http` server. Each request is
 * checked against the cluster under the caller's API key; a denied request gets 429 with
 * `Retry-After`, `RateLimit` and `RateLimit-Policy`, an allowed one goes on with the
 * RateLimit headers set.
 *
 *   npm start                                          # a local 3-node cluster
 *   node --import tsx examples/node-http/app.ts        # then:
 *   curl -i -H 'x-api-key: user:42' http://127.0.0.1:8080/search?q=raft
 *
 * Environment: RL_SEEDS (default 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003), PORT
 * (default 8080; 0 picks a free port), RL_CLIENT_TOKEN when the nodes require one.
 *
 * With Express the same options go to `expressRateLimit` (same package), which has the
 * `(req, res, next)` shape: `app.use(expressRateLimit({ client, keyOf, checkOf }))`.
 * Express is not a dependency of this repository, so the example uses `node:http`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { createClient, httpRateLimit, type Client, type ClientOptions } from 'distributed-rate-limiter/client';

export interface AppOptions {
  readonly seeds: readonly string[];
  readonly port: number;
  readonly token?: string | undefined;
}

export interface RunningApp {
  readonly server: Server;
  readonly client: Client;
  readonly url: string;
  close(): Promise<void>;
}

/** The rate-limit resource of a request: `/search...` is `search`, `/login` is `login`, the rest `default`. */
export function resourceOf(req: { readonly url?: string | undefined }): string {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path.startsWith('/search')) return 'search';
  if (path === '/login') return 'login';
  return 'default';
}

/** Starts the app; resolves once it listens. */
export async function startApp(options: AppOptions): Promise<RunningApp> {
  const clientOptions: ClientOptions = {
    seeds: [...options.seeds],
    timeoutMs: 250, // per-check deadline; retries happen inside it
    // When the cluster cannot answer in time: search falls back to an in-process limiter
    // at a quarter of its limit (as if four app instances shared it), everything else denies.
    onUnavailable: { default: 'failClosed', resources: { search: { local: { limit: 10, periodMs: 1000, share: 0.25 } } } },
    ...(options.token === undefined ? {} : { token: options.token }),
  };
  const client = createClient(clientOptions);
  const limit = httpRateLimit({
    client,
    // No key, no limit: a real app would answer 401 instead.
    keyOf: (req) => {
      const k = req.headers['x-api-key'];
      return typeof k === 'string' && k.length > 0 ? k : undefined;
    },
    checkOf: (req) => ({ resource: resourceOf(req) }),
    windowMs: 1000, // the rule's period, for the w= of RateLimit-Policy
  });

  const server = createServer((req, res) => {
    void limit(req, res).then((goOn) => {
      if (!goOn) return; // already answered 429 (or 503 when the limiter failed)
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ ok: true, resource: resourceOf(req), path: req.url ?? '/' }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    client,
    url: `http://127.0.0.1:${port}`,
    async close(): Promise<void> {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await client.close();
    },
  };
}

async function main(): Promise<void> {
  const seeds = (process.env['RL_SEEDS'] ?? '127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003').split(',');
  const app = await startApp({ seeds, port: Number(process.env['PORT'] ?? 8080), token: process.env['RL_CLIENT_TOKEN'] });
  process.stdout.write(`listening on ${app.url}\n`);
  const stop = (): void => {
    void app.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
}
