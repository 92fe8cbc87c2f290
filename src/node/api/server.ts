/**
 * The client API of a node, on uWebSockets.js: HTTP JSON (`/v1/check`,
 * `/v1/check/batch`, `/v1/report`, `/v1/cluster`, `/healthz`, `/readyz`, `/metrics`) and
 * binary WebSocket frames (`/v1/ws`). Validates every request, maps operating conditions to
 * status codes and stable error codes, and never lets one client's bad input affect
 * another: every handler catches, every body and frame is bounded.
 */
import uws from 'uWebSockets.js';
import { rateLimitHeaders, toCheckOutput, validateCheck, type CheckInput, type CheckOutput } from '../../protocol/check.js';
import { RateLimiterError } from '../../protocol/errors.js';
import { BATCH_CHECKS_MAX, HTTP_BODY_BYTES_MAX } from '../../protocol/limits.js';
import { readReportSamples, type ReportSummary } from '../../protocol/report.js';
import { decodeRequestFrame, encodeReplyFrame, type WireError, type WireReply } from '../../protocol/ws.js';
import { readJsonBody, sendError, sendJson, toWireError, type ApiLogger, type Liveness, type RouteModule } from './http.js';
import { PendingAnswer, answerValue, type BatchWait, type CheckAnswer, type CheckService } from './service.js';
import { checkBearer } from '../meta/auth.js';

export type { ApiLogger } from './http.js';

export interface ApiServerOptions {
  readonly host: string;
  /** 0 picks a free port; `start()` returns the one bound. */
  readonly port: number;
  /** Largest HTTP body accepted. [64 KiB] */
  readonly bodyBytesMax?: number;
  /** Largest WebSocket frame accepted; larger frames close the connection (uWS rule). [1 MiB] */
  readonly wsFrameBytesMax?: number;
  /**
   * Bytes a WebSocket may have queued unsent before new replies for it are dropped and
   * the connection closed: a client that does not read cannot grow the node's memory. [4 MiB]
   */
  readonly wsBackpressureBytesMax?: number;
}

export interface ApiServerDeps {
  readonly service: CheckService;
  readonly logger: ApiLogger | null;
  /** Extra route modules (admin, stats, dashboard), registered before the catch-all 404. */
  readonly routes?: readonly RouteModule[];
  /** When set, `/v1/check`, `/v1/check/batch`, `/v1/report` and `/v1/ws` require `Authorization: Bearer <clientToken>` (401/403). */
  readonly clientToken?: string | undefined;
  /** Caller reports for adaptive limits (docs/adaptive.md), validated; absent: reports are accepted and dropped. */
  readonly reports?: (summaries: readonly ReportSummary[]) => void;
}

const OPTION_NAMES: ReadonlySet<string> = new Set(['host', 'port', 'bodyBytesMax', 'wsFrameBytesMax', 'wsBackpressureBytesMax']);

/** Replies per reply frame at most (~60 bytes each): frames stay far below any client's limit. */
const REPLIES_PER_FRAME_MAX = 4096;

/** The checks of one WebSocket frame that wait on the same Raft batch. */
interface PendingReplies {
  readonly batch: BatchWait;
  readonly ids: number[];
  readonly outputs: CheckOutput[];
}

type Outcome = { readonly ok: true; readonly output: CheckOutput } | { readonly ok: false; readonly error: WireError };

/** Runs one check; the outcome itself when the service answered at once, else a promise of it. Never throws. */
function runCheck(service: CheckService, input: CheckInput, logger: ApiLogger | null): Outcome | Promise<Outcome> {
  try {
    const r = answerValue(service.check(input));
    if (!(r instanceof Promise)) return { ok: true, output: r };
    return r.then(
      (output): Outcome => ({ ok: true, output }),
      (err: unknown): Outcome => ({ ok: false, error: toWireError(err, logger) }),
    );
  } catch (err) {
    return { ok: false, error: toWireError(err, logger) };
  }
}

/**
 * @example
 * ```ts
 * const api = new ApiServer({ host: '127.0.0.1', port: 7001 }, { service, logger: null });
 * const { port } = await api.start();
 * // curl -s -XPOST localhost:7001/v1/check -d '{"key":"user:42","resource":"search"}'
 * await api.close();
 * ```
 */
export class ApiServer {
  private readonly options: Required<ApiServerOptions>;
  private readonly app: uws.TemplatedApp;
  private listenSocket: uws.us_listen_socket | null = null;
  private readonly sockets = new Set<uws.WebSocket<unknown>>();
  private readonly outbox = new Map<uws.WebSocket<unknown>, WireReply[]>();
  private flushQueued = false;

  constructor(
    options: ApiServerOptions,
    private readonly deps: ApiServerDeps,
  ) {
    for (const name of Object.keys(options)) {
      if (!OPTION_NAMES.has(name)) throw new TypeError(`Unknown ApiServer option '${name}'`);
    }
    this.options = {
      bodyBytesMax: HTTP_BODY_BYTES_MAX,
      wsFrameBytesMax: 1024 * 1024,
      wsBackpressureBytesMax: 4 * 1024 * 1024,
      ...options,
    };
    if (!Number.isInteger(this.options.port) || this.options.port < 0 || this.options.port > 65535) {
      throw new RangeError(`'port' must be an integer from 0 to 65535 (got ${this.options.port})`);
    }
    for (const name of ['bodyBytesMax', 'wsFrameBytesMax', 'wsBackpressureBytesMax'] as const) {
      const v = this.options[name];
      if (!Number.isSafeInteger(v) || v < 1024) throw new RangeError(`'${name}' must be an integer of at least 1024 (got ${v})`);
    }
    this.app = uws.App();
    this.routes();
  }

  /** Starts listening; resolves with the bound port. */
  start(): Promise<{ port: number }> {
    return new Promise((resolve, reject) => {
      this.app.listen(this.options.host, this.options.port, (token) => {
        if (token === false) {
          reject(new RateLimiterError('RL_ERR_UNAVAILABLE', `cannot listen on ${this.options.host}:${this.options.port} (in use or not permitted)`));
          return;
        }
        this.listenSocket = token;
        resolve({ port: uws.us_socket_local_port(token as unknown as uws.us_socket) });
      });
    });
  }

  /** Stops accepting and closes every WebSocket. Open HTTP requests finish or are dropped by their clients. */
  close(): Promise<void> {
    if (this.listenSocket !== null) {
      uws.us_listen_socket_close(this.listenSocket);
      this.listenSocket = null;
    }
    for (const ws of this.sockets) ws.close();
    this.sockets.clear();
    return Promise.resolve();
  }

  private routes(): void {
    const { service } = this.deps;
    this.app.post('/v1/check', (res, req) => this.withBody(res, req, (body, live) => this.httpCheck(res, body, live)));
    this.app.post('/v1/check/batch', (res, req) => this.withBody(res, req, (body, live) => this.httpBatch(res, body, live)));
    this.app.post('/v1/report', (res, req) => this.withBody(res, req, (body, live) => this.httpReport(res, body, live)));
    this.app.get('/healthz', (res) => this.json(res, '200 OK', { status: 'ok' }));
    this.app.get('/readyz', (res) => {
      const ready = service.isReady();
      this.json(res, ready ? '200 OK' : '503 Service Unavailable', { ready });
    });
    this.app.get('/v1/cluster', (res) => {
      try {
        this.json(res, '200 OK', service.clusterView());
      } catch (err) {
        this.error(res, toWireError(err, this.deps.logger));
      }
    });
    this.app.get('/v1/cluster/slots', (res) => {
      if (service.slotMap === undefined) {
        this.error(res, { code: 'RL_ERR_BAD_REQUEST', message: 'no such route' }, '404 Not Found');
        return;
      }
      try {
        this.json(res, '200 OK', service.slotMap());
      } catch (err) {
        this.error(res, toWireError(err, this.deps.logger));
      }
    });
    this.app.get('/metrics', (res) => {
      const state = { aborted: false };
      res.onAborted(() => {
        state.aborted = true;
      });
      service.metricsText().then(
        ({ contentType, body }) => {
          if (!state.aborted) res.cork(() => res.writeStatus('200 OK').writeHeader('Content-Type', contentType).end(body));
        },
        (err: unknown) => {
          if (!state.aborted) res.cork(() => this.error(res, toWireError(err, this.deps.logger)));
        },
      );
    });
    this.app.ws<unknown>('/v1/ws', {
      compression: uws.DISABLED,
      upgrade: (res, req, context) => {
        const denied = this.clientDenied(req);
        if (denied !== null) {
          this.error(res, { code: denied.code, message: denied.message });
          return;
        }
        res.upgrade({}, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
      },
      maxPayloadLength: this.options.wsFrameBytesMax,
      maxBackpressure: this.options.wsBackpressureBytesMax,
      closeOnBackpressureLimit: 1,
      idleTimeout: 120,
      sendPingsAutomatically: true,
      open: (ws) => {
        this.sockets.add(ws);
      },
      close: (ws) => {
        this.sockets.delete(ws);
      },
      // uWS lends `message` for this call only: the frame is decoded before it returns and
      // keeps no view of it (checks are strings and numbers), so it is read in place, not copied.
      message: (ws, message) => this.wsFrame(ws, new Uint8Array(message)),
    });
    for (const register of this.deps.routes ?? []) register(this.app);
    this.app.any('/*', (res) => this.error(res, { code: 'RL_ERR_BAD_REQUEST', message: 'no such route' }, '404 Not Found'));
  }

  /** Reads a bounded JSON body, then calls `handle` with it (or answers 400). */
  private withBody(res: uws.HttpResponse, req: uws.HttpRequest, handle: (body: unknown, live: Liveness) => void): void {
    const denied = this.clientDenied(req);
    if (denied !== null) {
      this.error(res, { code: denied.code, message: denied.message });
      return;
    }
    readJsonBody(res, this.options.bodyBytesMax, handle);
  }

  private httpCheck(res: uws.HttpResponse, body: unknown, live: Liveness): void {
    const v = validateCheck(body);
    if (!v.ok) {
      this.error(res, { code: 'RL_ERR_BAD_REQUEST', message: v.message });
      return;
    }
    const reply = (o: Outcome): void => {
      if (live.aborted) return;
      res.cork(() => {
        if (!o.ok) {
          this.error(res, o.error);
          return;
        }
        const headers = rateLimitHeaders(o.output, this.deps.service.ruleWindowMs(o.output.rule));
        res.writeStatus('200 OK').writeHeader('Content-Type', 'application/json');
        for (const [k, val] of Object.entries(headers)) res.writeHeader(k, val);
        res.end(JSON.stringify(toCheckOutput(o.output)));
      });
    };
    const outcome = runCheck(this.deps.service, v.value, this.deps.logger);
    if (outcome instanceof Promise) void outcome.then(reply);
    else reply(outcome);
  }

  private httpBatch(res: uws.HttpResponse, body: unknown, live: Liveness): void {
    const checks = (body as { checks?: unknown } | null)?.checks;
    const extra = typeof body === 'object' && body !== null ? Object.keys(body).filter((k) => k !== 'checks') : [];
    if (!Array.isArray(checks) || checks.length === 0 || checks.length > BATCH_CHECKS_MAX || extra.length > 0) {
      this.error(res, { code: 'RL_ERR_BAD_REQUEST', message: `body must be { "checks": [ 1 to ${BATCH_CHECKS_MAX} checks ] }` });
      return;
    }
    const inputs: (CheckInput | WireError)[] = checks.map((c, i) => {
      const v = validateCheck(c, `checks[${i}]`);
      return v.ok ? v.value : { code: 'RL_ERR_BAD_REQUEST', message: v.message };
    });
    const toResult = (o: Outcome): CheckOutput | { error: WireError } => (o.ok ? toCheckOutput(o.output) : { error: o.error });
    void Promise.all(
      inputs.map((input) => {
        if ('code' in input) return { error: input };
        const o = runCheck(this.deps.service, input, this.deps.logger);
        return o instanceof Promise ? o.then(toResult) : toResult(o);
      }),
    ).then((results) => {
      if (!live.aborted) res.cork(() => res.writeStatus('200 OK').writeHeader('Content-Type', 'application/json').end(JSON.stringify({ results })));
    });
  }

  /** `POST /v1/report`: caller reports of the protected service's latency and errors; 202 once summed. */
  private httpReport(res: uws.HttpResponse, body: unknown, live: Liveness): void {
    const r = readReportSamples(body);
    if (live.aborted) return;
    if (!r.ok) {
      this.error(res, { code: 'RL_ERR_BAD_REQUEST', message: r.message });
      return;
    }
    this.deps.reports?.(r.value);
    let accepted = 0;
    for (const s of r.value) accepted += s.count;
    this.json(res, '202 Accepted', { accepted });
  }

  private wsFrame(ws: uws.WebSocket<unknown>, bytes: Uint8Array): void {
    const frame = decodeRequestFrame(bytes);
    if (!frame.ok) {
      this.wsSend(ws, [{ id: 0, ok: false, error: { code: 'RL_ERR_BAD_REQUEST', message: frame.message } }]);
      return;
    }
    if (frame.reports.length > 0) this.deps.reports?.(frame.reports);
    // Answers known at once go out in this turn's reply frame; checks waiting on a Raft
    // batch go out in one frame per batch when it settles (a frame's checks usually share
    // one or a few batches); forwarded checks in one frame when all of them are in.
    const now: WireReply[] = [];
    const batches: PendingReplies[] = [];
    let later: Promise<WireReply>[] | null = null;
    for (const [id, check] of frame.checks) {
      const v = validateCheck(check, id);
      if (!v.ok) {
        now.push({ id, ok: false, error: { code: 'RL_ERR_BAD_REQUEST', message: v.message } });
        continue;
      }
      let r: CheckAnswer;
      try {
        r = this.deps.service.check(v.value);
      } catch (err) {
        now.push({ id, ok: false, error: toWireError(err, this.deps.logger) });
        continue;
      }
      if (r instanceof PendingAnswer) {
        let group: PendingReplies | undefined;
        for (const b of batches) {
          if (b.batch === r.batch) {
            group = b;
            break;
          }
        }
        if (group === undefined) {
          group = { batch: r.batch, ids: [], outputs: [] };
          batches.push(group);
        }
        group.ids.push(id);
        group.outputs.push(r.output);
      } else if (r instanceof Promise) {
        (later ??= []).push(
          r.then(
            (output): WireReply => ({ id, ok: true, output: toCheckOutput(output) }),
            (err: unknown): WireReply => ({ id, ok: false, error: toWireError(err, this.deps.logger) }),
          ),
        );
      } else {
        now.push({ id, ok: true, output: toCheckOutput(r) });
      }
    }
    if (now.length > 0) this.wsSend(ws, now);
    for (const group of batches) {
      group.batch.onSettled((err) => {
        const replies: WireReply[] = new Array<WireReply>(group.ids.length);
        if (err === null) {
          for (let i = 0; i < group.ids.length; i++) replies[i] = { id: group.ids[i] as number, ok: true, output: group.outputs[i] as CheckOutput }; // already in wire shape (PendingAnswer)
        } else {
          const error = toWireError(err, this.deps.logger);
          for (let i = 0; i < group.ids.length; i++) replies[i] = { id: group.ids[i] as number, ok: false, error };
        }
        this.wsSend(ws, replies);
      });
    }
    if (later !== null) void Promise.all(later).then((all) => this.wsSend(ws, all));
  }

  /**
   * Queues replies for `ws`. Everything answered in one pass of the event loop (a frame's
   * immediate answers, every Raft batch applied in that pass) leaves in one reply frame
   * per socket, at the end of the pass: fewer frames, fewer system calls.
   */
  private wsSend(ws: uws.WebSocket<unknown>, replies: readonly WireReply[]): void {
    if (!this.sockets.has(ws)) return; // closed while the checks were decided
    const queued = this.outbox.get(ws);
    if (queued === undefined) this.outbox.set(ws, replies.slice());
    else for (const r of replies) queued.push(r);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushOutbox);
    }
  }

  /** The client-token check of the check endpoints: null when it passes or no token is configured. */
  private clientDenied(req: uws.HttpRequest): RateLimiterError | null {
    const token = this.deps.clientToken;
    return token === undefined ? null : checkBearer(req.getHeader('authorization'), token, 'check');
  }

  private readonly flushOutbox = (): void => {
    this.flushQueued = false;
    for (const [ws, replies] of this.outbox) {
      if (!this.sockets.has(ws)) continue;
      ws.cork(() => {
        for (let i = 0; i < replies.length; i += REPLIES_PER_FRAME_MAX) {
          ws.send(encodeReplyFrame(i === 0 && replies.length <= REPLIES_PER_FRAME_MAX ? replies : replies.slice(i, i + REPLIES_PER_FRAME_MAX)), true);
        }
      });
    }
    this.outbox.clear();
  };

  private json(res: uws.HttpResponse, status: string, body: unknown): void {
    sendJson(res, status, body);
  }

  private error(res: uws.HttpResponse, error: WireError, status?: string, close = false): void {
    sendError(res, error, status, close);
  }
}
