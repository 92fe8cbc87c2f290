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
import { createSeededPrng, toNodeId, type Term } from '../../raft/index.js';
import { LevelNodeStorage, StorageCorruptionError, toGroupId } from '../../storage/index.js';
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
import { ADAPTIVE_CHANNEL, AdaptiveService } from './adaptive/adaptive-service.js';
import { LimiterLoadMonitor } from './adaptive/limiter-load.js';
import { adaptiveRoutes } from './api/adaptive-routes.js';
import { CheckMetrics, buildNodeRegistry, type ShardSizes } from './metrics.js';
import type { NodeOptions } from './options.js';
import { staticPlacement, type Placement } from './placement.js';
import { PlacementController } from './placement/controller.js';
import { rebuildStep } from './placement/corrupt-replica.js';
import { SlotTable } from './placement/slot-table.js';
import { LOAD_CHANNEL, SplitDriver } from './placement/split-driver.js';
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
  /** Adaptive limits: signal pushes, and the controller while this node leads group 0 (set right after construction). */
  private adaptive: AdaptiveService | null = null;
  private metaMachine!: MetaStateMachine;
  /** Dynamic placement: follows the cluster map, reconciles group memberships, plans moves (set right after construction). */
  private controller!: PlacementController;
  /** Group splits (set right after construction). */
  private splits: SplitDriver | null = null;

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
    let splits: SplitDriver | null = null;
    let adaptive: AdaptiveService | null = null;
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
      else if (groupId === LOAD_CHANNEL) splits?.receiveLoad(from, message);
      else if (groupId === ADAPTIVE_CHANNEL) adaptive?.receive(from, message);
      else hostHandler?.(from, groupId, message);
    });
    const host = new MultiRaftHost(
      {
        nodeId: toNodeId(options.id),
        tickIntervalMs: options.tickIntervalMs,
        raft: { electionTimeoutTicks: options.electionTimeoutTicks, clockDriftMsMax: Math.floor((options.electionTimeoutTicks * options.tickIntervalMs) / 5) },
        snapshotSendBytesPerSecondMax: options.snapshotSendBytesPerSecondMax,
      },
      { storage, transport: hostTransport, clock: { nowMs: () => performance.now() }, prng: createSeededPrng(Date.now() % 2 ** 31), logger: logger.child({ component: 'raft' }) },
    );
    // Slot → group as group 0's map says (an array index per check); the static layout until the first map applies.
    const slotTable = new SlotTable(placement.slots);
    const service = new NodeCheckService(options.id, host, slotTable, config, null, { wallNowMs });
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
        ...(options.zone === undefined ? {} : { zone: options.zone }),
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
          adaptive?.configChanged();
        },
        logger: logger.child({ component: 'meta' }),
      },
    );
    metaService = meta;
    // Adaptive limits (docs/adaptive.md): signals go to the meta leader, whose controller
    // writes factors to group 0; every node applies them from there (MetaService).
    const adaptiveService = new AdaptiveService({
      nodeId: options.id,
      send,
      metaLeaderReady: () => host.leaderReady(META_GROUP_ID),
      metaLeader: () => host.leaderOf(META_GROUP_ID),
      served: () => meta.served(),
      records: () => metaMachine.factors(),
      history: () => meta.factorHistory(),
      submit: (make) => meta.submit(make),
      decisions: (resource) => checkMetrics.decisionsOf(resource),
      load: new LimiterLoadMonitor(),
      clock: { monoNowMs: () => performance.now(), wallNowMs },
      logger: logger.child({ component: 'adaptive' }),
    });
    adaptive = adaptiveService;
    // Placement follows group 0's map: which groups this node hosts, who it connects to,
    // and (on group leaders and the meta leader) the moves that bring the map about.
    // Group splits: each step on the leader of the group concerned, driven from the map's split phase.
    splits = new SplitDriver(
      { nodeId: options.id, groupsMax: options.groupsMax, splitChecksPerSecondMin: options.splitChecksPerSecondMin, stallMsMax: options.moveStallMsMax },
      {
        host,
        submit: (make) => meta.submit(make),
        map: () => metaMachine.map,
        metaAppliedIndex: () => metaMachine.appliedIndex(),
        replica: (groupId) => node.machines.get(groupId)?.replica ?? null,
        proposeControl: (groupId, data, fence) => service.proposeControl(groupId, data, fence),
        decidedByGroup: () => service.decidedByGroup(),
        send,
        nowMs: () => performance.now(),
        logger: logger.child({ component: 'split' }),
      },
    );
    const splitDriver = splits;
    const controller = new PlacementController(
      { nodeId: options.id, replicationFactor: options.replicationFactor, initial: placement, peerOverrides: options.peers, slots: slotTable, moveStallMsMax: options.moveStallMsMax },
      {
        host,
        map: () => metaMachine.map,
        submit: (make) => meta.submit(make),
        transport,
        openGroup: (groupId, bootstrap) => node.openShard(groupId, bootstrap),
        closeGroup: (groupId) => node.closeShard(groupId),
        logger: logger.child({ component: 'placement' }),
        splits: splitDriver,
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
      placement: () => ({ ...controller.stats(), splits: splitDriver.counters, splitInProgress: metaMachine.map?.split === undefined ? 0 : 1 }),
      configVersion: () => configVersion,
      maxClockSkewMs: options.maxClockSkewMs,
      adaptive: () => {
        const served = meta.served().config;
        const factors = new Map([...served.adaptive.keys()].map((r): [string, number] => [r, served.factors.get(r) ?? 1]));
        return { factors, reports: adaptiveService.reports.received, changes: meta.applied.changeCount };
      },
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
      const groupId = slotTable.groupOf(slot);
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
        meta.hasReplicatedConfig() && controller.groupIds.every((g) => !host.hosts(g) || host.leaderOf(g) !== null || !(host.view(g)?.confState.voters.includes(toNodeId(options.id)) ?? false)),
      clusterView: () => node.clusterView(),
      slotMap: () => ({ version: slotTable.version, slotCount: SLOT_COUNT, groups: slotTable.toArray() }),
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
      {
        service: apiService,
        logger: logger.child({ component: 'api' }),
        clientToken: options.clientToken,
        reports: (summaries) => adaptiveService.report(summaries),
        routes: [
          adaptiveRoutes({ adaptive: { view: () => adaptiveService.view(), freezeFactor: (r, f) => meta.freezeFactor(r, f) }, adminToken: options.adminToken, logger: logger.child({ component: 'admin' }) }),
          statsRoutes.register,
          dashboardRoutes(),
          adminRoutes({ admin: meta, nodes: meta, groups: { splitGroup: (groupId) => splitDriver.requestSplit(groupId) }, adminToken: options.adminToken, logger: logger.child({ component: 'admin' }) }),
        ],
      },
    );
    const node: RlNode = new RlNode(options, logger, config, controller, storage, transport, host, service, api, forwarder, registry, skew);
    node.statsStream = statsRoutes;
    node.meta = meta;
    node.adaptive = adaptiveService;
    adaptiveService.start();
    node.metaMachine = metaMachine;
    node.controller = controller;
    node.splits = splitDriver;
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
      if (this.storage.corruptGroups().length > 0) this.detachCorrupt().catch((err: unknown) => this.logger.error({ err }, 'detaching a corrupt group failed'));
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
    const self = { id: this.options.id, peerAddress: `${this.options.peerListenHost}:${this.peerPort}`, apiAddress: `${this.options.listenHost}:${this.apiPort}`, ...(this.options.zone === undefined ? {} : { zone: this.options.zone }) };
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

  /**
   * Hosts a replica of shard group `groupId`: `bootstrap` for the first placement of a
   * fresh cluster, null otherwise. A replica whose records fail their checksums is not
   * hosted: it is rebuilt from a healthy replica instead (`rebuildShard`).
   */
  async openShard(groupId: number, bootstrap: readonly string[] | null): Promise<void> {
    if (this.host.hosts(groupId)) return;
    if (this.lost.has(groupId) || this.storage.corruptGroups().some((c) => c.groupId === groupId)) {
      await this.rebuildShard(groupId);
      return;
    }
    const machine = new ShardMachine(this.meta.served().config);
    this.machines.set(groupId, machine);
    try {
      await this.host.addGroup(groupId, { bootstrap: bootstrap === null ? null : { voters: bootstrap.map(toNodeId), learners: [] }, stateMachine: machine });
    } catch (err) {
      this.machines.delete(groupId);
      if (!(err instanceof StorageCorruptionError)) throw err;
      this.lostShard(groupId, err);
      await this.rebuildShard(groupId);
      return;
    }
    this.service.addGroup(groupId, machine);
  }

  /** Shard groups whose replica here failed its checksums and is being rebuilt, with when it was last marked lost in group 0 (0: not yet). */
  private readonly lost = new Map<number, number>();

  private lostShard(groupId: number, err: unknown): void {
    if (this.lost.has(groupId)) return;
    this.lost.set(groupId, 0);
    this.logger.error({ err, groupId }, 'replica data is corrupt: this node serves nothing from the group and rebuilds it from a healthy replica');
  }

  /**
   * One step of rebuilding a corrupt replica (placement/corrupt-replica.ts): mark it lost
   * in group 0, wait until its group has removed it, then wipe it and host it
   * empty for the leader to fill by snapshot, and clear the mark. Called again on every
   * placement round until the replica is hosted.
   */
  private async rebuildShard(groupId: number): Promise<void> {
    this.lostShard(groupId, null);
    const step = rebuildStep(this.metaMachine.map, this.options.id, groupId);
    const gid = toGroupId(groupId);
    const mark = (lost: boolean): Promise<unknown> =>
      this.meta.submit((requestId) => ({ t: 'replicaLost', requestId, groupId, nodeId: this.options.id, lost }));
    switch (step.type) {
      case 'wait':
        return;
      case 'report': {
        // Once per 5 s at most: the mark takes a round trip through group 0 to show here.
        const now = Date.now();
        if (now - (this.lost.get(groupId) ?? 0) < 5000) return;
        this.lost.set(groupId, now);
        try {
          await mark(true);
        } catch (err) {
          this.lost.set(groupId, 0);
          throw err;
        }
        this.logger.warn({ groupId }, 'corrupt replica marked lost in group 0; waiting for its leader to remove it from the group');
        return;
      }
      case 'drop':
        if (this.storage.groupIds().includes(gid)) await this.storage.dropGroup(gid);
        this.lost.delete(groupId);
        return;
      case 'wipe': {
        await this.storage.wipeGroup(gid, { term: step.term as Term, vote: null });
        this.lost.delete(groupId);
        this.logger.warn({ groupId, term: step.term }, 'corrupt replica wiped; its group refills it by snapshot');
        await this.openShard(groupId, null);
        await mark(false);
        return;
      }
    }
  }

  /** Groups hosted here whose storage was marked corrupt while serving: detached, then rebuilt like a corrupt group found at start. */
  private async detachCorrupt(): Promise<void> {
    for (const c of this.storage.corruptGroups()) {
      if (c.groupId === META_GROUP_ID || !this.host.hosts(c.groupId)) continue;
      this.service.removeGroup(c.groupId);
      this.machines.delete(c.groupId);
      await this.host.detachGroup(c.groupId);
      this.lostShard(c.groupId, c);
    }
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
      // The group split in progress (docs/scale.md), or null.
      split: this.metaMachine.map?.split ?? null,
      // Shard groups whose replica on this node failed its checksums and is being rebuilt.
      rebuilding: [...this.lost.keys()].sort((a, b) => a - b),
      groups: this.placement.groupIds.map((groupId) => {
        const v = this.host.view(groupId);
        return {
          id: groupId,
          replicas: this.placement.replicasOf(groupId),
          voters: this.controller.votersOf(groupId),
          // Replicas marked lost to corruption (learners until their node has rebuilt them).
          lost: this.metaMachine.map?.groups.find((g) => g.id === groupId)?.lost ?? [],
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
    this.splits?.stop();
    if (this.sweeper !== null) clearInterval(this.sweeper);
    if (this.campaigner !== null) clearTimeout(this.campaigner);
    if (this.balancer !== null) clearInterval(this.balancer);
    await this.api.close();
    this.adaptive?.stop();
    this.meta.stop();
    this.host.stop();
    this.forwarder.close();
    await this.transport.close();
    await this.storage.close();
    this.logger.info({}, 'node stopped');
  }
}
