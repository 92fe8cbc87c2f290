/**
 * `GET /v1/stats` (the node's live stats object, docs/stats.md) and the WebSocket
 * `/v1/stats/stream`, which pushes the same object to every subscriber once per second.
 * One snapshot and one JSON string per push, whatever the number of subscribers; at most
 * `subscribersMax` subscribers; a subscriber whose unsent bytes exceed
 * `backpressureBytesMax` is dropped (closed with code 4008), never buffered without bound.
 */
import uws from 'uWebSockets.js';
import { sendError, sendJson, toWireError, type ApiLogger, type RouteModule } from './http.js';

export interface StatsRoutesOptions {
  /** Open stream subscribers at most; more are refused with 503. [64: a dashboard per operator, with room] */
  readonly subscribersMax?: number;
  /** Unsent bytes a subscriber may hold before it is dropped. [1 MiB: a few hundred pushes of a typical object] */
  readonly backpressureBytesMax?: number;
  /** Time between pushes. [1000] */
  readonly pushIntervalMs?: number;
}

export interface StatsRoutesDeps {
  /** The stats object (serialised as JSON). Throws only on a broken invariant. */
  readonly snapshot: () => unknown;
  readonly logger: ApiLogger | null;
}

/** Close code for a subscriber dropped because it did not keep up (4000-4999: application codes). */
export const STREAM_CLOSE_TOO_SLOW = 4008;

const OPTION_NAMES: ReadonlySet<string> = new Set(['subscribersMax', 'backpressureBytesMax', 'pushIntervalMs']);

interface Subscriber {
  readonly id: number;
}

/**
 * @example
 * ```ts
 * const stats = new StatsRoutes({}, { snapshot: () => reporter.snapshot(), logger: null });
 * const api = new ApiServer({ host: '127.0.0.1', port: 0 }, { service, logger: null, routes: [stats.register] });
 * // later: stats.close(); await api.close();
 * ```
 */
export class StatsRoutes {
  readonly register: RouteModule;
  private readonly options: Required<StatsRoutesOptions>;
  private readonly subscribers = new Set<uws.WebSocket<Subscriber>>();
  private timer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private closed = false;
  /** Subscribers dropped for falling behind, since start. */
  droppedSlow = 0;
  /** Subscriptions refused because the node was at `subscribersMax`, since start. */
  refused = 0;

  constructor(
    options: StatsRoutesOptions,
    private readonly deps: StatsRoutesDeps,
  ) {
    for (const name of Object.keys(options)) {
      if (!OPTION_NAMES.has(name)) throw new TypeError(`Unknown StatsRoutes option '${name}' (known: ${[...OPTION_NAMES].join(', ')})`);
    }
    this.options = { subscribersMax: 64, backpressureBytesMax: 1024 * 1024, pushIntervalMs: 1000, ...options };
    const { subscribersMax, backpressureBytesMax, pushIntervalMs } = this.options;
    if (!Number.isInteger(subscribersMax) || subscribersMax < 1 || subscribersMax > 10_000) {
      throw new RangeError(`StatsRoutes: 'subscribersMax' must be an integer from 1 to 10000 (got ${subscribersMax})`);
    }
    if (!Number.isInteger(backpressureBytesMax) || backpressureBytesMax < 1024) {
      throw new RangeError(`StatsRoutes: 'backpressureBytesMax' must be an integer of at least 1024 (got ${backpressureBytesMax})`);
    }
    if (!Number.isInteger(pushIntervalMs) || pushIntervalMs < 10 || pushIntervalMs > 60_000) {
      throw new RangeError(`StatsRoutes: 'pushIntervalMs' must be an integer from 10 to 60000 (got ${pushIntervalMs})`);
    }
    this.register = (app) => this.routes(app);
  }

  subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Stops pushing and closes every subscriber. */
  close(): void {
    this.closed = true;
    this.stopTimer();
    for (const ws of [...this.subscribers]) ws.end(1001, 'node stopping');
    this.subscribers.clear();
  }

  private routes(app: uws.TemplatedApp): void {
    app.get('/v1/stats', (res) => {
      let body: string;
      try {
        body = JSON.stringify(this.deps.snapshot());
      } catch (err) {
        sendError(res, toWireError(err, this.deps.logger));
        return;
      }
      // Read-only and credential-free: any origin may read it, so a dashboard served by one
      // node can gather the others' stats.
      res.writeStatus('200 OK').writeHeader('Content-Type', 'application/json').writeHeader('Cache-Control', 'no-store').writeHeader('Access-Control-Allow-Origin', '*');
      res.end(body);
    });
    app.ws<Subscriber>('/v1/stats/stream', {
      compression: uws.DISABLED,
      // Subscribers only listen: anything they send beyond a tiny frame closes the connection.
      maxPayloadLength: 1024,
      maxBackpressure: this.options.backpressureBytesMax,
      closeOnBackpressureLimit: 1,
      idleTimeout: 60,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => {
        if (this.closed || this.subscribers.size >= this.options.subscribersMax) {
          this.refused++;
          sendJson(res, '503 Service Unavailable', {
            error: { code: 'RL_ERR_UNAVAILABLE', message: `stats stream is at its limit of ${this.options.subscribersMax} subscribers; poll GET /v1/stats instead` },
          }, { 'Retry-After': '5' });
          return;
        }
        res.upgrade<Subscriber>(
          { id: this.nextId++ },
          req.getHeader('sec-websocket-key'),
          req.getHeader('sec-websocket-protocol'),
          req.getHeader('sec-websocket-extensions'),
          context,
        );
      },
      open: (ws) => {
        this.subscribers.add(ws);
        // The first object at once, so a new page does not wait a second for data.
        const text = this.render();
        if (text !== null) ws.send(text, false);
        this.startTimer();
      },
      close: (ws) => {
        this.subscribers.delete(ws);
        if (this.subscribers.size === 0) this.stopTimer();
      },
    });
  }

  private render(): string | null {
    try {
      return JSON.stringify(this.deps.snapshot());
    } catch (err) {
      this.deps.logger?.error({ err }, 'stats snapshot failed');
      return null;
    }
  }

  private startTimer(): void {
    if (this.timer !== null || this.closed) return;
    this.timer = setInterval(() => this.push(), this.options.pushIntervalMs);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private push(): void {
    if (this.subscribers.size === 0) {
      this.stopTimer();
      return;
    }
    const text = this.render();
    if (text === null) return;
    for (const ws of [...this.subscribers]) {
      if (ws.getBufferedAmount() + text.length > this.options.backpressureBytesMax) {
        // A reader this far behind would only see stale data: drop it rather than buffer more.
        this.droppedSlow++;
        this.subscribers.delete(ws);
        ws.end(STREAM_CLOSE_TOO_SLOW, 'subscriber too slow; reconnect');
        continue;
      }
      ws.send(text, false);
    }
  }
}
