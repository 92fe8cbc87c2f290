/**
 * One rl-node process, wired: configuration, LevelDB storage, the peer transport, the
 * multi-raft host with one shard state machine per hosted group, the check service and
 * forwarder, the client API, metrics and background sweeps.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { MultiRaftHost } from '../../cluster/host/multi-raft-host.js';
import { META_GROUP_ID, MetaStateMachine } from '../../cluster/meta/index.js';
import type { HostTransport } from '../../cluster/host/types.js';
import { PeerTransport } from '../../cluster/transport/index.js';
import { createSeededPrng, toNodeId } from '../../raft/index.js';
import { LevelNodeStorage } from '../../storage/index.js';
import { loadConfigOrThrow, type CompiledConfig } from '../config/index.js';
import type { CheckInput, CheckOutput } from '../protocol/check.js';
import { RateLimiterError } from '../protocol/errors.js';
import { SLOT_COUNT, slotOf } from '../protocol/slot.js';
import { adminRoutes } from './api/admin-routes.js';
import { dashboardRoutes } from './api/dashboard-routes.js';
import { ApiServer } from './api/server.js';
import { StatsRoutes } from './api/stats-routes.js';
import { PendingAnswer, answerValue, type CheckAnswer, type CheckService } from './api/service.js';
import { NodeCheckService } from './check-service.js';
import { CLOCK_CHANNEL, ClockSkewMonitor } from './clock-skew.js';
import { FORWARD_CHANNEL, Forwarder } from './forwarder.js';
import { META_CHANNEL } from './meta/meta-rpc.js';
import { MetaService } from './meta/meta-service.js';
import { CheckMetrics, buildNodeRegistry, type ShardSizes } from './metrics.js';
import type { NodeOptions } from './options.js';
import { staticPlacement, type Placement } from './placement.js';
import { PlacementController } from './placement/controller.js';
import { requestJoin } from './placement/join.js';
import { ShardMachine } from './shard/shard-machine.js';
import { CheckStats } from './stats/check-stats.js';
import { NodeStatsReporter, type ClusterSnapshot } from './stats/node-stats.js';
import { trackedResources } from './stats/resources.js';
import type { StatsGroup } from './stats/types.js';

/** Slots swept per group per second: 10k slots take ~1 ms, far below a 20 ms pause. */
const SWEEP_SLOTS_PER_TICK = 10_000;

export class RlNode {
  private readonly machines = new Map<number, ShardMachine>();
  private sweeper: NodeJS.Timeout | null = null;
  private campaigner: NodeJS.Timeout | null = null;
  private balancer: NodeJS.Timeout | null = null;
  /** Last leadership transfer per group, so a preferred replica that keeps failing is not retried in a loop. */
  private readonly lastTransferMs = new Map<number, number>();
  apiPort = 0;
  peerPort = 0;
  /** The `/v1/stats/stream` subscribers, closed on stop. */
  private statsStream: StatsRoutes | null = null;
  /** Group 0: replicated configuration and cluster map (set right after construction). */
  private meta!: MetaService;
  private metaMachine!: MetaStateMachine;
  /** Dynamic placement: follows the cluster map, reconciles group memberships, plans moves (set right after construction). */
  private controller!: PlacementController;

  private constructor(
    private readonly options: NodeOptions,
    private readonly logger: Logger,
    private readonly config: CompiledConfig,
    private readonly placement: Placement,
    private readonly storage: LevelNodeStorage,
    private readonly transport: PeerTransport,
    private readonly host: MultiRaftHost,
    readonly service: NodeCheckService,
    private readonly api: ApiServer,
    private readonly forwarder: Forwarder,
    readonly registry: Registry,
    private readonly skew: ClockSkewMonitor,
  ) {}

  /** Loads everything, opens storage and starts serving. Throws with a clear message when the config or options are bad. */
  static async start(options: NodeOptions, logger: Logger): Promise<RlNode> {
    // The file seeds a fresh cluster (version 1 through group 0); once group 0 holds a configuration, that one wins.
    const configText = await readFile(options.configPath, 'utf8');
    const configFormat = options.configPath.endsWith('.json') ? 'json' : 'yaml';
    const config = loadConfigOrThrow(configText, configFormat);
    const members = [options.id, ...Object.keys(options.peers)];
    const placement = staticPlacement(members, options.groups, options.replicationFactor);
    const storage = await LevelNodeStorage.open({ location: join(options.dataDir, 'raft'), fsync: options.fsync });
    const transport = new PeerTransport(
      { nodeId: options.id, listenHost: options.peerListenHost, listenPort: options.peerListenPort, peers: options.peers, clusterSecret: options.clusterSecret },
      { logger: logger.child({ component: 'transport' }) },
    );
    let hostHandler: ((from: string, groupId: number, message: unknown) => void) | null = null;
    let forwarder: Forwarder | null = null;
    let metaService: MetaService | null = null;
    const send = (to: string, groupId: number, message: unknown): void => {
      try {
        transport.send(to, groupId, message as object);
      } catch (err) {
        logger.warn({ err, to, groupId }, 'message not sent');
      }
    };
    const hostTransport: HostTransport = { send, onMessage: (h) => (hostHandler = h) };
    // Wall time for decisions and clock probes; `clockOffsetMs` is 0 except in chaos tests that inject skew.
    const clockOffsetMs = options.clockOffsetMs;
    const wallNowMs = clockOffsetMs === 0 ? (): number => Date.now() : (): number => Date.now() + clockOffsetMs;
    const skew = new ClockSkewMonitor({ send, onMessage: () => undefined }, { wallNowMs, monoNowMs: () => performance.now() });
    transport.onMessage((from, groupId, message) => {
      if (groupId === FORWARD_CHANNEL) forwarder?.receive(from, message);
      else if (groupId === CLOCK_CHANNEL) skew.receive(from, message);
      else if (groupId === META_CHANNEL) metaService?.rpc.receive(from, message);
      else hostHandler?.(from, groupId, message);
    });
    const host = new MultiRaftHost(
      {
        nodeId: toNodeId(options.id),
        tickIntervalMs: options.tickIntervalMs,
        raft: { electionTimeoutTicks: options.electionTimeoutTicks, clockDriftMsMax: Math.floor((options.electionTimeoutTicks * options.tickIntervalMs) / 5) },
      },
      { storage, transport: hostTransport, clock: { nowMs: () => performance.now() }, prng: createSeededPrng(Date.now() % 2 ** 31), logger: logger.child({ component: 'raft' }) },
    );
    const service = new NodeCheckService(options.id, host, placement.slots, config, null, { wallNowMs });
    // Live stats (/v1/stats, dashboard): checks are counted where they enter the cluster
    // (hops 0), so the nodes' figures add up; a few typed-array increments per check.
    const checkStats = new CheckStats({ resources: trackedResources(config.rules) }, { nowMs: () => performance.now() });
    // Metrics (src/node/metrics.ts): plain counters on the check path, prom-client at scrape time.
    const checkMetrics = new CheckMetrics(config);
    let configVersion = config.version;
    const metaMachine = new MetaStateMachine();
    const meta = new MetaService(
      {
        nodeId: options.id,
        peerAddress: `${options.peerListenHost}:${options.peerListenPort}`,
        peers: options.peers,
        fileConfig: { text: configText, format: configFormat, compiled: config },
        groupOf: (slot) => placement.slots.groupOf(slot),
        groups: placement.groupIds.map((id) => ({ id, replicas: placement.replicasOf(id) })),
        replicationFactor: options.replicationFactor,
      },
      {
        host,
        machine: metaMachine,
        send,
        canReach: (to) => transport.peerState(to) === 'connected',
        setConfig: (c) => {
          service.setConfig(c);
          checkStats.track(trackedResources(c.rules));
          checkMetrics.setConfig(c);
          configVersion = c.version;
        },
        logger: logger.child({ component: 'meta' }),
      },
    );
    metaService = meta;
    // Placement follows group 0's map: which groups this node hosts, who it connects to,
    // and (on group leaders and the meta leader) the moves that bring the map about.
    const controller = new PlacementController(
      { nodeId: options.id, replicationFactor: options.replicationFactor, initial: placement, peerOverrides: options.peers },
      {
        host,
        map: () => metaMachine.map,
        submit: (make) => meta.submit(make),
        transport,
        openGroup: (groupId) => node.openShard(groupId, null),
        closeGroup: (groupId) => node.closeShard(groupId),
        logger: logger.child({ component: 'placement' }),
      },
    );
    metaMachine.listen({ onMap: () => controller.mapChanged() });
    const registry = buildNodeRegistry({
      checks: checkMetrics,
      service,
      host,
      transport,
      storage,
      skew,
      shards: () => node.shardSizes(),
      placement: () => controller.stats(),
      configVersion: () => configVersion,
      maxClockSkewMs: options.maxClockSkewMs,
    });
    // Every check passes here once per hop (hops 0: from a client of this node). `answered`
    // or `failed` runs exactly once per check, when its answer is known; for a check
    // waiting on its Raft batch that is when the batch settles (a listener, no promise).
    const answered = (out: CheckOutput, input: CheckInput, startMs: number): void => {
      if (startMs < 0) return;
      // One clock read for both recorders: performance.now() costs ~0.1 µs here.
      const nowMs = performance.now();
      checkMetrics.answered(input, out, (nowMs - startMs) / 1000);
      checkStats.record(input.resources[0] as string, out.allowed, nowMs - startMs, nowMs);
    };
    const failed = (err: unknown, startMs: number): void => {
      if (startMs >= 0) checkMetrics.failed(err instanceof RateLimiterError ? err.code : 'internal');
      if (startMs >= 0) checkStats.recordError();
    };
    const counted = (input: CheckInput, hops: number): CheckAnswer => {
      const startMs = hops === 0 ? performance.now() : -1;
      let out: CheckAnswer;
      try {
        out = serve(input, hops);
      } catch (err) {
        failed(err, startMs);
        throw err;
      }
      if (out instanceof PendingAnswer) {
        const pending = out;
        pending.batch.onSettled((err) => (err === null ? answered(pending.output, input, startMs) : failed(err, startMs)));
        return pending;
      }
      if (out instanceof Promise) {
        return out.then(
          (o) => {
            answered(o, input, startMs);
            return o;
          },
          (err: unknown) => {
            failed(err, startMs);
            throw err;
          },
        );
      }
      answered(out, input, startMs);
      return out;
    };
    // A group not hosted here is reached through one of its replicas, which forwards to its leader.
    // The target is the group's leader when group 0's hint names a reachable voter, else a reachable voter.
    const serve = (input: CheckInput, hops: number): CheckAnswer => {
      const slot = slotOf(input.key);
      const groupId = placement.slots.groupOf(slot);
      if (host.hosts(groupId)) return service.check(input, hops);
      if (hops > 0 || forwarder === null) throw new RateLimiterError('RL_ERR_UNAVAILABLE', `group ${groupId} is not hosted here`);
      const voters = controller.votersOf(groupId).filter((r) => r !== options.id);
      const reachable = voters.filter((r) => transport.peerState(r) === 'connected');
      const hint = metaMachine.leaderHints().get(groupId)?.leader;
      const pool = reachable.length > 0 ? reachable : voters;
      const to = hint !== undefined && reachable.includes(hint) ? hint : pool[slot % Math.max(1, pool.length)];
      if (to === undefined) throw new RateLimiterError('RL_ERR_UNAVAILABLE', `group ${groupId} has no replica this node can reach`, { details: { groupId } });
      service.counters.forwarded++;
      return forwarder.forward(to, input, 1);
    };
    forwarder = new Forwarder(
      { send, onMessage: () => undefined },
      async (check, hops) => answerValue(counted(check, hops)),
      {},
      (to) => transport.peerState(to) === 'connected',
    );
    service.setForwarder(forwarder);
    const apiService: CheckService = {
      check: (input) => counted(input, 0),
      ruleWindowMs: (rule) => service.ruleWindowMs(rule),
      // Ready: every hosted group has a leader and group 0 has handed this node its configuration.
      // A replica still joining its group (not a voter yet) does not count: it has no leader to know until the leader adds it.
      isReady: () =>
        meta.hasReplicatedConfig() && placement.groupIds.every((g) => !host.hosts(g) || host.leaderOf(g) !== null || !(host.view(g)?.confState.voters.includes(toNodeId(options.id)) ?? false)),
      clusterView: () => node.clusterView(),
      metricsText: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
    };
    const stats = new NodeStatsReporter(options.id, {
      checks: checkStats,
      cluster: () => node.statsCluster(),
      wallNowMs: () => Date.now(),
      monoNowMs: () => performance.now(),
    });
    const statsRoutes = new StatsRoutes({}, { snapshot: () => stats.snapshot(), logger: logger.child({ component: 'stats' }) });
    const api = new ApiServer(
      { host: options.listenHost, port: options.listenPort },
      { service: apiService, logger: logger.child({ component: 'api' }), clientToken: options.clientToken, routes: [statsRoutes.register, dashboardRoutes(), adminRoutes({ admin: meta, nodes: meta, adminToken: options.adminToken, logger: logger.child({ component: 'admin' }) })] },
    );
    const node: RlNode = new RlNode(options, logger, config, controller, storage, transport, host, service, api, forwarder, registry, skew);
    node.statsStream = statsRoutes;
    node.meta = meta;
    node.metaMachine = metaMachine;
    node.controller = controller;
    await node.open();
    return node;
  }

  private async open(): Promise<void> {
    const fresh = this.storage.groupIds().length === 0;
    // A new node joining through --join bootstraps nothing: group 0's leader fills its
    // meta replica, and its shard replicas come as the planner moves them here. A node
    // whose earlier join failed holds an empty group 0 only, and joins again.
    let joining = this.options.join !== undefined && this.storage.groupIds().every((g) => g === META_GROUP_ID);
    if (fresh && !joining) {
      // A fresh cluster: the first placement comes from the member list (the first cluster map records it).
      for (const groupId of this.placement.groupIds) {
        const replicas = this.placement.replicasOf(groupId);
        if (replicas.includes(this.options.id)) await this.openShard(groupId, replicas);
      }
    } else {
      // Restart: the groups this node held; the cluster map (replayed from group 0) adds or drops the rest.
      for (const groupId of this.storage.groupIds()) if (groupId !== META_GROUP_ID) await this.openShard(groupId, null);
    }
    // Group 0 last, so every shard machine is registered before a configuration applies.
    // Every node hosts it: the first five sorted ids as voters, the others as learners.
    const metaMembers = MetaService.membership([this.options.id, ...Object.keys(this.options.peers)]);
    await this.host.addGroup(META_GROUP_ID, {
      bootstrap: joining ? null : { voters: metaMembers.voters.map(toNodeId), learners: metaMembers.learners.map(toNodeId) },
      stateMachine: this.metaMachine,
    });
    if (joining && this.host.lastIndex(META_GROUP_ID) > 0) joining = false; // a member already: --join is ignored
    this.peerPort = (await this.transport.start()).port;
    this.host.start();
    if (!fresh && !joining) {
      // A restart replays group 0 from its own log: serve the newest version applied here
      // rather than the file. Bounded: a node that cannot replay in 5 s serves the file's
      // version until it catches up (and says so in /v1/cluster: configVersion 0).
      const deadline = Date.now() + 5000;
      while (!this.meta.hasReplicatedConfig() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      if (!this.meta.hasReplicatedConfig()) this.logger.warn({}, 'group 0 has not replayed a configuration yet; serving the --config file until it does');
    }
    this.apiPort = (await this.api.start()).port;
    if (joining) await this.join();
    this.meta.start(`${this.options.listenHost}:${this.apiPort}`);
    this.controller.start();
    this.sweeper = setInterval(() => {
      for (const m of this.machines.values()) m.replica.sweep(SWEEP_SLOTS_PER_TICK);
    }, 1000);
    // Preferred leaders: each group's first replica leads it when it is up, so leaders (and
    // the work of deciding) spread evenly over nodes. At most one transfer per group per 10 s.
    this.balancer = setInterval(() => this.balanceLeaders(), 2000);
    if (fresh && !joining) {
      // Spread first leaders: the first replica of each group campaigns once peers are up.
      this.campaigner = setTimeout(() => {
        for (const groupId of this.machines.keys()) {
          const view = this.host.view(groupId);
          if (this.placement.replicasOf(groupId)[0] === this.options.id && view !== null && view.leader === null) this.host.campaign(groupId);
        }
        const metaView = this.host.view(META_GROUP_ID);
        if (metaMembers.voters[0] === this.options.id && metaView !== null && metaView.leader === null) this.host.campaign(META_GROUP_ID);
      }, this.options.tickIntervalMs * 3);
    }
    this.logger.info({ api: `${this.options.listenHost}:${this.apiPort}`, peer: `${this.options.peerListenHost}:${this.peerPort}`, groups: this.machines.size, configVersion: this.config.version }, 'node started');
  }

  /** Asks the --join seed to add this node to the cluster map, then connects to every member it names. */
  private async join(): Promise<void> {
    const seed = this.options.join as string;
    const token = this.options.adminToken;
    if (token === undefined) throw new TypeError('Cannot join: --join needs --admin-token');
    const self = { id: this.options.id, peerAddress: `${this.options.peerListenHost}:${this.peerPort}`, apiAddress: `${this.options.listenHost}:${this.apiPort}` };
    const { nodes, groups } = await requestJoin({ seed, token, node: self, timeoutMs: 30_000, groups: this.options.groups });
    if (groups !== this.options.groups) {
      this.logger.error({ groups, mine: this.options.groups }, 'the cluster runs another number of shard groups than --groups');
      throw new TypeError(`Cannot join: the cluster has ${groups} shard groups but this node was started with --groups ${this.options.groups}; restart it with --groups ${groups}`);
    }
    for (const n of nodes) {
      if (n.id === this.options.id || this.transport.peerState(n.id) !== undefined) continue;
      this.transport.addPeer(n.id, n.peerAddress);
    }
    this.logger.info({ seed, members: nodes.map((n) => n.id) }, 'joined the cluster; replicas move here as the planner places them');
  }

  /** Hosts a replica of shard group `groupId`: `bootstrap` for the first placement of a fresh cluster, null otherwise. */
  async openShard(groupId: number, bootstrap: readonly string[] | null): Promise<void> {
    if (this.host.hosts(groupId)) return;
    const machine = new ShardMachine(this.meta.served().config);
    this.machines.set(groupId, machine);
    await this.host.addGroup(groupId, { bootstrap: bootstrap === null ? null : { voters: bootstrap.map(toNodeId), learners: [] }, stateMachine: machine });
    this.service.addGroup(groupId, machine);
  }

  /** Drops this node's replica of `groupId` (the group removed it from its membership). */
  async closeShard(groupId: number): Promise<void> {
    this.service.removeGroup(groupId);
    this.machines.delete(groupId);
    this.lastTransferMs.delete(groupId);
    await this.host.removeGroup(groupId);
  }

  /**
   * Once per 2 s: probe peer clocks; hand away every group this node leads when its clock
   * disagrees with every peer by more than maxClockSkewMs; else move each group to its
   * preferred (first) replica when that one is up and its clock agrees, so leaders spread
   * evenly. At most one transfer per group per 10 s, so a failing target is not retried in a loop.
   */
  private balanceLeaders(): void {
    const peers = this.meta.members().map((n) => n.id).filter((id) => id !== this.options.id);
    this.skew.probe(peers);
    const now = Date.now();
    const skewed = this.skew.selfSkewed(this.options.maxClockSkewMs);
    for (const groupId of this.machines.keys()) {
      if (!this.host.leaderReady(groupId)) continue;
      if (now - (this.lastTransferMs.get(groupId) ?? 0) < 10_000) continue;
      const replicas = this.placement.replicasOf(groupId).filter((r) => r !== this.options.id && this.transport.peerState(r) === 'connected');
      const agrees = (r: string): boolean => Math.abs(this.skew.offsetMs(r) ?? Number.POSITIVE_INFINITY) <= this.options.maxClockSkewMs;
      let target: string | undefined;
      if (skewed) {
        target = replicas.find(agrees);
        if (target !== undefined) this.logger.warn({ groupId, to: target }, 'clock skew over the bound: handing leadership away');
      } else {
        const preferred = this.placement.replicasOf(groupId)[0];
        if (this.meta.balancerHeld(groupId, now)) continue; // an operator moved it: leave it there for a while
        // Only to a voter: a replica the planner just placed is a learner until it caught up.
        const voter = preferred !== undefined && (this.host.view(groupId)?.confState.voters.includes(toNodeId(preferred)) ?? false);
        if (preferred !== undefined && voter && preferred !== this.options.id && replicas.includes(preferred) && !this.skewedPeer(preferred)) target = preferred;
      }
      if (target === undefined) continue;
      this.lastTransferMs.set(groupId, now);
      this.host.transferLeadership(groupId, toNodeId(target));
    }
  }

  /** A peer whose clock is off from ours by more than the bound (unknown counts as fine: probes may not have run yet). */
  private skewedPeer(peer: string): boolean {
    const o = this.skew.offsetMs(peer);
    return o !== undefined && Math.abs(o) > this.options.maxClockSkewMs;
  }

  /** In-memory sizes of every hosted shard group, for metrics (scrape time). */
  shardSizes(): ShardSizes[] {
    const out: ShardSizes[] = [];
    for (const m of this.machines.values()) {
      out.push({ stateSlots: m.replica.store.size, dedupRecords: m.replica.dedupSize, overlaySlots: m.role === 'leader' ? m.leader.overlaySize : 0 });
    }
    return out;
  }

  clusterView(): unknown {
    return {
      node: this.options.id,
      nodes: this.meta.members().map((n) => n.id),
      slotCount: SLOT_COUNT,
      slotMapVersion: this.placement.slots.version,
      configVersion: this.meta.served().version,
      // Group 0 is listed apart from `groups` (shard groups only: the SDK counts them for slot → group).
      meta: this.meta.view(),
      members: this.meta.members(),
      // Groups whose membership is moving toward the planner's target (add learner → promote → remove).
      moves: this.controller.moves(),
      groups: this.placement.groupIds.map((groupId) => {
        const v = this.host.view(groupId);
        return {
          id: groupId,
          replicas: this.placement.replicasOf(groupId),
          voters: this.controller.votersOf(groupId),
          hosted: v !== null,
          leader: v?.leader ?? null,
          role: v?.role ?? null,
          term: v?.term ?? null,
          commitIndex: v?.commit ?? null,
          appliedIndex: v?.applied ?? null,
        };
      }),
    };
  }

  /** This node's view of nodes and groups for `/v1/stats`: group 0 (meta) first when hosted, then the shard groups. */
  statsCluster(): ClusterSnapshot {
    const self = this.options.id;
    const group = (id: number, replicas: readonly string[]): StatsGroup => {
      const v = this.host.groupStats(id);
      return {
        id,
        replicas,
        hosted: v !== null,
        role: v?.role ?? null,
        leader: v?.leader ?? null,
        term: v?.term ?? null,
        commitIndex: v?.commit ?? null,
        appliedIndex: v?.applied ?? null,
        applyLag: v === null ? null : Math.max(0, v.commit - v.applied),
        replicationLag: v === null || v.role !== 'leader' ? null : Object.fromEntries(v.replicationLagEntries),
      };
    };
    const meta = this.host.view(META_GROUP_ID);
    return {
      configVersion: this.meta.served().version,
      slotMapVersion: this.placement.slots.version,
      nodes: this.meta.members().map((n) =>
        n.id === self
          ? { id: n.id, self: true, api: `${this.options.listenHost}:${this.apiPort}`, link: 'self' as const }
          : { id: n.id, self: false, api: n.apiAddress, link: this.transport.peerState(n.id) === 'connected' ? ('connected' as const) : ('down' as const) },
      ),
      groups: [
        ...(meta === null ? [] : [group(META_GROUP_ID, [...meta.confState.voters, ...meta.confState.learners])]),
        ...this.placement.groupIds.map((id) => group(id, this.placement.replicasOf(id))),
      ],
    };
  }

  /** Stops accepting, fails what is waiting, flushes storage and closes everything. */
  async stop(): Promise<void> {
    this.statsStream?.close();
    this.controller.stop();
    if (this.sweeper !== null) clearInterval(this.sweeper);
    if (this.campaigner !== null) clearTimeout(this.campaigner);
    if (this.balancer !== null) clearInterval(this.balancer);
    await this.api.close();
    this.meta.stop();
    this.host.stop();
    this.forwarder.close();
    await this.transport.close();
    await this.storage.close();
    this.logger.info({}, 'node stopped');
  }
}
