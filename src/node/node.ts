/**
 * One rl-node process, wired: configuration, LevelDB storage, the peer transport, the
 * multi-raft host with one shard state machine per hosted group, the check service and
 * forwarder, the client API, metrics and background sweeps.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { MultiRaftHost } from '../../cluster/host/multi-raft-host.js';
import type { HostTransport } from '../../cluster/host/types.js';
import { PeerTransport } from '../../cluster/transport/index.js';
import { createSeededPrng, toNodeId } from '../../raft/index.js';
import { LevelNodeStorage } from '../../storage/index.js';
import { loadConfigOrThrow, type CompiledConfig } from '../config/index.js';
import type { CheckInput, CheckOutput } from '../protocol/check.js';
import { RateLimiterError } from '../protocol/errors.js';
import { SLOT_COUNT, slotOf } from '../protocol/slot.js';
import { ApiServer } from './api/server.js';
import { PendingAnswer, answerValue, type CheckAnswer, type CheckService } from './api/service.js';
import { NodeCheckService } from './check-service.js';
import { CLOCK_CHANNEL, ClockSkewMonitor } from './clock-skew.js';
import { FORWARD_CHANNEL, Forwarder } from './forwarder.js';
import type { NodeOptions } from './options.js';
import { staticPlacement, type Placement } from './placement.js';
import { ShardMachine } from './shard/shard-machine.js';

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
    const config = loadConfigOrThrow(await readFile(options.configPath, 'utf8'), options.configPath.endsWith('.json') ? 'json' : 'yaml');
    const members = [options.id, ...Object.keys(options.peers)];
    const placement = staticPlacement(members, options.groups, options.replicationFactor);
    const storage = await LevelNodeStorage.open({ location: join(options.dataDir, 'raft'), fsync: options.fsync });
    const transport = new PeerTransport(
      { nodeId: options.id, listenHost: options.peerListenHost, listenPort: options.peerListenPort, peers: options.peers, clusterSecret: options.clusterSecret },
      { logger: logger.child({ component: 'transport' }) },
    );
    let hostHandler: ((from: string, groupId: number, message: unknown) => void) | null = null;
    let forwarder: Forwarder | null = null;
    const send = (to: string, groupId: number, message: unknown): void => {
      try {
        transport.send(to, groupId, message as object);
      } catch (err) {
        logger.warn({ err, to, groupId }, 'message not sent');
      }
    };
    const hostTransport: HostTransport = { send, onMessage: (h) => (hostHandler = h) };
    const skew = new ClockSkewMonitor({ send, onMessage: () => undefined }, { wallNowMs: () => Date.now(), monoNowMs: () => performance.now() });
    transport.onMessage((from, groupId, message) => {
      if (groupId === FORWARD_CHANNEL) forwarder?.receive(from, message);
      else if (groupId === CLOCK_CHANNEL) skew.receive(from, message);
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
    const service = new NodeCheckService(options.id, host, placement.slots, config, null, { wallNowMs: () => Date.now() });
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const checks = new Counter({ name: 'rl_checks_total', help: 'Checks answered by this node, by decision', labelNames: ['decision'], registers: [registry] });
    const errors = new Counter({ name: 'rl_check_errors_total', help: 'Checks that failed, by error code', labelNames: ['code'], registers: [registry] });
    // Counters kept by the check service as plain numbers (no metric call on the hot path),
    // reported to Prometheus as counters at scrape time.
    const fromService = (name: string, help: string, read: () => number): void => {
      let reported = 0;
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          const now = read();
          if (now > reported) this.inc(now - reported);
          reported = now;
        },
      });
    };
    fromService('rl_checks_forwarded_total', 'Checks this node forwarded to the leader of their group', () => service.counters.forwarded);
    fromService('rl_shard_batches_total', 'Raft entries proposed by this node, one per group per flush', () => service.counters.batches);
    fromService('rl_shard_batch_mutations_total', 'State mutations in the entries this node proposed', () => service.counters.mutations);
    const skewGauge = new Gauge({
      name: 'rl_clock_skew_ms',
      help: 'Observed wall-clock offset of each peer (peer minus this node), from ping/pong probes',
      labelNames: ['peer'],
      registers: [registry],
      collect() {
        for (const [peer, ms] of skew.all()) this.set({ peer }, ms);
      },
    });
    void skewGauge;
    const allowedCount = checks.labels({ decision: 'allowed' });
    const deniedCount = checks.labels({ decision: 'denied' });
    // Every check passes here once per hop (hops 0: from a client of this node). `answered`
    // or `failed` runs exactly once per check, when its answer is known; for a check
    // waiting on its Raft batch that is when the batch settles (a listener, no promise).
    const answered = (out: CheckOutput): void => {
      (out.allowed ? allowedCount : deniedCount).inc();
    };
    const failed = (err: unknown): void => {
      errors.inc({ code: err instanceof RateLimiterError ? err.code : 'internal' });
    };
    const counted = (input: CheckInput, hops: number): CheckAnswer => {
      let out: CheckAnswer;
      try {
        out = serve(input, hops);
      } catch (err) {
        failed(err);
        throw err;
      }
      if (out instanceof PendingAnswer) {
        const pending = out;
        pending.batch.onSettled((err) => (err === null ? answered(pending.output) : failed(err)));
        return pending;
      }
      if (out instanceof Promise) {
        return out.then(
          (o) => {
            answered(o);
            return o;
          },
          (err: unknown) => {
            failed(err);
            throw err;
          },
        );
      }
      answered(out);
      return out;
    };
    // A group not hosted here is reached through one of its replicas, which forwards to its leader.
    const serve = (input: CheckInput, hops: number): CheckAnswer => {
      const groupId = placement.slots.groupOf(slotOf(input.key));
      if (host.hosts(groupId)) return service.check(input, hops);
      if (hops > 0 || forwarder === null) throw new RateLimiterError('RL_ERR_UNAVAILABLE', `group ${groupId} is not hosted here`);
      const replicas = placement.replicasOf(groupId);
      service.counters.forwarded++;
      return forwarder.forward(replicas[slotOf(input.key) % replicas.length] as string, input, 1);
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
      isReady: () => placement.groupIds.every((g) => !host.hosts(g) || host.leaderOf(g) !== null),
      clusterView: () => node.clusterView(),
      metricsText: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
    };
    const api = new ApiServer({ host: options.listenHost, port: options.listenPort }, { service: apiService, logger: logger.child({ component: 'api' }) });
    const node: RlNode = new RlNode(options, logger, config, placement, storage, transport, host, service, api, forwarder, registry, skew);
    await node.open();
    return node;
  }

  private async open(): Promise<void> {
    const fresh = this.storage.groupIds().length === 0;
    for (const groupId of this.placement.groupIds) {
      const replicas = this.placement.replicasOf(groupId);
      if (!replicas.includes(this.options.id)) continue;
      const machine = new ShardMachine(this.config);
      this.machines.set(groupId, machine);
      await this.host.addGroup(groupId, { bootstrap: { voters: replicas.map(toNodeId), learners: [] }, stateMachine: machine });
      this.service.addGroup(groupId, machine);
    }
    this.peerPort = (await this.transport.start()).port;
    this.host.start();
    this.apiPort = (await this.api.start()).port;
    this.sweeper = setInterval(() => {
      for (const m of this.machines.values()) m.replica.sweep(SWEEP_SLOTS_PER_TICK);
    }, 1000);
    // Preferred leaders: each group's first replica leads it when it is up, so leaders (and
    // the work of deciding) spread evenly over nodes. At most one transfer per group per 10 s.
    this.balancer = setInterval(() => this.balanceLeaders(), 2000);
    if (fresh) {
      // Spread first leaders: the first replica of each group campaigns once peers are up.
      this.campaigner = setTimeout(() => {
        for (const groupId of this.machines.keys()) {
          const view = this.host.view(groupId);
          if (this.placement.replicasOf(groupId)[0] === this.options.id && view !== null && view.leader === null) this.host.campaign(groupId);
        }
      }, this.options.tickIntervalMs * 3);
    }
    this.logger.info({ api: `${this.options.listenHost}:${this.apiPort}`, peer: `${this.options.peerListenHost}:${this.peerPort}`, groups: this.machines.size }, 'node started');
  }

  /**
   * Once per 2 s: probe peer clocks; hand away every group this node leads when its clock
   * disagrees with every peer by more than maxClockSkewMs; else move each group to its
   * preferred (first) replica when that one is up and its clock agrees, so leaders spread
   * evenly. At most one transfer per group per 10 s, so a failing target is not retried in a loop.
   */
  private balanceLeaders(): void {
    const peers = Object.keys(this.options.peers);
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
        if (preferred !== undefined && preferred !== this.options.id && replicas.includes(preferred) && !this.skewedPeer(preferred)) target = preferred;
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

  clusterView(): unknown {
    return {
      node: this.options.id,
      nodes: [this.options.id, ...Object.keys(this.options.peers)].sort(),
      slotCount: SLOT_COUNT,
      slotMapVersion: this.placement.slots.version,
      configVersion: this.config.version,
      groups: this.placement.groupIds.map((groupId) => {
        const v = this.host.view(groupId);
        return {
          id: groupId,
          replicas: this.placement.replicasOf(groupId),
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

  /** Stops accepting, fails what is waiting, flushes storage and closes everything. */
  async stop(): Promise<void> {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    if (this.campaigner !== null) clearTimeout(this.campaigner);
    if (this.balancer !== null) clearInterval(this.balancer);
    await this.api.close();
    this.host.stop();
    this.forwarder.close();
    await this.transport.close();
    await this.storage.close();
    this.logger.info({}, 'node stopped');
  }
}
