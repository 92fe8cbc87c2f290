/**
 * rlctl's HTTP client: one request to one node, bounded in time, with every failure
 * turned into a CliError whose message is one line: unreachable endpoint, missing or
 * refused token, or the node's error code and message.
 */
import { CliError, EXIT_FAILURE, EXIT_USAGE } from './cli-error.js';

export interface Endpoint {
  /** host:port as the user gave it (for messages). */
  readonly name: string;
  /** http://host:port */
  readonly base: string;
}

/** `127.0.0.1:7001`, `http://host:7001`, `localhost:7001/` → an endpoint; anything else is a usage error. */
export function parseEndpoint(raw: string): Endpoint {
  const text = raw.trim().replace(/\/+$/, '');
  const withScheme = /^https?:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new CliError(EXIT_USAGE, `--endpoint must be host:port (got ${JSON.stringify(raw)})`);
  }
  if (url.port === '' || url.pathname !== '/' || url.hostname === '') throw new CliError(EXIT_USAGE, `--endpoint must be host:port (got ${JSON.stringify(raw)})`);
  return { name: url.host, base: `${url.protocol}//${url.host}` };
}

export interface RequestOptions {
  readonly method?: 'GET' | 'PUT' | 'POST' | 'DELETE';
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Bearer token to send (admin or client token). */
  readonly token?: string | undefined;
  /** Whole-request bound. Admin writes wait for a quorum commit: 15 s is far above it. [5000] */
  readonly timeoutMs?: number;
}

export interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
}

function reason(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  if (code === 'ECONNREFUSED') return 'connection refused (is a node running there?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code === 'ECONNRESET') return 'connection reset';
  if (typeof cause?.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** One request; resolves with any HTTP answer, rejects with a CliError when the node cannot be reached. */
export async function request(endpoint: Endpoint, path: string, options: RequestOptions = {}): Promise<Answer> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  let r: Response;
  try {
    r = await fetch(`${endpoint.base}${path}`, {
      method: options.method ?? 'GET',
      headers,
      ...(options.body === undefined ? {} : { body: options.body }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
      throw new CliError(EXIT_FAILURE, `no answer from ${endpoint.name} within ${timeoutMs} ms`, { code: 'RLCTL_TIMEOUT', endpoint: endpoint.name });
    }
    throw new CliError(EXIT_FAILURE, `cannot reach ${endpoint.name}: ${reason(err)}`, { code: 'RLCTL_UNREACHABLE', endpoint: endpoint.name });
  }
  const text = await r.text().catch(() => '');
  let body: unknown = text;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: r.status, body, headers: r.headers };
}

interface WireErrorBody {
  readonly code: string;
  readonly message: string;
  readonly issues?: readonly { path: string; message: string }[];
  readonly currentVersion?: number;
}

function wireError(body: unknown): WireErrorBody | null {
  const e = (body as { error?: unknown } | null)?.error as Partial<WireErrorBody> | undefined;
  if (typeof e !== 'object' || e === null || typeof e.code !== 'string' || typeof e.message !== 'string') return null;
  return e as WireErrorBody;
}

/** The answer's body when it is 2xx, else the CliError it means. */
export function expectOk(endpoint: Endpoint, a: Answer, tokenHint: string): unknown {
  if (a.status >= 200 && a.status < 300) return a.body;
  const e = wireError(a.body);
  if (e === null) throw new CliError(EXIT_FAILURE, `${endpoint.name} answered HTTP ${a.status}`, { code: 'RLCTL_HTTP', status: a.status });
  const details: Record<string, unknown> = { ...e };
  if (e.code === 'RL_ERR_UNAUTHORIZED') throw new CliError(EXIT_FAILURE, `${endpoint.name} needs a token: ${tokenHint}`, details);
  if (e.code === 'RL_ERR_FORBIDDEN') throw new CliError(EXIT_FAILURE, `${endpoint.name} refused the token: ${e.message}`, details);
  if (e.code === 'RL_ERR_CONFIG_INVALID') {
    const issues = e.issues ?? [];
    throw new CliError(EXIT_FAILURE, `invalid configuration (${issues.length} issue${issues.length === 1 ? '' : 's'}); nothing was applied`, details, issues.map((i) => `  ${i.path}: ${i.message}`));
  }
  const first = e.message.split('\n')[0] ?? e.message;
  throw new CliError(EXIT_FAILURE, `${e.code}: ${first}`, details);
}
