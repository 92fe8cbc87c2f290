/**
 * Adaptive limits on a node (docs/adaptive.md). On every node: caller reports (SDK frames,
 * `POST /v1/report`) are summed per adaptive resource, and every push interval the node
 * sends the meta leader one message with those sums, its checks' admitted and denied counts
 * since the last push, and its own event-loop lag and CPU — over the peer transport on its
 * own channel, one way (a lost push is a lost sample, nothing more). On the meta leader: the
 * pushes of all nodes gather in one SignalWindow per resource, and once per resource
 * interval the pure controller (src/adaptive) decides the next factor from them and the
 * factor the meta group holds; changes are written to group 0 in one `factors` entry, which
 * every node applies (MetaService) at the same index. Nothing here changes a limit directly.
 */
import type { FactorUpdate, MetaCommand, MetaOutcome, ResourceFactor } from '../../../cluster/meta/index.js';
import { SignalWindow, signalsRecord, stepFactor, type ControllerDecision, type LimiterLoad, type ResourcePush } from '../../adaptive/index.js';
import type { AdaptiveSpec, CompiledConfig } from '../../config/index.js';
import { readReportSummaries, type ReportSummary } from '../../protocol/report.js';
import type { AppliedFactor } from './applied-factors.js';
import { ReportAggregator } from './report-aggregator.js';

/**
 * The transport channel of signal pushes: above every group id, below the split-load
 * (0xffff_fffc), admin (…fffd), clock (…fffe) and forward (…ffff) channels.
 */
export const ADAPTIVE_CHANNEL = 0xffff_fffb;

/** Push period bounds: a quarter of the shortest adaptive interval, so each interval sees about four pushes per node, but never faster than 50 ms nor slower than 250 ms. */
const PUSH_INTERVAL_MS_MIN = 50;
const PUSH_INTERVAL_MS_MAX = 250;
/** The service's timer: fine enough for the 50 ms push period and interval boundaries. */
const TICK_MS = 25;
/** Largest lag (ms) and CPU share a push may claim: beyond these a number is nonsense, not load. */
const LOAD_LAG_MS_MAX = 3_600_000;
const LOAD_CPU_MAX = 1024;

export interface AdaptiveLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface AdaptiveServiceDeps {
  readonly nodeId: string;
  /** Sends one message to a peer on a channel (best effort). */
  readonly send: (to: string, channel: number, message: object) => void;
  /** Whether this node leads group 0 and may propose, and who leads it as far as this node knows. */
  readonly metaLeaderReady: () => boolean;
  readonly metaLeader: () => string | null;
  /** The configuration checks use (with factors applied) and its replicated version (0: none yet). */
  readonly served: () => { readonly version: number; readonly config: CompiledConfig };
  /** The meta group's factor records. */
  readonly records: () => ReadonlyMap<string, ResourceFactor>;
  /** The factor changes this node applied, with their meta index (MetaService.factorHistory). */
  readonly history: () => readonly AppliedFactor[];
  /** Writes one command through group 0 (MetaService.submit). */
  readonly submit: (make: (requestId: string) => MetaCommand) => Promise<MetaOutcome>;
  /** Checks of `resource` this node admitted and denied since it started (cumulative), or null when it does not count them by name. */
  readonly decisions: (resource: string) => { readonly admitted: number; readonly denied: number } | null;
  readonly load: { sample(): LimiterLoad; stop?(): void };
  readonly clock: { monoNowMs(): number; wallNowMs(): number };
  readonly logger: AdaptiveLogger;
}

/** One node's push, as it travels. */
interface PushMessage {
  readonly v: 1;
  readonly load: LimiterLoad;
  readonly resources: readonly ResourcePush[];
}

/** The controller's per-resource state on the meta leader (leader-local: a new leader starts afresh). */
interface ResourceState {
  readonly window: SignalWindow;
  lastCloseMs: number;
  staleIntervals: number;
  heldIntervals: number;
  last: ControllerDecision | null;
}

export interface AdaptiveCounters {
  pushesSent: number;
  pushesReceived: number;
  pushesRefused: number;
  proposals: number;
}

function finite(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= max;
}

/** Reads a push from a peer; null when malformed (peers are authenticated, so this is a bug or another version). */
export function readPush(raw: unknown): PushMessage | null {
  const m = raw as { v?: unknown; load?: { lagP99Ms?: unknown; cpu?: unknown }; resources?: unknown } | null;
  if (typeof m !== 'object' || m === null || m.v !== 1 || typeof m.load !== 'object' || m.load === null) return null;
  if (!finite(m.load.lagP99Ms, LOAD_LAG_MS_MAX) || !finite(m.load.cpu, LOAD_CPU_MAX)) return null;
  const summaries = readReportSummaries(m.resources);
  if (!summaries.ok) return null;
  const raws = m.resources as { admitted?: unknown; denied?: unknown }[];
  const resources: ResourcePush[] = [];
  for (let i = 0; i < summaries.value.length; i++) {
    const { admitted, denied } = raws[i] ?? {};
    if (!finite(admitted, Number.MAX_SAFE_INTEGER) || !finite(denied, Number.MAX_SAFE_INTEGER)) return null;
    resources.push({ ...(summaries.value[i] as ReportSummary), admitted, denied });
  }
  return { v: 1, load: { lagP99Ms: m.load.lagP99Ms, cpu: m.load.cpu }, resources };
}

/**
 * @example
 * ```ts
 * const adaptive = new AdaptiveService({ nodeId: 'n1', send, metaLeaderReady, metaLeader, served, records, submit, decisions, load, clock, logger });
 * adaptive.start();
 * adaptive.report(summaries);              // from a client frame
 * adaptive.receive('n2', message);         // a push from a peer (ADAPTIVE_CHANNEL)
 * ```
 */
export class AdaptiveService {
  readonly reports = new ReportAggregator();
  readonly counters: AdaptiveCounters = { pushesSent: 0, pushesReceived: 0, pushesRefused: 0, proposals: 0 };
  private timer: NodeJS.Timeout | null = null;
  private lastPushMs: number;
  private readonly lastDecisions = new Map<string, { admitted: number; denied: number }>();
  private readonly states = new Map<string, ResourceState>();
  private leading = false;
  private proposing = false;
  private tracked: readonly AdaptiveSpec[] = [];

  constructor(private readonly deps: AdaptiveServiceDeps) {
    this.lastPushMs = deps.clock.monoNowMs();
    this.configChanged();
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.deps.load.stop?.();
  }

  /** A new configuration (or new factors) is served: track its adaptive resources. */
  configChanged(): void {
    const specs = [...this.deps.served().config.adaptive.values()];
    this.tracked = specs;
    this.reports.track(specs.map((s) => s.resource));
    for (const r of this.lastDecisions.keys()) if (!specs.some((s) => s.resource === r)) this.lastDecisions.delete(r);
  }

  /** Caller reports from a client (validated by the protocol readers). */
  report(summaries: readonly ReportSummary[]): void {
    if (summaries.length > 0) this.reports.add(summaries);
  }

  /** A push from peer `from` (or from this node, when it leads group 0). */
  receive(from: string, raw: unknown): void {
    const push = readPush(raw);
    if (push === null || !this.leading) {
      this.counters.pushesRefused++;
      return;
    }
    this.counters.pushesReceived++;
    const seen = new Set<string>();
    for (const r of push.resources) {
      const st = this.states.get(r.resource);
      if (st === undefined) continue;
      st.window.add(from, r, push.load);
      seen.add(r.resource);
    }
    for (const [resource, st] of this.states) if (!seen.has(resource)) st.window.addLoad(push.load);
  }

  /**
   * `GET /v1/adaptive`: every adaptive resource with its settings, the factor applied here,
   * the replicated record behind it (frozen, reason, signals, meta index), the controller's
   * last decision when this node leads group 0, and the changes this node applied.
   */
  view(): Record<string, unknown> {
    const { version, config } = this.deps.served();
    const records = this.deps.records();
    return {
      node: this.deps.nodeId,
      configVersion: version,
      metaLeader: this.deps.metaLeader(),
      controllerHere: this.leading,
      resources: [...config.adaptive.values()].map((spec) => {
        const r = records.get(spec.resource);
        const st = this.leading ? this.states.get(spec.resource) : undefined;
        return {
          resource: spec.resource,
          minFactor: spec.minFactor,
          maxFactor: spec.maxFactor,
          target: { [spec.target.kind]: spec.target.value },
          intervalMs: spec.intervalMs,
          factor: config.factors.get(spec.resource) ?? 1,
          frozen: r?.frozen ?? false,
          reason: r?.reason ?? null,
          signals: r?.signals ?? null,
          index: r?.index ?? 0,
          atMs: r?.atMs ?? null,
          controller: st === undefined ? null : { action: st.last?.action ?? null, reason: st.last?.reason ?? null, staleIntervals: st.staleIntervals, heldIntervals: st.heldIntervals },
        };
      }),
      reports: { received: this.reports.received, dropped: this.reports.dropped },
      pushes: { ...this.counters },
      history: this.deps.history(),
    };
  }

  private tick(): void {
    const now = this.deps.clock.monoNowMs();
    if (this.tracked.length > 0) {
      const shortest = Math.min(...this.tracked.map((s) => s.intervalMs));
      const pushEveryMs = Math.min(PUSH_INTERVAL_MS_MAX, Math.max(PUSH_INTERVAL_MS_MIN, Math.floor(shortest / 4)));
      if (now - this.lastPushMs >= pushEveryMs) {
        this.lastPushMs = now;
        this.push();
      }
    }
    this.control(now);
  }

  /** Sends this node's sums since the last push to the meta leader (itself included). */
  private push(): void {
    const taken = this.reports.take();
    const resources: ResourcePush[] = [];
    for (const spec of this.tracked) {
      const r = spec.resource;
      const counts = this.deps.decisions(r);
      const before = this.lastDecisions.get(r);
      let admitted = 0;
      let denied = 0;
      if (counts !== null) {
        // Counters only grow; a first sight (or a restart of counting) contributes nothing rather than everything.
        if (before !== undefined) {
          admitted = Math.max(0, counts.admitted - before.admitted);
          denied = Math.max(0, counts.denied - before.denied);
        }
        this.lastDecisions.set(r, { admitted: counts.admitted, denied: counts.denied });
      }
      const rep = taken.get(r) ?? { resource: r, count: 0, errors: 0, buckets: [], admitted: 0, denied: 0 };
      resources.push({ ...rep, admitted, denied });
    }
    const message: PushMessage = { v: 1, load: this.deps.load.sample(), resources };
    if (this.deps.metaLeaderReady()) {
      this.receive(this.deps.nodeId, message);
      return;
    }
    const leader = this.deps.metaLeader();
    if (leader === null || leader === this.deps.nodeId) return;
    this.deps.send(leader, ADAPTIVE_CHANNEL, message);
    this.counters.pushesSent++;
  }

  /** On the meta leader: closes the intervals that are due and proposes the factors that change. */
  private control(now: number): void {
    if (!this.deps.metaLeaderReady()) {
      if (this.leading) {
        this.leading = false;
        this.states.clear();
      }
      return;
    }
    const { version, config } = this.deps.served();
    if (!this.leading) {
      this.leading = true;
      this.deps.logger.info({ resources: this.tracked.map((s) => s.resource) }, 'adaptive controller running on this meta leader');
    }
    for (const spec of this.tracked) {
      if (!this.states.has(spec.resource)) this.states.set(spec.resource, { window: new SignalWindow(), lastCloseMs: now, staleIntervals: 0, heldIntervals: 0, last: null });
    }
    for (const resource of this.states.keys()) if (!config.adaptive.has(resource)) this.states.delete(resource);
    // One write in flight at most: a decision made before it applies would start from a stale factor.
    if (version === 0 || this.proposing) return;
    const records = this.deps.records();
    const updates: FactorUpdate[] = [];
    for (const spec of this.tracked) {
      const st = this.states.get(spec.resource) as ResourceState;
      if (now - st.lastCloseMs < spec.intervalMs) continue;
      st.window.close(now - st.lastCloseMs);
      st.lastCloseMs = now;
      st.heldIntervals++;
      const record = records.get(spec.resource);
      const factor = config.factors.get(spec.resource) ?? 1;
      const d = stepFactor(spec, { factor, frozen: record?.frozen ?? false, staleIntervals: st.staleIntervals, heldIntervals: st.heldIntervals }, st.window);
      st.staleIntervals = d.staleIntervals;
      st.last = d;
      if (d.action === 'frozen' || d.factor === factor) continue;
      st.heldIntervals = 0;
      updates.push({ resource: spec.resource, factor: d.factor, reason: d.reason, signals: signalsRecord(d.signals), ifIndex: record?.index ?? 0 });
    }
    if (updates.length === 0) return;
    this.proposing = true;
    this.counters.proposals++;
    const atMs = Math.floor(this.deps.clock.wallNowMs());
    this.deps
      .submit((requestId) => ({ t: 'factors', requestId, configVersion: version, atMs, updates }))
      .then(
        (o) => {
          if (o.status !== 'applied') this.deps.logger.warn({ status: o.status, why: o.status === 'ignored' ? o.why : null, resources: updates.map((u) => u.resource) }, 'adaptive factors not applied; deciding again next interval');
        },
        (err: unknown) => this.deps.logger.warn({ err, resources: updates.map((u) => u.resource) }, 'adaptive factors not written; the factors in force stay'),
      )
      .finally(() => {
        this.proposing = false;
      });
  }
}

