/**
 * The SDK client: routes each check straight to its group's leader over one WebSocket per
 * node, retries retryable failures inside the check's deadline with the same idempotency
 * id, answers repeated denials from the deny cache, and applies the degradation policy
 * when the cluster cannot answer in time. Every promise it returns settles by the
 * deadline (plus scheduling delay) and nothing it starts can reject unobserved.
 */
import { randomBytes } from 'node:crypto';
import { validateCheck, type CheckOutput } from '../src/protocol/check.js';
import { isRetryableCode, type ErrorCode } from '../src/protocol/errors.js';
import { encodeReportFrame, type WireError } from '../src/protocol/ws.js';
import { ClientError } from './client-error.js';
import { NodeConnection, type ConnReply } from './connection.js';
import { Degrader } from './degrade.js';
import { realDeps, type ClientDeps, type TimerHandle } from './deps.js';
import { DenyCache } from './deny-cache.js';
import { createClientMetrics, type ClientMetrics } from './metrics.js';
import { resolveOptions, type ClientOptions, type ResolvedOptions } from './options.js';
import { ReportAccumulator, type ReportSampleInput } from './reporter.js';
import { Topology } from './topology.js';

/** Where an answer came from. */
export type AnswerSource = 'cluster' | 'denyCache' | 'failClosed' | 'failOpen' | 'local';

/** The answer to a check: the node's answer fields plus `source`. A denial is a result, never an error. */
export interface CheckResult extends CheckOutput {
  readonly source: AnswerSource;
}

export interface CheckOptions {
  /** One resource [default "default"]; or `resources` for an atomic multi-resource check. */
  readonly resource?: string;
  readonly resources?: readonly string[];
  /** Units to take [1]. */
  readonly cost?: number;
  readonly tier?: string;
  /** This check's deadline instead of the client's `timeoutMs`. */
  readonly timeoutMs?: number;
}

export type CheckManyItem = CheckOptions & { readonly key: string };
export type CheckManyResult = { readonly ok: true; readonly result: CheckResult } | { readonly ok: false; readonly error: ClientError };

export interface WaitForOptions extends CheckOptions {
  /** How long to keep trying, from the call, in ms. */
  readonly deadlineMs: number;
}

export interface Client {
  check(key: string, options?: CheckOptions): Promise<CheckResult>;
  checkMany(items: readonly CheckManyItem[]): Promise<CheckManyResult[]>;
  waitFor(key: string, options: WaitForOptions): Promise<CheckResult>;
  /**
   * Tells the cluster how a call to the protected service went (its latency in ms, and
   * whether it succeeded), for adaptive limits (docs/adaptive.md). Cheap: summed locally
   * into fixed buckets and sent in one frame per `reportIntervalMs`; best effort (a flush
   * that finds no open socket waits for the next). Throws TypeError/RangeError on bad input.
   */
  report(resource: string, sample: ReportSampleInput): void;
  /** Stops polling, closes sockets, fails what is open with reason `closed`. */
  close(): Promise<void>;
  /** Counters for tests and dashboards without prom-client. */
  readonly stats: Readonly<ClientStats>;
}

export interface ClientStats {
  sent: number;
  retries: number;
  answered: number;
  cacheHits: number;
  degraded: number;
  topologyRefreshes: number;
  /** Reports sent to the cluster (inside flushed frames), and dropped (beyond 64 resources per flush). */
  reportsSent: number;
  reportsDropped: number;
}

const CHECK_OPTION_NAMES: ReadonlySet<string> = new Set(['resource', 'resources', 'cost', 'tier', 'timeoutMs']);
/** Retry backoff: first ceiling and cap. Small: a leader change takes ~a second; the deadline bounds the total. */
const RETRY_BACKOFF_MS_MIN = 10;
const RETRY_BACKOFF_MS_MAX = 250;
/** Connection backoff after a lost socket: first ceiling and cap. */
const CONNECT_BACKOFF_MS_MIN = 50;
const CONNECT_BACKOFF_MS_MAX = 2000;
/** Error-triggered topology refreshes at most this often; the poll covers the rest. */
const REFRESH_MS_MIN = 50;

interface Wire {
  readonly key: string;
  readonly resource?: string;
  readonly resources?: readonly string[];
  readonly cost: number;
  readonly tier?: string;
  readonly idempotencyId: string;
}

class ClusterClient implements Client {
  private readonly options: ResolvedOptions;
  private readonly metrics: ClientMetrics;
  private readonly topology: Topology;
  private readonly cache: DenyCache;
  private readonly degrader: Degrader;
  /** address → connection; bounded by the seed list (only seed addresses are ever routed to). */
  private readonly conns = new Map<string, NodeConnection>();
  /** Checks not yet settled; bounded by the connections' queue and in-flight bounds. */
  private readonly open = new Set<Attempt>();
  private readonly clientId: string;
  private seq = 0;
  private seedCursor = 0;
  private closed = false;
  readonly stats: ClientStats = { sent: 0, retries: 0, answered: 0, cacheHits: 0, degraded: 0, topologyRefreshes: 0, reportsSent: 0, reportsDropped: 0 };
  private readonly reports = new ReportAccumulator();
  private reportTimer: TimerHandle | null = null;

  constructor(
    options: ClientOptions,
    readonly deps: ClientDeps,
  ) {
    this.options = resolveOptions(options);
    this.clientId = this.options.clientId ?? randomBytes(6).toString('hex');
    this.metrics = createClientMetrics(this.options.metrics);
    this.cache = new DenyCache(Math.max(1, this.options.denyCacheEntriesMax));
    this.degrader = new Degrader(this.options.policies);
    this.topology = new Topology(
      { seeds: this.options.seeds, token: this.options.token, pollIntervalMs: this.options.pollIntervalMs, fetchTimeoutMs: Math.min(1000, Math.max(200, this.options.timeoutMs)), refreshMsMin: REFRESH_MS_MIN },
      deps,
      { onConfigVersion: () => this.cache.clear() },
    );
    this.topology.start();
  }

  check(key: string, options: CheckOptions = {}): Promise<CheckResult> {
    try {
      return this.checkNow(key, options);
    } catch (err) {
      return Promise.reject(err instanceof ClientError ? err : new ClientError('RL_ERR_BAD_REQUEST', 'invalid', String(err), { cause: err }));
    }
  }

  async checkMany(items: readonly CheckManyItem[]): Promise<CheckManyResult[]> {
    if (!Array.isArray(items)) throw new ClientError('RL_ERR_BAD_REQUEST', 'invalid', `checkMany takes an array (got ${typeof items})`);
    return Promise.all(
      items.map(({ key, ...rest }) =>
        this.check(key, rest).then(
          (result): CheckManyResult => ({ ok: true, result }),
          (err: unknown): CheckManyResult => ({ ok: false, error: err instanceof ClientError ? err : new ClientError('RL_ERR_UNAVAILABLE', 'server', String(err), { cause: err }) }),
        ),
      ),
    );
  }

  async waitFor(key: string, options: WaitForOptions): Promise<CheckResult> {
    const { deadlineMs, ...rest } = options;
    if (typeof deadlineMs !== 'number' || !Number.isFinite(deadlineMs) || deadlineMs < 0) {
      throw new ClientError('RL_ERR_BAD_REQUEST', 'invalid', `waitFor: 'deadlineMs' must be a non-negative number (got ${String(deadlineMs)})`);
    }
    const endMs = this.deps.clock.nowMs() + deadlineMs;
    // Bounded: every pass either returns, throws, or sleeps at least 1 ms toward endMs.
    for (;;) {
      const leftMs = Math.max(1, Math.floor(endMs - this.deps.clock.nowMs()));
      const r = await this.check(key, { ...rest, timeoutMs: Math.min(rest.timeoutMs ?? this.options.timeoutMs, leftMs) });
      if (r.allowed) return r;
      if (r.retryAfterMs < 0) {
        throw new ClientError('RL_ERR_BAD_REQUEST', 'never', `waitFor: no wait can allow key at this cost (rule ${r.rule}, retryAfterMs -1)`, { details: { rule: r.rule } });
      }
      const wakeMs = this.deps.clock.nowMs() + Math.max(1, r.retryAfterMs);
      if (wakeMs > endMs) {
        throw new ClientError('RL_ERR_TIMEOUT', 'waitDeadline', `waitFor: not allowed within ${deadlineMs} ms (next chance in ${r.retryAfterMs} ms, rule ${r.rule})`, {
          details: { retryAfterMs: r.retryAfterMs, rule: r.rule },
        });
      }
      await new Promise<void>((res) => this.deps.timers.setTimeout(res, Math.max(1, r.retryAfterMs)));
    }
  }

  report(resource: string, sample: ReportSampleInput): void {
    if (this.closed) return;
    this.reports.add(resource, sample);
    this.stats.reportsDropped = this.reports.dropped;
    if (this.reportTimer === null) {
      this.reportTimer = this.deps.timers.setTimeout(() => this.flushReports(), this.options.reportIntervalMs);
      // An idle client never holds the process open for its reports.
      (this.reportTimer as { unref?: () => unknown }).unref?.();
    }
  }

  /** Sends the summed reports in one frame to an open node (the key's leader does not matter: any node relays them). */
  private flushReports(): void {
    this.reportTimer = null;
    if (this.closed || !this.reports.pending) return;
    let conn: NodeConnection | undefined;
    for (const c of this.conns.values()) {
      if (c.state === 'open') {
        conn = c;
        break;
      }
    }
    conn ??= this.conn(this.options.seeds.find((s) => !this.conn(s).failing) ?? (this.options.seeds[0] as string));
    // Not open: it starts connecting, and the sums wait for the next flush (they stay bounded).
    if (conn.ensureOpen()) {
      const summaries = this.reports.take();
      if (conn.sendFrame(encodeReportFrame(summaries))) for (const s of summaries) this.stats.reportsSent += s.count;
    }
    this.reportTimer = this.deps.timers.setTimeout(() => this.flushReports(), this.options.reportIntervalMs);
    (this.reportTimer as { unref?: () => unknown }).unref?.();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reportTimer !== null) this.deps.timers.clearTimeout(this.reportTimer);
    this.reportTimer = null;
    // Last reports go out on any open socket (best effort, like every flush).
    const open = [...this.conns.values()].find((c) => c.state === 'open');
    if (open !== undefined && this.reports.pending) {
      const summaries = this.reports.take();
      if (open.sendFrame(encodeReportFrame(summaries))) for (const s of summaries) this.stats.reportsSent += s.count;
    }
    this.topology.close();
    for (const a of [...this.open]) a.fail(new ClientError('RL_ERR_UNAVAILABLE', 'closed', 'client closed'));
    for (const c of this.conns.values()) c.close();
    this.conns.clear();
  }

  private checkNow(key: string, options: CheckOptions): Promise<CheckResult> {
    if (this.closed) return Promise.reject(new ClientError('RL_ERR_UNAVAILABLE', 'closed', 'client closed'));
    if (typeof options !== 'object' || options === null) throw new ClientError('RL_ERR_BAD_REQUEST', 'invalid', 'check options must be an object');
    for (const name of Object.keys(options)) {
      if (!CHECK_OPTION_NAMES.has(name)) throw new ClientError('RL_ERR_BAD_REQUEST', 'invalid', `unknown check option '${name}' (known: ${[...CHECK_OPTION_NAMES].join(', ')})`);
    }
    const { timeoutMs = this.options.timeoutMs, ...fields } = options;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 60_000) throw new ClientError('RL_ERR_BAD_REQUEST', 'invalid', `'timeoutMs' must be an integer from 1 to 60000 (got ${timeoutMs})`);
    const v = validateCheck({ key, ...fields });
    if (!v.ok) throw new ClientError('RL_ERR_BAD_REQUEST', 'invalid', v.message);
    const input = v.value;
    const startMs = this.deps.clock.nowMs();
    const cacheKey = DenyCache.keyOf(input.key, input.resources, input.tier);
    if (this.options.denyCacheEntriesMax > 0) {
      const hit = this.cache.lookup(cacheKey, input.cost, startMs);
      if (hit !== undefined) {
        this.stats.cacheHits++;
        this.metrics.cacheHit();
        return Promise.resolve(this.answered(hit, 'denyCache', startMs));
      }
    }
    const wire: Wire = {
      key: input.key,
      ...(input.resources.length === 1 ? { resource: input.resources[0] as string } : { resources: input.resources }),
      cost: input.cost,
      ...(input.tier === undefined ? {} : { tier: input.tier }),
      idempotencyId: `${this.clientId}:${this.seq++}`,
    };
    return new Promise<CheckResult>((resolve, reject) => {
      const a = new Attempt(this, wire, cacheKey, startMs, startMs + timeoutMs, resolve, reject);
      this.open.add(a);
      a.start();
    });
  }

  // ---- used by Attempt ----

  settled(a: Attempt): void {
    this.open.delete(a);
  }

  answered(output: CheckOutput, source: CheckResult['source'], startMs: number): CheckResult {
    this.stats.answered++;
    this.metrics.answered(output.allowed ? 'allowed' : 'denied', source, Math.max(0, this.deps.clock.nowMs() - startMs) / 1000);
    return { ...output, source };
  }

  fromCluster(a: Attempt, output: CheckOutput): CheckResult {
    if (this.options.denyCacheEntriesMax > 0) this.cache.remember(a.cacheKey, a.wire.cost, output, this.deps.clock.nowMs());
    return this.answered(output, 'cluster', a.startMs);
  }

  degrade(a: Attempt): CheckResult | null {
    const resources = a.wire.resources ?? [a.wire.resource as string];
    const d = this.degrader.answer(resources, a.wire.key, a.wire.cost, a.wire.tier, this.deps.clock.nowMs());
    if (d === null) return null;
    this.stats.degraded++;
    this.metrics.degraded(d.source);
    return this.answered(d.output, d.source, a.startMs);
  }

  retried(code: ErrorCode): void {
    this.stats.retries++;
    this.metrics.retried(code);
  }

  onError(key: string, error: WireError): string | undefined {
    this.topology.refresh().then(
      () => {
        this.stats.topologyRefreshes = this.topology.refreshes;
      },
      () => undefined,
    );
    if (error.code === 'RL_ERR_NOT_LEADER' && typeof error.leaderHint === 'string') {
      this.topology.noteLeader(key, error.leaderHint);
      return this.topology.resolveHint(error.leaderHint);
    }
    return undefined;
  }

  /** Sends on the connection for the key's leader, or any healthy seed when the leader is unknown or failing. -1: queue full. */
  send(a: Attempt, hint: string | undefined, onReply: (r: ConnReply) => void): { conn: NodeConnection; id: number } {
    this.stats.sent++;
    let address = hint ?? this.topology.leaderAddressFor(a.wire.key);
    if (address === undefined || this.conn(address).failing) {
      const seeds = this.options.seeds;
      for (let i = 0; i < seeds.length; i++) {
        const s = seeds[(this.seedCursor + i) % seeds.length] as string;
        if (!this.conn(s).failing) {
          address = s;
          break;
        }
      }
      this.seedCursor = (this.seedCursor + 1) % seeds.length;
      address ??= seeds[this.seedCursor] as string;
    }
    const conn = this.conn(address);
    return { conn, id: conn.send(a.wire, onReply) };
  }

  get topologyKnown(): boolean {
    return this.topology.known;
  }

  refreshTopology(): Promise<void> {
    return this.topology.refresh();
  }

  private conn(address: string): NodeConnection {
    let c = this.conns.get(address);
    if (c === undefined) {
      c = new NodeConnection(
        {
          address,
          token: this.options.token,
          inflightMax: this.options.inflightMax,
          queueMax: this.options.queueMax,
          backoffMsMin: CONNECT_BACKOFF_MS_MIN,
          backoffMsMax: CONNECT_BACKOFF_MS_MAX,
          connectTimeoutMs: Math.min(2000, Math.max(100, this.options.timeoutMs)),
        },
        this.deps,
      );
      this.conns.set(address, c);
    }
    return c;
  }
}

/** One check from call to answer: sends, retries inside the deadline, then degrades or fails. */
class Attempt {
  private done = false;
  private tries = 0;
  private deadlineTimer: TimerHandle | null = null;
  private retryTimer: TimerHandle | null = null;
  private inFlight: { conn: NodeConnection; id: number } | null = null;
  private lastError: WireError | null = null;

  constructor(
    private readonly client: ClusterClient,
    readonly wire: Wire,
    readonly cacheKey: string,
    readonly startMs: number,
    private readonly deadlineMs: number,
    private readonly resolve: (r: CheckResult) => void,
    private readonly reject: (e: ClientError) => void,
  ) {}

  start(): void {
    const { timers, clock } = this.client.deps;
    this.deadlineTimer = timers.setTimeout(() => this.onDeadline(), Math.max(0, this.deadlineMs - clock.nowMs()));
    if (!this.client.topologyKnown) {
      // First checks wait for the first map (bounded by the deadline) rather than take an extra hop.
      this.client.refreshTopology().then(
        () => this.sendNow(undefined),
        () => this.sendNow(undefined),
      );
    } else this.sendNow(undefined);
  }

  fail(err: ClientError): void {
    if (this.finish()) this.reject(err);
  }

  private sendNow(hint: string | undefined): void {
    if (this.done) return;
    this.tries++;
    const sent = this.client.send(this, hint, (r) => this.onReply(r));
    if (sent.id < 0) {
      // Backpressure: fail fast (or degrade) rather than queue without bound.
      const d = this.client.degrade(this);
      if (!this.finish()) return;
      if (d !== null) this.resolve(d);
      else this.reject(new ClientError('RL_ERR_UNAVAILABLE', 'queueFull', `send queue to ${sent.conn.options.address} is full (${sent.conn.options.queueMax} checks)`));
      return;
    }
    this.inFlight = sent;
  }

  private onReply(r: ConnReply): void {
    this.inFlight = null;
    if (this.done) return;
    if (r.ok) {
      // Invariant: an answered check is settled here and never sent again.
      const result = this.client.fromCluster(this, r.output);
      if (this.finish()) this.resolve(result);
      return;
    }
    this.lastError = r.error;
    const hint = this.client.onError(this.wire.key, r.error);
    if (!isRetryableCode(r.error.code)) {
      if (this.finish()) this.reject(new ClientError(r.error.code, 'server', r.error.message, { details: { error: r.error } }));
      return;
    }
    this.client.retried(r.error.code);
    const { timers, random, clock } = this.client.deps;
    const ceilingMs = Math.min(RETRY_BACKOFF_MS_MAX, RETRY_BACKOFF_MS_MIN * 2 ** Math.min(this.tries - 1, 10));
    const delayMs = hint !== undefined && this.tries === 1 ? 0 : Math.floor(random() * ceilingMs) + 1;
    if (clock.nowMs() + delayMs >= this.deadlineMs) return; // no time left: the deadline timer settles it
    this.retryTimer = timers.setTimeout(() => {
      this.retryTimer = null;
      this.sendNow(hint);
    }, delayMs);
  }

  private onDeadline(): void {
    this.deadlineTimer = null;
    if (this.done) return;
    const d = this.client.degrade(this);
    const last = this.lastError;
    if (!this.finish()) return;
    if (d !== null) this.resolve(d);
    else {
      this.reject(
        new ClientError('RL_ERR_TIMEOUT', 'deadline', `no answer for the check within its deadline of ${Math.round(this.deadlineMs - this.startMs)} ms (${this.tries} tries${last === null ? '' : `, last error ${last.code}`})`, {
          details: { tries: this.tries, lastError: last },
        }),
      );
    }
  }

  /** Marks the attempt settled and releases its timers and queue slot; false if it already was. */
  private finish(): boolean {
    if (this.done) return false;
    this.done = true;
    const { timers } = this.client.deps;
    if (this.deadlineTimer !== null) timers.clearTimeout(this.deadlineTimer);
    if (this.retryTimer !== null) timers.clearTimeout(this.retryTimer);
    if (this.inFlight !== null) this.inFlight.conn.cancel(this.inFlight.id);
    this.inFlight = null;
    this.client.settled(this);
    return true;
  }
}

/**
 * Creates an SDK client. Checks go straight to the leader of the key's group.
 *
 * @example
 * ```ts
 * const client = createClient({ seeds: ['127.0.0.1:7001', '127.0.0.1:7002'], timeoutMs: 250, onUnavailable: 'failClosed' });
 * const r = await client.check('user:42', { resource: 'search' });
 * if (!r.allowed) console.log(`retry in ${r.retryAfterMs} ms (${r.source})`);
 * await client.close();
 * ```
 */
export function createClient(options: ClientOptions, deps: Partial<ClientDeps> = {}): Client {
  return new ClusterClient(options, { ...realDeps(), ...deps });
}
