/**
 * Group splits on one node (docs/scale.md, "Group split"): every step is taken by the
 * node that leads the group concerned, from the split's phase in the cluster map, and
 * each is idempotent, so a crash or a change of leader anywhere just repeats a step.
 *
 * - Source leader: `seeding` → fence the slots (through the source's log); `switched` →
 *   release them, then end the split; `aborting` → unfence them, then end the split.
 *   Fences left by a split that ended (an abort racing a fence) are lifted.
 * - Target leader (`seeding`): once its node's source replica applied the fence, seed the
 *   new group through its own log (seedBegin, chunks of the fenced slots' states, seedEnd),
 *   then switch the map (group 0).
 * - Meta leader: aborts a split still seeding after `stallMsMax`; proposes a split of the
 *   busiest group above `splitChecksPerSecondMin` (planSplit), and serves
 *   `rlctl group split`.
 * - Every node: reports the checks per second of the groups it leads to the meta leader
 *   every `loadReportIntervalMs` (a message on its own channel: nothing in any log), and,
 *   for groups with a learner, a progress figure (learners' match indexes plus snapshot
 *   chunks acknowledged), so a move that streams a big snapshot is not taken for a stalled
 *   one, while a target that answers nothing is.
 *
 * Safety (strict): the fence precedes every later mutation of the slots in the source's
 * log, so the state read at the fence is final; the new group admits for the slots only
 * after its seed, and nodes route there only after the switch, which the meta log orders
 * against the abort; the source unfences only after an abort, releases only after a switch.
 */
import type { MultiRaftHost } from '../../../cluster/host/multi-raft-host.js';
import { META_GROUP_ID, slotsOf, splitRefusal, type ClusterMap, type MetaCommand, type MetaOutcome, type SplitPlan } from '../../../cluster/meta/index.js';
import { RateLimiterError } from '../../protocol/errors.js';
import { SLOT_COUNT } from '../../protocol/slot.js';
import { encodeControl, type ControlEntry } from '../../shard/control.js';
import type { ShardReplica } from '../../shard/replica.js';
import { planSplit } from './planner.js';

/** The transport channel of load reports: above every group id, next to the forward, clock and admin channels. */
export const LOAD_CHANNEL = 0xffff_fffc;

export interface SplitLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface SplitDriverOptions {
  readonly nodeId: string;
  /** Groups the cluster may grow to. */
  readonly groupsMax: number;
  /** Split a group whose leader reports more checks per second than this (0: never). */
  readonly splitChecksPerSecondMin: number;
  /** A split still seeding after this long is aborted by the meta leader. */
  readonly stallMsMax: number;
  /** How often each node reports its groups' load. [2000] */
  readonly loadReportIntervalMs?: number;
  /** States per seed entry: 2,000 of ~60 bytes is ~120 KB, one Raft entry far under the frame limit. [2000] */
  readonly seedStatesPerEntry?: number;
}

export interface SplitDriverDeps {
  readonly host: MultiRaftHost;
  readonly submit: (make: (requestId: string) => MetaCommand) => Promise<MetaOutcome>;
  readonly map: () => ClusterMap | null;
  /** Index of the last entry group 0 applied on this node. */
  readonly metaAppliedIndex: () => number;
  /** This node's replica of shard group `groupId`, or null when it hosts none. */
  readonly replica: (groupId: number) => ShardReplica | null;
  /** Proposes a control entry (NodeCheckService.proposeControl). */
  readonly proposeControl: (groupId: number, data: Uint8Array, fence?: { readonly splitId: number; readonly slots: readonly number[] }) => ReturnType<MultiRaftHost['propose']>;
  /** Checks decided here per led group since it was hosted (NodeCheckService.decidedByGroup). */
  readonly decidedByGroup: () => ReadonlyMap<number, number>;
  readonly send: (to: string, channel: number, message: object) => void;
  readonly nowMs: () => number;
  readonly logger: SplitLogger;
}

export interface SplitCounters {
  /** Splits this node began as meta leader (planner or operator). */
  begun: number;
  /** Splits this node switched as the new group's leader. */
  switched: number;
  /** Splits this node aborted as meta leader (stalled). */
  aborted: number;
}

/** A control entry is proposed again at most this often per split and step (a proposal may be lost with its leader). */
const STEP_RETRY_MS = 1000;
/** Load reports older than this are ignored: the group's leader moved or stopped reporting. */
const LOAD_STALE_MS = 10_000;
/** Operator splits retry this often while the map changes under them (moves report their progress). */
const BEGIN_ATTEMPTS_MAX = 5;

export class SplitDriver {
  readonly counters: SplitCounters = { begun: 0, switched: 0, aborted: 0 };
  /** Meta leader: checks per second by group, as its leader last reported (bounded by the group count). */
  private readonly loads = new Map<number, { readonly checksPerSecond: number; readonly atMs: number }>();
  /** Meta leader: catch-up progress of each moving group, as its leader last reported (bounded by the group count). */
  private readonly progress = new Map<number, number>();
  private readonly lastStepMs = new Map<string, number>();
  private readonly inflight = new Set<string>();
  private seeding: number | null = null;
  private lastDecided = new Map<number, number>();
  private lastReportMs = 0;
  private rates = new Map<number, number>();
  /** Meta leader: when it first saw each split seeding (abort after stallMsMax). */
  private seenSeedingMs: { readonly splitId: number; readonly sinceMs: number } | null = null;
  private stopped = false;

  constructor(
    private readonly options: SplitDriverOptions,
    private readonly deps: SplitDriverDeps,
  ) {}

  stop(): void {
    this.stopped = true;
  }

  /** One round (the placement controller's interval). `planning`: the planner has nothing else to do. */
  round(map: ClusterMap, planning: boolean): void {
    if (this.stopped) return;
    this.reportLoad(map);
    const s = map.split;
    if (s !== undefined) {
      this.asSource(s);
      if (s.phase === 'seeding') this.asTarget(s);
    }
    this.liftOrphanFences(map);
    if (this.deps.host.leaderReady(META_GROUP_ID)) this.asMetaLeader(map, planning);
  }

  /** A load report from a peer (LOAD_CHANNEL). */
  receiveLoad(_from: string, message: unknown): void {
    const m = message as { loads?: unknown; progress?: unknown };
    if (typeof m !== 'object' || m === null || !Array.isArray(m.loads)) return;
    const now = this.deps.nowMs();
    // Bounded: a report names at most SLOT_COUNT groups (one per slot at most).
    for (const [id, v] of pairs(m.loads)) this.loads.set(id, { checksPerSecond: Math.max(0, v), atMs: now });
    for (const [id, v] of pairs(m.progress)) {
      if (this.progress.size >= SLOT_COUNT && !this.progress.has(id)) this.progress.clear();
      this.progress.set(id, v);
    }
  }

  /** Meta leader: the last catch-up progress figure reported for `groupId` (it changes while a learner catches up). */
  moveProgress(groupId: number): number | undefined {
    return this.progress.get(groupId);
  }

  /**
   * `rlctl group split <id>`: begins a split of `groupId` now (whatever its load). Resolves
   * with the split once group 0 applied it.
   *
   * @throws {RateLimiterError} RL_ERR_BAD_REQUEST (no such group), RL_ERR_SPLIT_REFUSED (details.why), or when group 0 cannot take the write.
   */
  async requestSplit(groupId: number): Promise<SplitPlan> {
    for (let attempt = 1; ; attempt++) {
      const map = this.deps.map();
      if (map === null) throw new RateLimiterError('RL_ERR_UNAVAILABLE', 'this node has not applied a cluster map yet');
      if (!map.groups.some((g) => g.id === groupId)) {
        throw new RateLimiterError('RL_ERR_BAD_REQUEST', `no group ${groupId} (groups: ${map.groups.map((g) => g.id).join(', ')})`, { details: { groupId } });
      }
      const cmd = (requestId: string): Extract<MetaCommand, { t: 'splitBegin' }> => ({ t: 'splitBegin', requestId, groupId, ifMapVersion: map.version, groupsMax: this.options.groupsMax });
      const why = splitRefusal(map, cmd(''));
      if (why !== null) throw refused(groupId, why);
      const o = await this.deps.submit(cmd);
      // Answer from this node's map: wait (bounded) until its group 0 applied the write.
      for (let i = 0; i < 500 && this.deps.metaAppliedIndex() < o.index; i++) await new Promise((r) => setTimeout(r, 10));
      const after = this.deps.map();
      if (o.status === 'applied') {
        this.counters.begun++;
        const split = after?.split;
        if (split !== undefined && split.source === groupId) {
          this.deps.logger.info({ splitId: split.id, source: groupId, target: split.target, slots: split.slots.length }, 'split: begun by an operator');
          return split;
        }
        return { id: o.index, source: groupId, target: 0, slots: [], replicas: [], phase: 'seeding' };
      }
      const reason = o.status === 'ignored' ? o.why : o.status;
      if (!reason.startsWith('the map changed') || attempt >= BEGIN_ATTEMPTS_MAX) throw refused(groupId, reason);
    }
  }

  private reportLoad(map: ClusterMap): void {
    const now = this.deps.nowMs();
    const interval = this.options.loadReportIntervalMs ?? 2000;
    if (now - this.lastReportMs < interval) return;
    const seconds = this.lastReportMs === 0 ? 0 : (now - this.lastReportMs) / 1000;
    this.lastReportMs = now;
    const decided = this.deps.decidedByGroup();
    const loads: [number, number][] = [];
    for (const [groupId, count] of decided) {
      const before = this.lastDecided.get(groupId);
      if (before !== undefined && seconds > 0 && this.deps.host.leaderReady(groupId)) {
        // Smoothed over about two reports, so one burst does not split a group.
        const rate = Math.max(0, count - before) / seconds;
        const smoothed = 0.5 * (this.rates.get(groupId) ?? rate) + 0.5 * rate;
        this.rates.set(groupId, smoothed);
        loads.push([groupId, Math.round(smoothed)]);
      }
    }
    this.lastDecided = new Map(decided);
    for (const id of this.rates.keys()) if (!decided.has(id)) this.rates.delete(id);
    // Catch-up progress of the moves this node leads: learners' match indexes and snapshot chunks acknowledged.
    const progress: [number, number][] = [];
    for (const g of map.groups) {
      const view = this.deps.host.leaderReady(g.id) ? this.deps.host.view(g.id) : null;
      if (view === null || view.confState.learners.length === 0) continue;
      const match = this.deps.host.progressOf(g.id)?.match;
      let figure = this.deps.host.groupStats(g.id)?.snapshotAcksReceived ?? 0;
      for (const l of view.confState.learners) figure += match?.get(l) ?? 0;
      progress.push([g.id, figure]);
    }
    if (loads.length === 0 && progress.length === 0) return;
    const metaLeader = this.deps.host.leaderOf(META_GROUP_ID);
    if (metaLeader === null) return;
    if (metaLeader === this.options.nodeId) this.receiveLoad(this.options.nodeId, { loads, progress });
    else this.deps.send(metaLeader, LOAD_CHANNEL, { loads, progress });
  }

  /** True at most once per STEP_RETRY_MS for `key`. */
  private due(key: string): boolean {
    const now = this.deps.nowMs();
    if (now - (this.lastStepMs.get(key) ?? Number.NEGATIVE_INFINITY) < STEP_RETRY_MS) return false;
    this.lastStepMs.set(key, now);
    if (this.lastStepMs.size > 64) this.lastStepMs.delete(this.lastStepMs.keys().next().value as string);
    return true;
  }

  private propose(groupId: number, c: ControlEntry, fence?: { readonly splitId: number; readonly slots: readonly number[] }): void {
    if (!this.due(`${c.t}:${c.splitId}:${groupId}`)) return;
    try {
      const r = this.deps.proposeControl(groupId, encodeControl(c), fence);
      if (r.type === 'accepted') this.deps.logger.info({ groupId, splitId: c.splitId, step: c.t, index: r.index }, 'split: control entry proposed');
    } catch (err) {
      this.deps.logger.warn({ err, groupId, splitId: c.splitId, step: c.t }, 'split: control entry not proposed; retrying');
    }
  }

  private meta(key: string, make: (requestId: string) => MetaCommand, then?: (o: MetaOutcome) => void): void {
    if (this.inflight.has(key)) return;
    this.inflight.add(key);
    this.deps
      .submit(make)
      .then((o) => then?.(o))
      .catch((err: unknown) => this.deps.logger.warn({ err, key }, 'split: meta write failed; retrying'))
      .finally(() => this.inflight.delete(key));
  }

  private asSource(s: SplitPlan): void {
    const { host } = this.deps;
    if (!host.leaderReady(s.source)) return;
    const r = this.deps.replica(s.source);
    if (r === null) return;
    const fenced = r.ownership.fencedBy(s.id);
    switch (s.phase) {
      case 'seeding':
        if (fenced === undefined) this.propose(s.source, { t: 'fence', splitId: s.id, slots: s.slots }, { splitId: s.id, slots: s.slots });
        return;
      case 'switched':
        if (fenced !== undefined) this.propose(s.source, { t: 'release', splitId: s.id });
        else this.meta(`done:${s.id}`, (requestId) => ({ t: 'split', requestId, splitId: s.id, step: 'done' }), (o) => o.status === 'applied' && this.deps.logger.info({ splitId: s.id, source: s.source, target: s.target }, 'split: done'));
        return;
      case 'aborting':
        if (fenced !== undefined) this.propose(s.source, { t: 'unfence', splitId: s.id });
        else this.meta(`done:${s.id}`, (requestId) => ({ t: 'split', requestId, splitId: s.id, step: 'done' }), (o) => o.status === 'applied' && this.deps.logger.info({ splitId: s.id, source: s.source }, 'split: rolled back'));
        return;
    }
  }

  /**
   * Fences of splits that ended are lifted: a fence that applied after its split was
   * aborted and rolled back. (After a switch none can remain: the release emptied the
   * record, and a late fence of gone slots fences nothing.) Only once this node's group 0
   * has applied the split's beginning, so a lagging map never mistakes a live split for
   * an ended one.
   */
  private liftOrphanFences(map: ClusterMap): void {
    for (const groupId of this.deps.host.groupIds()) {
      if (groupId === META_GROUP_ID || !this.deps.host.leaderReady(groupId)) continue;
      const r = this.deps.replica(groupId);
      if (r === null) continue;
      for (const splitId of r.ownership.fenceIds()) {
        if (map.split?.id === splitId || this.deps.metaAppliedIndex() < splitId) continue;
        this.propose(groupId, { t: 'unfence', splitId });
      }
    }
  }

  private asTarget(s: SplitPlan): void {
    const { host } = this.deps;
    if (!host.leaderReady(s.target)) return;
    const target = this.deps.replica(s.target);
    if (target === null) return;
    if (target.ownership.seededSplit === s.id) {
      this.switchMap(s);
      return;
    }
    if (this.seeding !== null) return;
    // The seed is read here: this node's source replica must have applied the fence.
    const source = this.deps.replica(s.source);
    const fenced = source?.ownership.fencedBy(s.id);
    if (source === null || source === undefined || fenced === undefined) return;
    if (fenced.length !== s.slots.length) {
      this.deps.logger.warn({ splitId: s.id, fenced: fenced.length, slots: s.slots.length }, 'split: the source fenced fewer slots than the split moves; waiting for the abort');
      return;
    }
    this.seeding = s.id;
    this.seed(s, source)
      .then(() => this.switchMap(s))
      .catch((err: unknown) => this.deps.logger.warn({ err, splitId: s.id }, 'split: seeding the new group failed; retrying'))
      .finally(() => (this.seeding = null));
  }

  /** Proposes the seed of `s` on its new group, entry by entry, each awaited (bounded memory and Raft queue). */
  private async seed(s: SplitPlan, source: ShardReplica): Promise<void> {
    const { host } = this.deps;
    const still = (): void => {
      const now = this.deps.map()?.split;
      if (this.stopped || now?.id !== s.id || now.phase !== 'seeding' || !host.leaderReady(s.target)) {
        throw new RateLimiterError('RL_ERR_UNAVAILABLE', `split ${s.id}: no longer seeding here`);
      }
    };
    const put = async (c: ControlEntry): Promise<void> => {
      still();
      const r = this.deps.proposeControl(s.target, encodeControl(c));
      if (r.type !== 'accepted') throw new RateLimiterError('RL_ERR_UNAVAILABLE', `split ${s.id}: seed entry not accepted (${r.type})`);
      await host.waitApplied(s.target, r);
    };
    const startMs = this.deps.nowMs();
    await put({ t: 'seedBegin', splitId: s.id, slots: s.slots, nowMs: source.maxAppliedTimeMs });
    const mask = new Uint8Array(SLOT_COUNT);
    for (const slot of s.slots) mask[slot] = 1;
    let entries = 0;
    for (const batch of source.exportSlots(mask, this.options.seedStatesPerEntry ?? 2000)) {
      if (batch.byteLength > 0) {
        await put({ t: 'seedChunk', splitId: s.id, batch });
        entries++;
      }
      await new Promise<void>((r) => setImmediate(r)); // checks keep flowing between entries and scan steps
    }
    await put({ t: 'seedEnd', splitId: s.id });
    this.deps.logger.info({ splitId: s.id, target: s.target, entries, tookMs: Math.round(this.deps.nowMs() - startMs) }, 'split: new group seeded');
  }

  private switchMap(s: SplitPlan): void {
    this.meta(`switch:${s.id}`, (requestId) => ({ t: 'split', requestId, splitId: s.id, step: 'switch' }), (o) => {
      if (o.status !== 'applied') return;
      this.counters.switched++;
      this.deps.logger.info({ splitId: s.id, source: s.source, target: s.target, slots: s.slots.length }, 'split: slots switched to the new group');
    });
  }

  private asMetaLeader(map: ClusterMap, planning: boolean): void {
    const s = map.split;
    const now = this.deps.nowMs();
    if (s?.phase === 'seeding') {
      if (this.seenSeedingMs?.splitId !== s.id) this.seenSeedingMs = { splitId: s.id, sinceMs: now };
      else if (now - this.seenSeedingMs.sinceMs > this.options.stallMsMax) {
        this.meta(`abort:${s.id}`, (requestId) => ({ t: 'split', requestId, splitId: s.id, step: 'abort' }), (o) => {
          if (o.status !== 'applied') return;
          this.counters.aborted++;
          this.deps.logger.warn({ splitId: s.id, source: s.source, target: s.target, stallMsMax: this.options.stallMsMax }, 'split: no switch in time; rolling back');
        });
      }
      return;
    }
    this.seenSeedingMs = null;
    if (!planning || s !== undefined || this.options.splitChecksPerSecondMin <= 0) return;
    for (const [id, l] of this.loads) if (now - l.atMs > LOAD_STALE_MS || !map.groups.some((g) => g.id === id)) this.loads.delete(id);
    const rates = new Map<number, number>();
    for (const [id, l] of this.loads) rates.set(id, l.checksPerSecond);
    const pick = planSplit({
      groups: map.groups.map((g) => ({ id: g.id, slots: slotsOf(map, g.id).length, settled: settledGroup(g) })),
      checksPerSecond: rates,
      checksPerSecondMin: this.options.splitChecksPerSecondMin,
      groupsMax: this.options.groupsMax,
      splitInProgress: false,
    });
    if (pick === null) return;
    this.meta(`begin`, (requestId) => ({ t: 'splitBegin', requestId, groupId: pick.groupId, ifMapVersion: map.version, groupsMax: this.options.groupsMax }), (o) => {
      if (o.status !== 'applied') return;
      this.counters.begun++;
      this.loads.clear(); // fresh figures for the next decision: the split changes every rate
      this.deps.logger.info({ groupId: pick.groupId, checksPerSecond: pick.checksPerSecond, threshold: this.options.splitChecksPerSecondMin }, 'split: planner splits a busy group');
    });
  }
}

/** `[group id, finite number]` pairs of a report, at most SLOT_COUNT. */
function* pairs(v: unknown): Iterable<[number, number]> {
  if (!Array.isArray(v)) return;
  for (const pair of (v as unknown[]).slice(0, SLOT_COUNT)) {
    if (!Array.isArray(pair) || !Number.isSafeInteger(pair[0]) || typeof pair[1] !== 'number' || !Number.isFinite(pair[1])) continue;
    yield [pair[0] as number, pair[1] as number];
  }
}

function settledGroup(g: ClusterMap['groups'][number]): boolean {
  const c = g.current;
  return c === undefined || (c.learners.length === 0 && c.voters.length === g.replicas.length && c.voters.every((v) => g.replicas.includes(v)));
}

function refused(groupId: number, why: string): RateLimiterError {
  return new RateLimiterError('RL_ERR_SPLIT_REFUSED', `group ${groupId} cannot be split now: ${why}`, { details: { groupId, why } });
}
