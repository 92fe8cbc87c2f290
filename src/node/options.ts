/**
 * Options of one `rl-node` process, from command-line flags with environment variables
 * as fallbacks (flag > env > default), validated whole: every problem is reported, named
 * by its flag and its environment variable, before anything starts.
 */
import { Command, Option } from 'commander';

export type FsyncModeOption = 'always' | 'batch' | 'off';

export interface NodeOptions {
  readonly id: string;
  readonly listenHost: string;
  readonly listenPort: number;
  readonly peerListenHost: string;
  readonly peerListenPort: number;
  /** Other members: id → "host:port" of their peer listener. */
  readonly peers: Readonly<Record<string, string>>;
  readonly dataDir: string;
  readonly configPath: string;
  readonly clusterSecret: string;
  /** Shard groups in the cluster; every node must use the same number. */
  readonly groups: number;
  /** Replicas per group (at most the cluster size). */
  readonly replicationFactor: number;
  readonly fsync: FsyncModeOption;
  readonly tickIntervalMs: number;
  readonly electionTimeoutTicks: number;
  /** A node whose clock is off from every peer by more than this does not lead (hands groups away). */
  readonly maxClockSkewMs: number;
  readonly logLevel: string;
  /** Bearer token of the admin API (`/v1/config`, `/v1/admin/*`); undefined disables it (403). */
  readonly adminToken: string | undefined;
  /** When set, check endpoints (`/v1/check*`, `/v1/ws`) require it as a bearer token. */
  readonly clientToken: string | undefined;
  /**
   * Test only (chaos runs): added to every wall-clock read this node makes for decisions and
   * clock probes, to inject clock skew. 0 in production; never set it outside tests.
   */
  readonly clockOffsetMs: number;
  /**
   * API address (host:port) of a member to join through, for a node with empty storage:
   * it asks that member to add it to the cluster map instead of bootstrapping a cluster.
   * Ignored once the node has data. Needs the admin token.
   */
  readonly join?: string;
  /** Failure-domain label (rack, zone): the planner spreads each group's replicas over distinct zones when nodes carry them. */
  readonly zone?: string;
  /** Snapshot bytes this node streams to new replicas per second, all groups together (a replica move). */
  readonly snapshotSendBytesPerSecondMax: number;
  /** A replica move with no progress for this long is retargeted or rolled back by the planner. */
  readonly moveStallMsMax: number;
  /** A group whose leader reports more checks per second than this is split by the planner (0: never). */
  readonly splitChecksPerSecondMin: number;
  /** Shard groups the cluster may grow to by splits (the meta leader's planner and `rlctl group split` stop there). */
  readonly groupsMax: number;
}

interface Spec {
  readonly flag: string;
  readonly env: string;
  readonly description: string;
  readonly fallback?: string;
}

const SPECS: Record<string, Spec> = {
  id: { flag: '--id <id>', env: 'RL_ID', description: 'this node id (unique in the cluster)' },
  listen: { flag: '--listen <host:port>', env: 'RL_LISTEN', description: 'client API (HTTP and WebSocket) address', fallback: '127.0.0.1:7001' },
  peerListen: { flag: '--peer-listen <host:port>', env: 'RL_PEER_LISTEN', description: 'peer transport address', fallback: '127.0.0.1:7101' },
  peers: { flag: '--peers <list>', env: 'RL_PEERS', description: 'other members: id=host:port,... (their peer addresses)', fallback: '' },
  data: { flag: '--data <dir>', env: 'RL_DATA', description: 'data directory (LevelDB)' },
  config: { flag: '--config <file>', env: 'RL_CONFIG', description: 'rate-limit configuration (YAML or JSON)' },
  clusterSecret: { flag: '--cluster-secret <secret>', env: 'RL_CLUSTER_SECRET', description: 'shared secret peers authenticate with (prefer the env variable)' },
  groups: { flag: '--groups <n>', env: 'RL_GROUPS', description: 'shard groups in the cluster (same on every node)', fallback: '8' },
  replicationFactor: { flag: '--replication-factor <n>', env: 'RL_REPLICATION_FACTOR', description: 'replicas per group', fallback: '3' },
  fsync: { flag: '--fsync <mode>', env: 'RL_FSYNC', description: 'always | batch | off (see docs/storage.md)', fallback: 'batch' },
  tickMs: { flag: '--tick-ms <ms>', env: 'RL_TICK_MS', description: 'Raft tick interval', fallback: '50' },
  electionTicks: { flag: '--election-ticks <n>', env: 'RL_ELECTION_TICKS', description: 'Raft election timeout in ticks', fallback: '10' },
  maxClockSkewMs: { flag: '--max-clock-skew-ms <ms>', env: 'RL_MAX_CLOCK_SKEW_MS', description: 'clock offset to every peer above which this node gives up leadership', fallback: '250' },
  logLevel: { flag: '--log-level <level>', env: 'RL_LOG_LEVEL', description: 'pino level', fallback: 'info' },
  adminToken: { flag: '--admin-token <token>', env: 'RL_ADMIN_TOKEN', description: 'bearer token of the admin API; without it the admin API is disabled (prefer the env variable)', fallback: '' },
  clientToken: { flag: '--client-token <token>', env: 'RL_CLIENT_TOKEN', description: 'bearer token check endpoints require when set (prefer the env variable)', fallback: '' },
  join: { flag: '--join <host:port>', env: 'RL_JOIN', description: 'API address of a member to join through (a new node with empty storage; needs the admin token)', fallback: '' },
  zone: { flag: '--zone <name>', env: 'RL_ZONE', description: 'failure-domain label (rack, zone): replicas of a group spread over distinct zones', fallback: '' },
  snapshotMibPerS: { flag: '--snapshot-mib-per-s <n>', env: 'RL_SNAPSHOT_MIB_PER_S', description: 'snapshot MiB per second this node streams to new replicas (replica moves), all groups together', fallback: '32' },
  moveStallMs: { flag: '--move-stall-ms <ms>', env: 'RL_MOVE_STALL_MS', description: 'a replica move without progress for this long is retargeted or rolled back', fallback: '60000' },
  splitChecksPerS: { flag: '--split-checks-per-s <n>', env: 'RL_SPLIT_CHECKS_PER_S', description: 'split a group whose leader decides more checks per second than this (0: never)', fallback: '0' },
  groupsMax: { flag: '--groups-max <n>', env: 'RL_GROUPS_MAX', description: 'shard groups the cluster may grow to by splits', fallback: '256' },
  clockOffsetMs: { flag: '--clock-offset-ms <ms>', env: 'RL_CLOCK_OFFSET_MS', description: 'TEST ONLY: shifts this node\'s wall clock by this many ms (chaos runs inject skew with it)', fallback: '0' },
};

/**
 * Shortest accepted token: 16 bytes, the same floor as the cluster secret. A token is a
 * bearer credential; anything shorter is guessable.
 */
const TOKEN_BYTES_MIN = 16;

function hostPort(v: string, name: string, errors: string[]): [string, number] {
  const i = v.lastIndexOf(':');
  const port = Number(v.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    errors.push(`${name} must be host:port with a port from 0 to 65535 (got ${JSON.stringify(v)})`);
    return ['', 0];
  }
  return [v.slice(0, i), port];
}

function int(v: string, name: string, min: number, max: number, errors: string[]): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) errors.push(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(v)})`);
  return n;
}

/**
 * Parses `argv` (without node and script) and `env`. Throws a TypeError listing every
 * problem when anything is missing or invalid.
 *
 * @example
 * ```ts
 * const o = parseNodeOptions(['--id', 'n1', '--data', './data/n1', '--config', 'limits.yaml'], process.env);
 * ```
 */
export function parseNodeOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): NodeOptions {
  const cmd = new Command('rl-node').exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  for (const spec of Object.values(SPECS)) cmd.addOption(new Option(spec.flag, `${spec.description} [env ${spec.env}]`));
  cmd.parse([...argv], { from: 'user' });
  const flags = cmd.opts<Record<string, string | undefined>>();
  const errors: string[] = [];
  const get = (key: keyof typeof SPECS): string => {
    const spec = SPECS[key] as Spec;
    const v = flags[key] ?? env[spec.env] ?? spec.fallback;
    if (v === undefined || v === '') {
      if (spec.fallback === undefined) errors.push(`${spec.flag.split(' ')[0]} (or ${spec.env}) is required: ${spec.description}`);
      return '';
    }
    return v;
  };
  const id = get('id');
  if (id !== '' && !/^[A-Za-z0-9_.-]{1,64}$/.test(id)) errors.push(`--id must match [A-Za-z0-9_.-]{1,64} (got ${JSON.stringify(id)})`);
  const [listenHost, listenPort] = hostPort(get('listen'), '--listen', errors);
  const [peerListenHost, peerListenPort] = hostPort(get('peerListen'), '--peer-listen', errors);
  const peers: Record<string, string> = {};
  for (const part of get('peers').split(',').filter((p) => p.trim() !== '')) {
    const [pid, addr] = part.split('=');
    if (pid === undefined || addr === undefined || pid === '' || addr === '') {
      errors.push(`--peers entries must be id=host:port (got ${JSON.stringify(part)})`);
      continue;
    }
    hostPort(addr, `--peers ${pid}`, errors);
    if (pid === id) errors.push(`--peers must not list this node's own id ${JSON.stringify(id)}`);
    peers[pid.trim()] = addr.trim();
  }
  const fsync = get('fsync');
  if (fsync !== 'always' && fsync !== 'batch' && fsync !== 'off') errors.push(`--fsync must be always, batch or off (got ${JSON.stringify(fsync)})`);
  const groups = int(get('groups'), '--groups', 1, 4096, errors);
  const replicationFactor = int(get('replicationFactor'), '--replication-factor', 1, 7, errors);
  const tickIntervalMs = int(get('tickMs'), '--tick-ms', 1, 10_000, errors);
  const electionTimeoutTicks = int(get('electionTicks'), '--election-ticks', 3, 1000, errors);
  const maxClockSkewMs = int(get('maxClockSkewMs'), '--max-clock-skew-ms', 1, 60_000, errors);
  // ±1 h: far beyond any skew a test injects; a bigger value is a typo, not a test.
  const clockOffsetMs = int(get('clockOffsetMs'), '--clock-offset-ms', -3_600_000, 3_600_000, errors);
  const clusterSecret = get('clusterSecret');
  if (clusterSecret !== '' && Buffer.byteLength(clusterSecret) < 16) errors.push('--cluster-secret must be at least 16 bytes');
  const token = (key: 'adminToken' | 'clientToken', flag: string): string | undefined => {
    const v = get(key);
    if (v === '') return undefined;
    if (Buffer.byteLength(v) < TOKEN_BYTES_MIN || /\s/.test(v)) errors.push(`${flag} must be at least ${TOKEN_BYTES_MIN} bytes with no spaces`);
    return v;
  };
  const adminToken = token('adminToken', '--admin-token');
  const clientToken = token('clientToken', '--client-token');
  const dataDir = get('data');
  const configPath = get('config');
  const join = get('join');
  if (join !== '') {
    hostPort(join, '--join', errors);
    if (adminToken === undefined) errors.push('--join needs --admin-token (or RL_ADMIN_TOKEN): joining is an admin write on the seed');
  }
  const zone = get('zone');
  if (zone !== '' && !/^[A-Za-z0-9_.-]{1,64}$/.test(zone)) errors.push(`--zone must match [A-Za-z0-9_.-]{1,64} (got ${JSON.stringify(zone)})`);
  // 10 GiB/s: above any NIC this runs on; 1 MiB/s: below it a 100 MiB group takes minutes to move.
  const snapshotMibPerS = int(get('snapshotMibPerS'), '--snapshot-mib-per-s', 1, 10_240, errors);
  // 1 s .. 1 h: a move needs at least an election round and a snapshot; an hour is a typo.
  const moveStallMsMax = int(get('moveStallMs'), '--move-stall-ms', 1000, 3_600_000, errors);
  const splitChecksPerSecondMin = int(get('splitChecksPerS'), '--split-checks-per-s', 0, 100_000_000, errors);
  // At most one group per slot (SLOT_COUNT, 4096).
  const groupsMax = int(get('groupsMax'), '--groups-max', 1, 4096, errors);
  if (errors.length > 0) throw new TypeError(`Cannot start rl-node:\n  ${errors.join('\n  ')}`);
  return {
    id,
    listenHost,
    listenPort,
    peerListenHost,
    peerListenPort,
    peers,
    dataDir,
    configPath,
    clusterSecret,
    groups,
    replicationFactor,
    fsync: fsync as FsyncModeOption,
    tickIntervalMs,
    electionTimeoutTicks,
    maxClockSkewMs,
    logLevel: get('logLevel'),
    adminToken,
    clientToken,
    clockOffsetMs,
    ...(join === '' ? {} : { join }),
    ...(zone === '' ? {} : { zone }),
    snapshotSendBytesPerSecondMax: snapshotMibPerS * 1024 * 1024,
    moveStallMsMax,
    splitChecksPerSecondMin,
    groupsMax,
  };
}
