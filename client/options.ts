/**
 * `createClient` options: validated once (unknown names rejected with the name), defaults
 * filled, then frozen. Every bound's number has its reason next to it.
 */
import type { Registry } from 'prom-client';
import { validatePolicy, type DegradePolicy } from './degrade.js';

/** Degradation policy for every resource, or a default plus per-resource overrides. */
export type OnUnavailable = DegradePolicy | { readonly default?: DegradePolicy; readonly resources?: Readonly<Record<string, DegradePolicy>> };

export interface ClientOptions {
  /** `host:port` of one or more nodes; any one reachable is enough to learn the cluster. */
  readonly seeds: readonly string[];
  /** Per-check deadline: retries happen inside it; past it the degradation policy answers. */
  readonly timeoutMs: number;
  /** Sent as `Authorization: Bearer <token>` on HTTP and WebSocket requests. */
  readonly token?: string;
  /** What a check answers when its group cannot answer within the deadline. ['error': reject with RL_ERR_TIMEOUT] */
  readonly onUnavailable?: OnUnavailable;
  /** A prom-client Registry to register the SDK's metrics in; none are created without one. */
  readonly metrics?: Registry | null;
  /** Prefix of idempotency ids (`<clientId>:<seq>`); unique per client instance. [random] */
  readonly clientId?: string;
  /** How often /v1/cluster is polled for leaders and versions. [2000] */
  readonly pollIntervalMs?: number;
  /** Checks sent and unanswered per connection. [1000: one full frame per round trip] */
  readonly inflightMax?: number;
  /** Checks waiting to be sent per connection; beyond it checks fail fast or degrade. [10000: ~10 frames, a few MiB at most] */
  readonly queueMax?: number;
  /** Entries of the deny cache; 0 turns it off. [100000: ~20 MiB at worst, more abusive keys than one process sees at once] */
  readonly denyCacheEntriesMax?: number;
  /**
   * How often `report` sums are sent (one frame per flush, every resource in it). [500: half
   * the default adaptive interval, so each controller interval sees about two flushes per client]
   */
  readonly reportIntervalMs?: number;
}

export interface ResolvedOptions {
  readonly seeds: readonly string[];
  readonly timeoutMs: number;
  readonly token: string | undefined;
  readonly policies: { readonly default: DegradePolicy; readonly resources: Readonly<Record<string, DegradePolicy>> };
  readonly metrics: Registry | null;
  readonly clientId: string | undefined;
  readonly pollIntervalMs: number;
  readonly inflightMax: number;
  readonly queueMax: number;
  readonly denyCacheEntriesMax: number;
  readonly reportIntervalMs: number;
}

const NAMES: ReadonlySet<string> = new Set([
  'seeds',
  'timeoutMs',
  'token',
  'onUnavailable',
  'metrics',
  'clientId',
  'pollIntervalMs',
  'inflightMax',
  'queueMax',
  'denyCacheEntriesMax',
  'reportIntervalMs',
]);

/** Seeds a client may list: more is a misconfiguration (each is polled every interval). */
const SEEDS_MAX = 64;

function int(v: unknown, name: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`Cannot create client: '${name}' must be an integer from ${min} to ${max} (got ${JSON.stringify(v)})`);
  }
  return v;
}

function policies(v: unknown): ResolvedOptions['policies'] {
  if (v === undefined) return { default: 'error', resources: {} };
  if (typeof v === 'object' && v !== null && !('local' in v)) {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) if (k !== 'default' && k !== 'resources') throw new TypeError(`Cannot create client: unknown option 'onUnavailable.${k}' (known: default, resources)`);
    const resources: Record<string, DegradePolicy> = {};
    const rs = o['resources'];
    if (rs !== undefined) {
      if (typeof rs !== 'object' || rs === null) throw new TypeError(`Cannot create client: 'onUnavailable.resources' must be an object (got ${JSON.stringify(rs)})`);
      for (const [name, p] of Object.entries(rs)) resources[name] = validatePolicy(p, `onUnavailable.resources.${name}`);
    }
    return { default: o['default'] === undefined ? 'error' : validatePolicy(o['default'], 'onUnavailable.default'), resources };
  }
  return { default: validatePolicy(v, 'onUnavailable'), resources: {} };
}

/**
 * Validates, fills defaults and freezes; throws TypeError/RangeError naming the option.
 *
 * @example
 * ```ts
 * resolveOptions({ seeds: ['127.0.0.1:7001'], timeoutMs: 250 }).queueMax; // 10000
 * resolveOptions({ seeds: ['127.0.0.1:7001'], timeoutMs: 250, retry: 3 } as never); // TypeError: unknown option 'retry'
 * ```
 */
export function resolveOptions(options: ClientOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('Cannot create client: options must be an object');
  for (const name of Object.keys(options)) {
    if (!NAMES.has(name)) throw new TypeError(`Cannot create client: unknown option '${name}' (known: ${[...NAMES].join(', ')})`);
  }
  const seeds = options.seeds;
  if (!Array.isArray(seeds) || seeds.length === 0 || seeds.length > SEEDS_MAX) {
    throw new TypeError(`Cannot create client: 'seeds' must be an array of 1 to ${SEEDS_MAX} "host:port" strings (got ${JSON.stringify(seeds)})`);
  }
  for (const s of seeds) {
    if (typeof s !== 'string' || !/^[^\s/:]+:\d{1,5}$/.test(s)) throw new TypeError(`Cannot create client: seed ${JSON.stringify(s)} is not "host:port"`);
  }
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length === 0)) throw new TypeError(`Cannot create client: 'token' must be a non-empty string`);
  if (options.clientId !== undefined && (typeof options.clientId !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(options.clientId))) {
    throw new TypeError(`Cannot create client: 'clientId' must match [A-Za-z0-9_.-]{1,64} (got ${JSON.stringify(options.clientId)})`);
  }
  const metrics = options.metrics ?? null;
  if (metrics !== null && (typeof metrics !== 'object' || typeof (metrics as { registerMetric?: unknown }).registerMetric !== 'function')) {
    throw new TypeError(`Cannot create client: 'metrics' must be a prom-client Registry`);
  }
  if (options.timeoutMs === undefined) throw new TypeError(`Cannot create client: 'timeoutMs' is required (the per-check deadline in ms)`);
  return Object.freeze({
    seeds: Object.freeze([...new Set(seeds)]),
    // 1 ms to 1 min: a deadline longer than a minute is a hang by another name.
    timeoutMs: int(options.timeoutMs, 'timeoutMs', 1, 60_000, 0),
    token: options.token,
    policies: policies(options.onUnavailable),
    metrics,
    clientId: options.clientId,
    pollIntervalMs: int(options.pollIntervalMs, 'pollIntervalMs', 100, 600_000, 2000),
    inflightMax: int(options.inflightMax, 'inflightMax', 1, 100_000, 1000),
    queueMax: int(options.queueMax, 'queueMax', 1, 1_000_000, 10_000),
    denyCacheEntriesMax: int(options.denyCacheEntriesMax, 'denyCacheEntriesMax', 0, 10_000_000, 100_000),
    // 50 ms to 1 min: faster floods the nodes with frames, slower starves a 1 s controller interval.
    reportIntervalMs: int(options.reportIntervalMs, 'reportIntervalMs', 50, 60_000, 500),
  });
}
