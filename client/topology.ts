/**
 * What the SDK knows of the cluster: which node id each seed address is, slot → group
 * (`(slot % groups) + 1` while the slot map is at version 1, as src/node/placement.ts
 * deals it; after a group split, the table of `GET /v1/cluster/slots`, fetched once per
 * new `slotMapVersion`), each group's leader (the highest term seen across seeds wins),
 * and the slot-map and config versions. Refreshed by polling every `pollIntervalMs` and
 * on demand after errors; one refresh runs at a time. A stale table costs a hop, never a
 * wrong answer: the node that receives a check routes it by its own map.
 */
import { SLOT_COUNT, slotOf } from '../src/protocol/slot.js';
import type { ClientDeps, TimerHandle } from './deps.js';

interface GroupView {
  readonly id: number;
  readonly leader: string | null;
  readonly term: number | null;
}

interface ClusterView {
  readonly node: string;
  readonly slotMapVersion: number;
  readonly configVersion: number;
  readonly groups: readonly GroupView[];
}

export interface TopologyOptions {
  readonly seeds: readonly string[];
  readonly token: string | undefined;
  readonly pollIntervalMs: number;
  /** Per seed request of /v1/cluster. */
  readonly fetchTimeoutMs: number;
  /** Error-triggered refreshes closer together than this are folded into one. */
  readonly refreshMsMin: number;
}

export interface TopologyEvents {
  onConfigVersion(version: number): void;
}

function parseView(v: unknown): ClusterView | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o['node'] !== 'string' || !Array.isArray(o['groups']) || o['groups'].length === 0) return null;
  const groups: GroupView[] = [];
  for (const g of o['groups'] as unknown[]) {
    const r = g as Record<string, unknown>;
    if (typeof r['id'] !== 'number') return null;
    groups.push({ id: r['id'], leader: typeof r['leader'] === 'string' ? r['leader'] : null, term: typeof r['term'] === 'number' ? r['term'] : null });
  }
  return { node: o['node'], slotMapVersion: Number(o['slotMapVersion'] ?? 0), configVersion: Number(o['configVersion'] ?? 0), groups };
}

/**
 * @example
 * ```ts
 * const topo = new Topology({ seeds: ['127.0.0.1:7001'], token: undefined, pollIntervalMs: 2000, fetchTimeoutMs: 1000, refreshMsMin: 50 }, realDeps(), { onConfigVersion: () => cache.clear() });
 * topo.start();
 * await topo.refresh();
 * topo.leaderAddressFor('user:42'); // '127.0.0.1:7001' when n1 leads the key's group
 * ```
 */
export class Topology {
  /** node id → address; bounded by the seed list (only seeds' own ids are learned). */
  private readonly addressOf = new Map<string, string>();
  /** group id → leader node id and the term it was seen at; bounded by the cluster's group count. */
  private readonly leaders = new Map<number, { node: string | null; term: number }>();
  private groupCount = 0;
  /** Slot → group after a split (null: the version-1 layout, computed). */
  private slotTable: Uint16Array | null = null;
  private slotMapVersion = -1;
  private configVersion = -1;
  private inFlight: Promise<void> | null = null;
  private lastRefreshMs = Number.NEGATIVE_INFINITY;
  private poller: TimerHandle | null = null;
  private closed = false;
  /** Refreshes that reached at least one seed (tests and metrics). */
  refreshes = 0;

  constructor(
    private readonly options: TopologyOptions,
    private readonly deps: ClientDeps,
    private readonly events: TopologyEvents,
  ) {}

  start(): void {
    const tick = (): void => {
      if (this.closed) return;
      this.refresh(true);
      this.poller = this.deps.timers.setTimeout(tick, this.options.pollIntervalMs);
      // The poll alone must not keep a process alive.
      const h = this.poller as { unref?: () => unknown };
      if (typeof h.unref === 'function') h.unref();
    };
    tick();
  }

  close(): void {
    this.closed = true;
    if (this.poller !== null) this.deps.timers.clearTimeout(this.poller);
  }

  get known(): boolean {
    return this.groupCount > 0;
  }

  get versions(): { slotMapVersion: number; configVersion: number } {
    return { slotMapVersion: this.slotMapVersion, configVersion: this.configVersion };
  }

  /** The group of `slot` as this client knows it. */
  private groupOf(slot: number): number {
    const t = this.slotTable;
    return t !== null ? (t[slot] as number) : (slot % this.groupCount) + 1;
  }

  /** The group `key` lives in, as this client knows it (undefined before the first refresh). */
  groupFor(key: string): number | undefined {
    return this.groupCount === 0 ? undefined : this.groupOf(slotOf(key));
  }

  /** The address to send `key` to: its group leader's, or undefined when not known. */
  leaderAddressFor(key: string): string | undefined {
    if (this.groupCount === 0) return undefined;
    const group = this.groupOf(slotOf(key));
    const leader = this.leaders.get(group)?.node;
    return leader === null || leader === undefined ? undefined : this.addressOf.get(leader);
  }

  /** A node id or address from a NOT_LEADER hint, as an address (undefined if unknown). */
  resolveHint(hint: string): string | undefined {
    if (this.addressOf.has(hint)) return this.addressOf.get(hint);
    return this.options.seeds.includes(hint) ? hint : undefined;
  }

  /** Records a leader learned from a hint for `key`'s group (until the next refresh says otherwise). */
  noteLeader(key: string, node: string): void {
    if (this.groupCount === 0 || !this.addressOf.has(node)) return;
    const group = this.groupOf(slotOf(key));
    const cur = this.leaders.get(group);
    this.leaders.set(group, { node, term: cur?.term ?? 0 });
  }

  /** Starts a refresh unless one runs or one ran less than refreshMsMin ago (`force`: poll). Never rejects. */
  refresh(force = false): Promise<void> {
    if (this.inFlight !== null) return this.inFlight;
    const now = this.deps.clock.nowMs();
    if (!force && now - this.lastRefreshMs < this.options.refreshMsMin) return Promise.resolve();
    this.lastRefreshMs = now;
    this.inFlight = this.fetchAll()
      .catch(() => undefined)
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }

  private async fetchAll(): Promise<void> {
    const views = await Promise.all(this.options.seeds.map((seed) => this.fetchOne(seed)));
    let any = false;
    const best = new Map<number, { node: string | null; term: number }>();
    for (const [i, view] of views.entries()) {
      if (view === null) continue;
      any = true;
      this.addressOf.set(view.node, this.options.seeds[i] as string);
      // Only forward: seeds that have not applied a split yet report the older version.
      if (view.slotMapVersion > this.slotMapVersion) {
        const table = view.slotMapVersion > 1 ? await this.fetchSlots(this.options.seeds[i] as string, view.slotMapVersion) : null;
        if (view.slotMapVersion <= 1 || table !== null) {
          this.slotMapVersion = view.slotMapVersion;
          this.slotTable = table;
          this.groupCount = view.groups.length;
          this.leaders.clear();
        }
      }
      if (view.configVersion !== this.configVersion) {
        const first = this.configVersion === -1;
        this.configVersion = view.configVersion;
        if (!first) this.events.onConfigVersion(view.configVersion);
      }
      for (const g of view.groups) {
        if (g.leader === null) continue;
        const term = g.term ?? 0;
        const cur = best.get(g.id);
        if (cur === undefined || term > cur.term) best.set(g.id, { node: g.leader, term });
      }
    }
    if (!any || this.closed) return;
    this.refreshes++;
    for (const [id, l] of best) this.leaders.set(id, l);
  }

  /** The slot table at `version` from `seed`, or null (an older node without the route, a failure, another version). */
  private async fetchSlots(seed: string, version: number): Promise<Uint16Array | null> {
    try {
      const headers: Record<string, string> = {};
      if (this.options.token !== undefined) headers['authorization'] = `Bearer ${this.options.token}`;
      const r = await this.deps.fetch(`http://${seed}/v1/cluster/slots`, { headers, signal: AbortSignal.timeout(this.options.fetchTimeoutMs) });
      if (r.status !== 200) return null;
      const body = (await r.json()) as { version?: unknown; groups?: unknown };
      if (body.version !== version || !Array.isArray(body.groups) || body.groups.length !== SLOT_COUNT) return null;
      if (!body.groups.every((g) => Number.isInteger(g) && (g as number) >= 1 && (g as number) <= 0xffff)) return null;
      return Uint16Array.from(body.groups as number[]);
    } catch {
      return null;
    }
  }

  private async fetchOne(seed: string): Promise<ClusterView | null> {
    try {
      const headers: Record<string, string> = {};
      if (this.options.token !== undefined) headers['authorization'] = `Bearer ${this.options.token}`;
      const r = await this.deps.fetch(`http://${seed}/v1/cluster`, { headers, signal: AbortSignal.timeout(this.options.fetchTimeoutMs) });
      if (r.status !== 200) return null;
      return parseView(await r.json());
    } catch {
      return null;
    }
  }
}
