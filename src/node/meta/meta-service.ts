/**
 * The node's side of the meta group: turns replicated configuration documents into the
 * compiled configuration every check uses (swapped atomically, between two checks),
 * seeds a fresh cluster from the `--config` file, registers this node's addresses in the
 * cluster map, reports leader hints, and carries out admin writes: validated here,
 * proposed on the meta leader (forwarded over the peer transport when that is another
 * node), answered once applied on this node.
 */
import { randomBytes } from 'node:crypto';
import type { MultiRaftHost } from '../../../cluster/host/multi-raft-host.js';
import type { HostTransport } from '../../../cluster/host/types.js';
import {
  META_GROUP_ID,
  bootstrapClusterMap,
  encodeCommand,
  groupsHolding,
  mapChangeRefusal,
  type ClusterMap,
  metaMembership,
  type ConfigDocument,
  type ConfigFormat,
  type GroupPlacement,
  type MetaCommand,
  type MetaNode,
  type MetaOutcome,
  type MetaStateMachine,
} from '../../../cluster/meta/index.js';
import { toNodeId } from '../../../raft/index.js';
import { formatExplanation, formatIssue, parseConfig, type CompiledConfig, type ConfigIssue, type Explanation } from '../../config/index.js';
import { RateLimiterError } from '../../protocol/errors.js';
import { SLOT_COUNT } from '../../protocol/slot.js';
import { AppliedFactors, factorsFor, type AppliedFactor } from '../adaptive/applied-factors.js';
import { movesOf } from '../placement/controller.js';
import { MetaRpc } from './meta-rpc.js';
import { ruleChanges, type RuleChanges } from './rule-changes.js';

export interface MetaLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface MetaServiceOptions {
  readonly nodeId: string;
  /** This node's peer listener, host:port. */
  readonly peerAddress: string;
  /** This node's zone label (`--zone`), registered in the cluster map; absent: none. */
  readonly zone?: string;
  /** Other members: id → peer host:port. */
  readonly peers: Readonly<Record<string, string>>;
  /** The `--config` file: the first version of a fresh cluster. */
  readonly fileConfig: { readonly text: string; readonly format: ConfigFormat; readonly compiled: CompiledConfig };
  /** The shard placement this node started with (recorded in the first cluster map). */
  readonly groupOf: (slot: number) => number;
  readonly groups: readonly GroupPlacement[];
  /** Replicas per shard group (a drain that would leave fewer active nodes is refused). */
  readonly replicationFactor: number;
  /** How often the seeding, registration and hint upkeep runs. [250] */
  readonly upkeepIntervalMs?: number;
  /** How long an admin write may take end to end before RL_ERR_TIMEOUT. [5000] */
  readonly writeTimeoutMs?: number;
}

export interface MetaServiceDeps {
  readonly host: MultiRaftHost;
  readonly machine: MetaStateMachine;
  readonly send: HostTransport['send'];
  readonly canReach: (to: string) => boolean;
  /** Swaps the configuration of every check path (NodeCheckService.setConfig). */
  readonly setConfig: (config: CompiledConfig) => void;
  readonly logger: MetaLogger;
}

export type ValidateResult =
  | { readonly ok: true; readonly ruleCount: number; readonly changes: RuleChanges }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

export interface ApplyResult {
  readonly version: number;
  readonly index: number;
  readonly changes: RuleChanges;
}

export interface TransferResult {
  readonly groupId: number;
  readonly from: string;
  readonly to: string;
  readonly status: 'started' | 'already';
}

type Op =
  | { readonly op: 'meta'; readonly cmd: MetaCommand }
  | { readonly op: 'transfer'; readonly groupId: number; readonly to: string; readonly hops: number }
  | { readonly op: 'hold'; readonly groupId: number };

interface Waiter {
  readonly index: number;
  resolve(): void;
}

/** Versions whose change report is kept for the writer to read: writes are rare, 64 is plenty. */
const CHANGES_KEPT_MAX = 64;
/** Local waiters for an applied index at most: admin writes in flight on this node. */
const WAITERS_MAX = 1000;
/** Forwards an admin op may take (node without the group → a replica → the leader). */
const HOPS_MAX = 2;
/**
 * After a manual leadership transfer, the preferred-leader balancer leaves the group alone
 * this long, so an operator's choice is not undone within seconds (ten minutes: long
 * enough to investigate, short enough that leaders spread again on their own).
 */
export const MANUAL_TRANSFER_HOLD_MS = 10 * 60_000;

function notProposed(err: unknown): boolean {
  return err instanceof RateLimiterError && err.details?.['notProposed'] === true;
}

export class MetaService {
  readonly rpc: MetaRpc;
  /** The configuration checks use: the replicated document compiled, with the meta group's adaptive factors applied. */
  private current: { version: number; config: CompiledConfig };
  /** The adaptive factors applied here, and where (docs/adaptive.md). */
  readonly applied = new AppliedFactors();
  private readonly changesByVersion = new Map<number, RuleChanges>();
  private waiters: Waiter[] = [];
  private readonly inflight = new Set<string>();
  private readonly heldUntilMs = new Map<number, number>();
  private upkeep: NodeJS.Timeout | null = null;
  private apiAddress: string | null = null;
  private nextRequest = 1;
  private readonly requestPrefix: string;
  private stopped = false;

  constructor(
    private readonly options: MetaServiceOptions,
    private readonly deps: MetaServiceDeps,
  ) {
    this.current = { version: 0, config: options.fileConfig.compiled };
    this.requestPrefix = `${options.nodeId}:${randomBytes(4).toString('hex')}`;
    this.rpc = new MetaRpc({ send: deps.send }, (from, body) => this.serve(from, body), {}, deps.canReach);
    deps.machine.listen({
      onConfig: (doc) => this.configApplied(doc),
      onFactors: (_resources, index) => this.factorsApplied(index),
      onApplied: (index) => this.settle(index),
    });
  }

  /** Meta group membership for bootstrap: voters are the first five sorted ids, the rest learners. */
  static membership(memberIds: readonly string[]): { voters: string[]; learners: string[] } {
    return metaMembership(memberIds);
  }

  /** Starts the upkeep loop; `apiAddress` is this node's client API (registered in the cluster map). */
  start(apiAddress: string): void {
    this.apiAddress = apiAddress;
    if (this.upkeep !== null) return;
    this.upkeep = setInterval(() => this.runUpkeep(), this.options.upkeepIntervalMs ?? 250);
  }

  stop(): void {
    this.stopped = true;
    if (this.upkeep !== null) clearInterval(this.upkeep);
    this.upkeep = null;
    this.rpc.close();
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }

  /** The configuration checks use now, and its replicated version (0: the `--config` file, before group 0 has one). */
  served(): { readonly version: number; readonly config: CompiledConfig } {
    return this.current;
  }

  /** The replicated document this node has applied, or null (none yet). */
  document(): ConfigDocument | null {
    return this.deps.machine.config;
  }

  /** True when group 0 has handed this node a configuration (fresh clusters: once the seed commits). */
  hasReplicatedConfig(): boolean {
    return this.current.version > 0;
  }

  /** True while a manual transfer holds the preferred-leader balancer off `groupId`. */
  balancerHeld(groupId: number, nowMs: number): boolean {
    return (this.heldUntilMs.get(groupId) ?? 0) > nowMs;
  }

  /** Parses and validates `text`; on success, what it would change against the running version. */
  validate(text: string, format: ConfigFormat): ValidateResult {
    const r = parseConfig(text, format);
    if (!r.ok) return { ok: false, issues: r.errors };
    return { ok: true, ruleCount: r.config.rules.length, changes: ruleChanges(this.current.config, r.config) };
  }

  /**
   * Validates here (every issue reported, nothing proposed on error), then writes the
   * document through group 0 and resolves once this node has applied it.
   *
   * @throws {RateLimiterError} RL_ERR_CONFIG_INVALID (details.issues), RL_ERR_CONFLICT (details.currentVersion),
   * RL_ERR_NO_QUORUM / RL_ERR_UNAVAILABLE / RL_ERR_TIMEOUT when group 0 cannot take the write.
   */
  async applyConfig(text: string, format: ConfigFormat, ifMatch: number | null): Promise<ApplyResult> {
    const v = this.validate(text, format);
    if (!v.ok) throw invalid(v.issues);
    const o = await this.toMeta({ t: 'config', requestId: this.requestId(), format, text, ifMatch });
    if (o.status === 'conflict') {
      throw new RateLimiterError('RL_ERR_CONFLICT', `If-Match ${o.expected} does not match the current configuration version ${o.configVersion}; nothing was applied`, {
        details: { currentVersion: o.configVersion },
      });
    }
    if (o.status !== 'applied') throw new RateLimiterError('RL_ERR_UNAVAILABLE', `configuration write was not applied (${o.why})`);
    await this.waitLocal(o.index);
    return { version: o.configVersion, index: o.index, changes: this.changesByVersion.get(o.configVersion) ?? v.changes };
  }

  explain(key: string, resource: string, tier: string | undefined): { version: number; explanation: Explanation; text: string } {
    const explained = this.current.config.explain(key, resource, tier);
    const a = explained.adaptive;
    if (a === undefined) return { version: this.current.version, explanation: explained, text: formatExplanation(explained) };
    // The replicated record behind the factor: why it was set, from which signals, at which meta index.
    const r = this.deps.machine.factors().get(resource);
    const record = { frozen: r?.frozen ?? false, reason: r?.reason ?? 'no factor set yet (1.0)', signals: r?.signals ?? {}, index: r?.index ?? 0, atMs: r?.atMs ?? null };
    const explanation = { ...explained, adaptive: { ...a, ...record } };
    const signals = Object.entries(record.signals).map(([k, v]) => `${k}=${v === null ? '-' : v}`).join(' ');
    const lines = [`  ${record.frozen ? 'frozen' : 'set'} at meta index ${record.index}: ${record.reason}`, ...(signals === '' ? [] : [`  signals: ${signals}`])];
    return { version: this.current.version, explanation, text: `${formatExplanation(explained)}\n${lines.join('\n')}` };
  }

  /**
   * Pins (`frozen` true) or releases the adaptive factor of `resource` through group 0;
   * resolves once applied here with what this node now applies.
   *
   * @throws {RateLimiterError} RL_ERR_NOT_ADAPTIVE when the running configuration gives the resource no `adaptive` block.
   */
  async freezeFactor(resource: string, frozen: boolean): Promise<{ resource: string; factor: number; frozen: boolean; index: number }> {
    if (!this.current.config.adaptive.has(resource)) {
      const adaptive = [...this.current.config.adaptive.keys()];
      throw new RateLimiterError('RL_ERR_NOT_ADAPTIVE', `resource ${JSON.stringify(resource)} is not adaptive in configuration version ${this.current.version} (adaptive: ${adaptive.length === 0 ? 'none' : adaptive.join(', ')})`, {
        details: { resource },
      });
    }
    const reason = frozen ? `frozen by an operator at ${this.current.config.factors.get(resource) ?? 1}` : 'released by an operator';
    const o = await this.toMeta({ t: 'freeze', requestId: this.requestId(), resource, frozen, atMs: Date.now(), reason });
    if (o.status === 'ignored' && o.why !== 'no change') throw new RateLimiterError('RL_ERR_UNAVAILABLE', `freeze of ${resource} was not applied (${o.why})`);
    await this.waitLocal(o.index);
    const now = this.applied.now(resource);
    return { resource, factor: now.factor, frozen: now.frozen, index: this.deps.machine.factors().get(resource)?.index ?? o.index };
  }

  /** Moves the leadership of `groupId` (0: the meta group) to node `to`, from wherever it is now. */
  async transferLeader(groupId: number, to: string, hops = 0): Promise<TransferResult> {
    const { host } = this.deps;
    const self = this.options.nodeId;
    const groups = this.deps.machine.map?.groups ?? this.options.groups;
    const placement = groupId === META_GROUP_ID ? null : groups.find((g) => g.id === groupId);
    if (groupId !== META_GROUP_ID && placement === undefined) {
      throw new RateLimiterError('RL_ERR_BAD_REQUEST', `no group ${groupId} (groups are 0 for meta and 1 to ${this.options.groups.length})`);
    }
    if (!host.hosts(groupId)) {
      const replicas = placement?.replicas ?? [];
      const via = replicas.find((r) => r !== self && this.deps.canReach(r));
      if (via === undefined || hops >= HOPS_MAX) throw new RateLimiterError('RL_ERR_UNAVAILABLE', `no replica of group ${groupId} is reachable from node ${self}`);
      return (await this.rpc.request(via, { op: 'transfer', groupId, to, hops: hops + 1 } satisfies Op)) as TransferResult;
    }
    const view = host.view(groupId);
    if (view === null) throw new RateLimiterError('RL_ERR_UNAVAILABLE', `group ${groupId} is not hosted on node ${self}`);
    if (!view.confState.voters.includes(toNodeId(to))) {
      throw new RateLimiterError('RL_ERR_BAD_REQUEST', `node ${JSON.stringify(to)} is not a voter of group ${groupId} (voters: ${view.confState.voters.join(', ')})`);
    }
    if (host.leaderReady(groupId)) {
      this.heldUntilMs.set(groupId, Date.now() + MANUAL_TRANSFER_HOLD_MS);
      if (to === self) return { groupId, from: self, to, status: 'already' };
      // The target holds its balancer off too, or it would hand the group back to the preferred replica.
      await this.rpc.request(to, { op: 'hold', groupId } satisfies Op).catch(() => undefined);
      host.transferLeadership(groupId, toNodeId(to));
      this.deps.logger.info({ groupId, to }, 'leadership transfer started by an operator');
      return { groupId, from: self, to, status: 'started' };
    }
    const leader = view.leader;
    if (leader === null) throw new RateLimiterError('RL_ERR_NO_QUORUM', `group ${groupId} has no leader right now`, { details: { groupId } });
    if (leader === self || hops >= HOPS_MAX) {
      throw new RateLimiterError('RL_ERR_NOT_LEADER', `group ${groupId}: leadership is moving; try again`, { details: { groupId, leader } });
    }
    return (await this.rpc.request(leader, { op: 'transfer', groupId, to, hops: hops + 1 } satisfies Op)) as TransferResult;
  }

  /**
   * Writes one command (made with a fresh request id) through group 0 and returns its
   * outcome on the meta leader; for the placement controller.
   */
  submit(make: (requestId: string) => MetaCommand): Promise<MetaOutcome> {
    return this.toMeta(make(this.requestId()));
  }

  /** The replicated cluster map as applied here, or null before group 0 has one. */
  map(): ClusterMap | null {
    return this.deps.machine.map;
  }

  /**
   * Adds a node to the cluster map (idempotent for the same id and peer address): every
   * node then connects to it, group 0 takes it as a learner, and the planner moves
   * replicas onto it. Resolves with the members once applied here.
   *
   * @throws {RateLimiterError} RL_ERR_BAD_REQUEST (malformed id or address), RL_ERR_NODE_EXISTS, or when group 0 cannot take the write.
   */
  async joinNode(node: { readonly id: string; readonly peerAddress: string; readonly apiAddress: string | null; readonly zone?: string }): Promise<{ nodes: readonly MetaNode[]; mapVersion: number; groups: number }> {
    if (node.zone !== undefined && !NODE_ID.test(node.zone)) throw new RateLimiterError('RL_ERR_BAD_REQUEST', `zone must match [A-Za-z0-9_.-]{1,64} (got ${JSON.stringify(node.zone)})`);
    if (!NODE_ID.test(node.id)) throw new RateLimiterError('RL_ERR_BAD_REQUEST', `node id must match [A-Za-z0-9_.-]{1,64} (got ${JSON.stringify(node.id)})`);
    for (const [what, v] of [['peerAddress', node.peerAddress], ['apiAddress', node.apiAddress]] as const) {
      if (v !== null && !HOST_PORT.test(v)) throw new RateLimiterError('RL_ERR_BAD_REQUEST', `${what} must be host:port (got ${JSON.stringify(v)})`);
    }
    const map = this.requireMap();
    const sameId = map.nodes.find((n) => n.id === node.id);
    if (sameId !== undefined && sameId.peerAddress !== node.peerAddress) {
      throw new RateLimiterError('RL_ERR_NODE_EXISTS', `node ${node.id} is already a member with peer address ${sameId.peerAddress} (got ${node.peerAddress}); remove it first or pick another id`, { details: { nodeId: node.id } });
    }
    const sameAddress = map.nodes.find((n) => n.id !== node.id && n.peerAddress === node.peerAddress);
    if (sameAddress !== undefined) {
      throw new RateLimiterError('RL_ERR_NODE_EXISTS', `peer address ${node.peerAddress} belongs to member ${sameAddress.id}`, { details: { nodeId: sameAddress.id } });
    }
    const o = await this.toMeta({ t: 'join', requestId: this.requestId(), node: { id: node.id, peerAddress: node.peerAddress, apiAddress: node.apiAddress, ...(node.zone === undefined ? {} : { zone: node.zone }) } });
    if (o.status === 'ignored' && o.why !== 'no change') throw new RateLimiterError('RL_ERR_NODE_EXISTS', `join of ${node.id} refused: ${o.why}`, { details: { nodeId: node.id } });
    await this.waitLocal(o.index);
    const after = this.requireMap();
    if (sameId === undefined) this.deps.logger.info({ nodeId: node.id, peerAddress: node.peerAddress }, 'node joined the cluster map');
    return { nodes: after.nodes, mapVersion: after.version, groups: after.groups.length };
  }

  /**
   * Marks a node draining (or active again with `draining` false): the planner moves its
   * replicas, leaders and meta vote away.
   *
   * @throws {RateLimiterError} RL_ERR_UNKNOWN_NODE; RL_ERR_QUORUM_AT_RISK when fewer active nodes than the replication factor would remain.
   */
  async drainNode(nodeId: string, draining: boolean): Promise<{ nodeId: string; draining: boolean; mapVersion: number }> {
    const map = this.requireMap();
    const node = map.nodes.find((n) => n.id === nodeId);
    if (node === undefined) throw unknownNode(nodeId, map);
    if (draining) {
      const activeAfter = map.nodes.filter((n) => n.id !== nodeId && n.draining !== true).length;
      const needed = Math.min(this.options.replicationFactor, map.nodes.length);
      if (activeAfter < Math.max(needed, 1)) {
        throw new RateLimiterError(
          'RL_ERR_QUORUM_AT_RISK',
          `draining ${nodeId} would leave ${activeAfter} active node${activeAfter === 1 ? '' : 's'} for replication factor ${this.options.replicationFactor}: its groups could not keep their replicas; add a node first`,
          { details: { nodeId, activeAfter, replicationFactor: this.options.replicationFactor } },
        );
      }
    }
    const o = await this.toMeta({ t: 'drain', requestId: this.requestId(), nodeId, draining });
    if (o.status === 'ignored' && o.why !== 'no change') throw new RateLimiterError('RL_ERR_UNKNOWN_NODE', `drain of ${nodeId} refused: ${o.why}`, { details: { nodeId } });
    await this.waitLocal(o.index);
    if (o.status === 'applied') this.deps.logger.info({ nodeId, draining }, draining ? 'node draining' : 'node active again');
    return { nodeId, draining, mapVersion: this.requireMap().version };
  }

  /**
   * Removes a drained node from the cluster map (every node then drops its connection,
   * group 0 drops it). Refused while it is not draining or still holds a replica or a
   * meta vote: removing it then could cost a group its quorum.
   *
   * @throws {RateLimiterError} RL_ERR_UNKNOWN_NODE, RL_ERR_NODE_NOT_DRAINED (details.groups).
   */
  async removeNode(nodeId: string): Promise<{ nodeId: string; mapVersion: number }> {
    const map = this.requireMap();
    const node = map.nodes.find((n) => n.id === nodeId);
    if (node === undefined) throw unknownNode(nodeId, map);
    if (node.draining !== true) {
      throw new RateLimiterError('RL_ERR_NODE_NOT_DRAINED', `node ${nodeId} is not draining: run 'rlctl node drain ${nodeId}' first, so its replicas and leaders move off before it goes`, {
        details: { nodeId, groups: groupsHolding(map, nodeId) },
      });
    }
    const refusal = mapChangeRefusal(map, { t: 'remove', requestId: '', nodeId });
    if (refusal !== null) {
      throw new RateLimiterError('RL_ERR_NODE_NOT_DRAINED', `node ${nodeId} cannot be removed yet: ${refusal} (removing it now could cost them their quorum); wait until 'rlctl status' shows no moves`, {
        details: { nodeId, groups: groupsHolding(map, nodeId) },
      });
    }
    const o = await this.toMeta({ t: 'remove', requestId: this.requestId(), nodeId });
    if (o.status !== 'applied') {
      throw new RateLimiterError('RL_ERR_NODE_NOT_DRAINED', `node ${nodeId} cannot be removed yet: ${o.status === 'ignored' ? o.why : o.status}`, { details: { nodeId, groups: groupsHolding(this.requireMap(), nodeId) } });
    }
    await this.waitLocal(o.index);
    this.deps.logger.info({ nodeId }, 'node removed from the cluster map');
    return { nodeId, mapVersion: this.requireMap().version };
  }

  /** Members (with state and replica counts) and moves in progress, for `GET /v1/admin/nodes`. */
  nodesView(): Record<string, unknown> {
    const map = this.requireMap();
    return {
      mapVersion: map.version,
      nodes: map.nodes.map((n) => ({
        id: n.id,
        peerAddress: n.peerAddress,
        apiAddress: n.apiAddress,
        state: n.draining === true ? 'draining' : 'active',
        metaVoter: map.metaVoters.includes(n.id),
        replicas: map.groups.filter((g) => g.replicas.includes(n.id)).length,
        preferredLeader: map.groups.filter((g) => g.replicas[0] === n.id).length,
        holds: groupsHolding(map, n.id),
      })),
      moves: movesOf(map),
    };
  }

  private requireMap(): ClusterMap {
    const map = this.deps.machine.map;
    if (map === null) throw new RateLimiterError('RL_ERR_UNAVAILABLE', 'this node has not applied a cluster map yet (group 0 is seeding or catching up)');
    return map;
  }

  /** The meta group as `/v1/cluster` shows it. */
  view(): Record<string, unknown> {
    const v = this.deps.host.view(META_GROUP_ID);
    const map = this.deps.machine.map;
    return {
      id: META_GROUP_ID,
      leader: v?.leader ?? null,
      role: v?.role ?? null,
      term: v?.term ?? null,
      commitIndex: v?.commit ?? null,
      appliedIndex: v?.applied ?? null,
      voters: v?.confState.voters ?? [],
      learners: v?.confState.learners ?? [],
      configVersion: this.current.version,
      mapVersion: map?.version ?? 0,
    };
  }

  /** Every member with its addresses (the API address once the node registered it). */
  members(): readonly MetaNode[] {
    const map = this.deps.machine.map;
    if (map !== null) return map.nodes;
    return this.allNodes();
  }

  private allNodes(): MetaNode[] {
    const self: MetaNode = { id: this.options.nodeId, peerAddress: this.options.peerAddress, apiAddress: this.apiAddress };
    const others = Object.entries(this.options.peers).map(([id, peerAddress]): MetaNode => ({ id, peerAddress, apiAddress: null }));
    return [self, ...others].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private requestId(): string {
    return `${this.requestPrefix}:${this.nextRequest++}`;
  }

  /** Called inside the meta group's apply, in log order, on every node. */
  private configApplied(doc: ConfigDocument): void {
    const parsed = parseConfig(doc.text, doc.format);
    if (!parsed.ok) {
      // Validated before it was proposed; this happens only with nodes of different code
      // versions. The running version keeps serving.
      this.deps.logger.error({ version: doc.version, issues: parsed.errors.map(formatIssue) }, 'replicated configuration does not compile on this node; keeping the running version');
      return;
    }
    const changes = ruleChanges(this.current.config, parsed.config);
    const first = this.current.version === 0;
    // The factors recorded in group 0 apply to the new version too (clamped into its bounds).
    const effective = parsed.config.withFactors(factorsFor(parsed.config, this.deps.machine.factors()));
    this.deps.setConfig(effective);
    this.current = { version: doc.version, config: effective };
    this.noteFactors(doc.index);
    this.changesByVersion.set(doc.version, changes);
    if (this.changesByVersion.size > CHANGES_KEPT_MAX) {
      const oldest = this.changesByVersion.keys().next();
      if (oldest.done !== true) this.changesByVersion.delete(oldest.value);
    }
    this.deps.logger.info(
      { version: doc.version, index: doc.index, added: changes.added.length, removed: changes.removed.length, changed: changes.changed.length },
      'configuration applied',
    );
    if (changes.resets.length > 0) {
      this.deps.logger.warn({ version: doc.version, resets: changes.resets }, 'configuration change resets the counters of rules whose algorithm or period changed');
    }
    if (first && (doc.text !== this.options.fileConfig.text || doc.format !== this.options.fileConfig.format)) {
      this.deps.logger.info({ version: doc.version }, 'group 0 holds a configuration: it wins over the --config file');
    }
  }

  /** Called inside the meta group's apply when adaptive factors changed at `index`. */
  private factorsApplied(index: number): void {
    const base = this.current.config;
    const factors = factorsFor(base, this.deps.machine.factors());
    const same = factors.size === base.factors.size && [...factors].every(([r, f]) => base.factors.get(r) === f);
    if (!same) {
      const effective = base.withFactors(factors);
      this.deps.setConfig(effective);
      this.current = { version: this.current.version, config: effective };
    }
    this.noteFactors(index);
  }

  /** Records and logs (info, with the reason) every factor this node applies differently from `index` on. */
  private noteFactors(index: number): void {
    const records = this.deps.machine.factors();
    for (const c of this.applied.apply(this.current.config, records, index, this.current.version)) {
      const r = records.get(c.resource);
      this.deps.logger.info({ resource: c.resource, factor: c.factor, frozen: c.frozen, index: c.index, configVersion: c.configVersion, reason: r?.reason ?? null, signals: r?.signals ?? null }, 'adaptive factor applied');
    }
  }

  /** Every adaptive factor change applied here, oldest first (bounded). */
  factorHistory(): readonly AppliedFactor[] {
    return this.applied.history();
  }

  private settle(index: number): void {
    if (this.waiters.length === 0) return;
    const keep: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.index <= index) w.resolve();
      else keep.push(w);
    }
    this.waiters = keep;
  }

  /** Resolves once this node has applied meta index `index`. */
  private waitLocal(index: number): Promise<void> {
    if (this.deps.machine.appliedIndex() >= index) return Promise.resolve();
    if (this.waiters.length >= WAITERS_MAX) return Promise.reject(new RateLimiterError('RL_ERR_UNAVAILABLE', `too many admin writes waiting (${WAITERS_MAX})`));
    const timeoutMs = this.options.writeTimeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new RateLimiterError('RL_ERR_TIMEOUT', `the write committed at meta index ${index} but this node has not applied it within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        index,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  /**
   * Runs `cmd` on the meta leader and returns its outcome. Retries (bounded in time) only
   * while nothing was proposed yet: no leader known, leader unreachable, not leader.
   */
  private async toMeta(cmd: MetaCommand): Promise<MetaOutcome> {
    const deadline = Date.now() + (this.options.writeTimeoutMs ?? 5000);
    for (;;) {
      try {
        return await this.toMetaOnce(cmd);
      } catch (err) {
        if (this.stopped || !notProposed(err) || Date.now() + 100 > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  private async toMetaOnce(cmd: MetaCommand): Promise<MetaOutcome> {
    const { host } = this.deps;
    if (host.leaderReady(META_GROUP_ID)) return this.proposeLocal(cmd);
    const leader = host.leaderOf(META_GROUP_ID);
    if (leader === null || leader === this.options.nodeId) {
      throw new RateLimiterError('RL_ERR_NO_QUORUM', 'the meta group (group 0) has no leader right now', { details: { groupId: 0, notProposed: true } });
    }
    if (!this.deps.canReach(leader)) {
      throw new RateLimiterError('RL_ERR_UNAVAILABLE', `meta leader ${leader} is unreachable from node ${this.options.nodeId}`, { details: { leader, notProposed: true } });
    }
    return (await this.rpc.request(leader, { op: 'meta', cmd } satisfies Op)) as MetaOutcome;
  }

  private async proposeLocal(cmd: MetaCommand): Promise<MetaOutcome> {
    const { host, machine } = this.deps;
    const r = host.propose(META_GROUP_ID, encodeCommand(cmd));
    if (r.type === 'notLeader') {
      throw new RateLimiterError('RL_ERR_NOT_LEADER', 'this node no longer leads the meta group', { details: { groupId: 0, leader: r.leaderHint, notProposed: true } });
    }
    if (r.type === 'dropped') throw new RateLimiterError('RL_ERR_UNAVAILABLE', `meta write dropped (${r.reason}: ${r.detail})`, { details: { groupId: 0, notProposed: true } });
    await host.waitApplied(META_GROUP_ID, r);
    const o = machine.outcome(cmd.requestId);
    if (o === undefined) throw new RateLimiterError('RL_ERR_UNAVAILABLE', 'the meta write applied but its outcome is no longer known here');
    return o;
  }

  /** Serves an admin op from peer `from`. */
  private async serve(from: string, body: unknown): Promise<unknown> {
    const op = body as Op;
    if (typeof op !== 'object' || op === null) throw new RateLimiterError('RL_ERR_BAD_REQUEST', 'malformed admin request');
    switch (op.op) {
      case 'meta': {
        if (!this.deps.host.leaderReady(META_GROUP_ID)) {
          throw new RateLimiterError('RL_ERR_NOT_LEADER', `node ${this.options.nodeId} does not lead the meta group`, {
            details: { groupId: 0, leader: this.deps.host.leaderOf(META_GROUP_ID), notProposed: true },
          });
        }
        const cmd = op.cmd;
        if (cmd.t === 'config') {
          // Defense in depth: the leader validates too, so nothing invalid enters the log.
          const v = this.validate(cmd.text, cmd.format);
          if (!v.ok) throw invalid(v.issues);
        }
        return this.proposeLocal(cmd);
      }
      case 'transfer':
        return this.transferLeader(op.groupId, op.to, op.hops);
      case 'hold':
        this.heldUntilMs.set(op.groupId, Date.now() + MANUAL_TRANSFER_HOLD_MS);
        this.deps.logger.info({ groupId: op.groupId, from }, 'preferred-leader balancing paused for a manual transfer');
        return { ok: true };
      default:
        throw new RateLimiterError('RL_ERR_BAD_REQUEST', 'unknown admin request');
    }
  }

  /** Seeding, cluster map, node registration and leader hints: each at most one in flight. */
  private runUpkeep(): void {
    if (this.stopped) return;
    const { host, machine } = this.deps;
    const self = this.options.nodeId;
    if (host.leaderReady(META_GROUP_ID)) {
      if (machine.config === null) {
        const f = this.options.fileConfig;
        this.fire('seed', { t: 'config', requestId: this.requestId(), format: f.format, text: f.text, ifMatch: 0 });
      }
      if (machine.map === null) {
        const map = bootstrapClusterMap(this.allNodes(), SLOT_COUNT, this.options.groupOf, this.options.groups);
        this.fire('map', { t: 'map', requestId: this.requestId(), map });
      }
    }
    const map = machine.map;
    if (map === null || host.leaderOf(META_GROUP_ID) === null) return;
    const entry = map.nodes.find((n) => n.id === self);
    if (entry !== undefined && (entry.apiAddress !== this.apiAddress || entry.peerAddress !== this.options.peerAddress || entry.zone !== this.options.zone)) {
      const zone = this.options.zone === undefined ? {} : { zone: this.options.zone };
      this.fire('node', { t: 'node', requestId: this.requestId(), node: { id: self, peerAddress: this.options.peerAddress, apiAddress: this.apiAddress, ...zone } });
    }
    const hints = machine.leaderHints();
    for (const groupId of host.groupIds()) {
      if (groupId === META_GROUP_ID || !host.leaderReady(groupId)) continue;
      const term = host.view(groupId)?.term ?? 0;
      const hint = hints.get(groupId);
      if (hint?.leader === self && hint.term === term) continue;
      this.fire(`hint:${groupId}`, { t: 'hint', requestId: this.requestId(), groupId, hint: { leader: self, term } });
    }
  }

  private fire(key: string, cmd: MetaCommand): void {
    if (this.inflight.has(key)) return;
    this.inflight.add(key);
    this.toMeta(cmd)
      .catch((err: unknown) => {
        if (!this.stopped) this.deps.logger.warn({ err, command: cmd.t }, 'meta upkeep write failed; retrying later');
      })
      .finally(() => this.inflight.delete(key));
  }
}

const NODE_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const HOST_PORT = /^[A-Za-z0-9_.\-\[\]:]{1,250}:\d{1,5}$/;

function unknownNode(nodeId: string, map: ClusterMap): RateLimiterError {
  return new RateLimiterError('RL_ERR_UNKNOWN_NODE', `no node ${JSON.stringify(nodeId)} in the cluster (members: ${map.nodes.map((n) => n.id).join(', ')})`, { details: { nodeId } });
}

function invalid(issues: readonly ConfigIssue[]): RateLimiterError {
  const n = issues.length;
  return new RateLimiterError('RL_ERR_CONFIG_INVALID', `invalid configuration (${n} issue${n === 1 ? '' : 's'}):\n${issues.map(formatIssue).join('\n')}`, {
    details: { issues },
  });
}
