/**
 * The meta group's state machine (group 0): the same code on every node, voter or
 * learner. Applies commands in log order using nothing but the entry and its own state,
 * so every replica holds the same configuration version and cluster map at the same
 * index. The configuration is opaque text here; listeners (the node runtime) compile it.
 */
import type { Entry, NodeId, Role, SnapshotMeta, Term } from '../../raft/index.js';
import type { GroupStateMachine } from '../host/types.js';
import { applyFactorCommand, type ResourceFactor } from './factors.js';
import { decodeCommand, decodeSnapshot, encodeSnapshot, frameChunk, readFramedChunks } from './meta-codec.js';
import { applySplit, splitRefusal } from './split.js';
import { CONFIG_TEXT_BYTES_MAX, MAP_NODES_MAX, META_VOTERS_MAX, type ClusterMap, type ConfigDocument, type GroupPlacement, type LeaderHint, type MetaCommand, type MetaNode, type MetaOutcome } from './meta-types.js';

/**
 * Outcomes remembered for proposers to read, newest last. A proposer reads its outcome
 * right after its entry applies; 1024 covers any burst of admin writes between two
 * event-loop turns.
 */
const OUTCOMES_MAX = 1024;
/** Snapshot bytes accepted on restore: one document (4 MiB max) plus a small map. */
const SNAPSHOT_BYTES_MAX = CONFIG_TEXT_BYTES_MAX + 16 * 1024 * 1024;

export interface MetaListener {
  /** A new configuration version was applied (called inside apply/restore, in log order). */
  onConfig?(doc: ConfigDocument): void;
  /** The cluster map changed. */
  onMap?(map: ClusterMap): void;
  /**
   * The adaptive factors of `resources` changed at meta index `index` (inside apply, in log
   * order; a restored snapshot names every recorded resource, after onConfig).
   */
  onFactors?(resources: readonly string[], index: number): void;
  /** Any entry was applied (or a snapshot restored) up to `index`. */
  onApplied?(index: number): void;
  onRoleChange?(role: Role, leader: NodeId | null, term: Term): void;
}

/**
 * @example
 * ```ts
 * const meta = new MetaStateMachine();
 * meta.listen({ onConfig: (doc) => console.log('config version', doc.version) });
 * await host.addGroup(META_GROUP_ID, { bootstrap: { voters, learners }, stateMachine: meta });
 * ```
 */
export class MetaStateMachine implements GroupStateMachine {
  private applied = 0;
  private configDoc: ConfigDocument | null = null;
  private clusterMap: ClusterMap | null = null;
  private readonly hints = new Map<number, LeaderHint>();
  private readonly factorRecords = new Map<string, ResourceFactor>();
  private readonly outcomes = new Map<string, MetaOutcome>();
  private readonly listeners: MetaListener[] = [];
  role: Role = 'follower';
  leaderId: NodeId | null = null;
  term = 0;

  listen(listener: MetaListener): void {
    this.listeners.push(listener);
  }

  get config(): ConfigDocument | null {
    return this.configDoc;
  }

  get map(): ClusterMap | null {
    return this.clusterMap;
  }

  /** Leader hints by shard group id (the latest term reported wins). */
  leaderHints(): ReadonlyMap<number, LeaderHint> {
    return this.hints;
  }

  /** Adaptive factors by resource, as of the last applied index (factors.ts). */
  factors(): ReadonlyMap<string, ResourceFactor> {
    return this.factorRecords;
  }

  /** The outcome of the command with `requestId`, if it applied here recently. */
  outcome(requestId: string): MetaOutcome | undefined {
    return this.outcomes.get(requestId);
  }

  appliedIndex(): number {
    return this.applied;
  }

  apply(entry: Entry): void {
    // Invariant: entries come in order, each once (the host's contract).
    if (entry.index !== this.applied + 1) throw new Error(`meta apply out of order: entry ${entry.index} after ${this.applied}`);
    this.applied = entry.index;
    if (entry.type === 'normal' && entry.data.byteLength > 0) this.applyCommand(entry.index, decodeCommand(entry.data));
    for (const l of this.listeners) l.onApplied?.(entry.index);
  }

  private applyCommand(index: number, c: MetaCommand): void {
    const configVersion = this.configDoc?.version ?? 0;
    const mapVersion = this.clusterMap?.version ?? 0;
    let outcome: MetaOutcome;
    switch (c.t) {
      case 'config': {
        if (c.ifMatch !== null && c.ifMatch !== configVersion) {
          outcome = { status: 'conflict', index, configVersion, expected: c.ifMatch };
          break;
        }
        const doc: ConfigDocument = { version: configVersion + 1, format: c.format, text: c.text, index };
        this.configDoc = doc;
        outcome = { status: 'applied', index, configVersion: doc.version, mapVersion };
        for (const l of this.listeners) l.onConfig?.(doc);
        break;
      }
      case 'map': {
        if (this.clusterMap !== null) {
          outcome = { status: 'ignored', index, configVersion, mapVersion, why: 'a cluster map exists' };
          break;
        }
        this.setMap({ version: 1, ...c.map });
        outcome = { status: 'applied', index, configVersion, mapVersion: 1 };
        break;
      }
      case 'node': {
        const map = this.clusterMap;
        const known = map?.nodes.find((n) => n.id === c.node.id);
        if (map === null || known === undefined) {
          outcome = { status: 'ignored', index, configVersion, mapVersion, why: `node ${c.node.id} is not in the cluster map` };
          break;
        }
        if (known.peerAddress === c.node.peerAddress && known.apiAddress === c.node.apiAddress && known.zone === c.node.zone) {
          outcome = { status: 'ignored', index, configVersion, mapVersion, why: 'no change' };
          break;
        }
        // Addresses and zone only: a node re-registering keeps its draining mark.
        const readdress = (n: MetaNode): MetaNode => withZone({ ...n, peerAddress: c.node.peerAddress, apiAddress: c.node.apiAddress }, c.node.zone);
        this.setMap({ ...map, version: map.version + 1, nodes: map.nodes.map((n) => (n.id === c.node.id ? readdress(n) : n)) });
        outcome = { status: 'applied', index, configVersion, mapVersion: map.version + 1 };
        break;
      }
      case 'join':
      case 'drain':
      case 'remove':
      case 'place':
      case 'metaVoters':
      case 'groupConf':
      case 'replicaLost':
        outcome = this.changeMap(index, configVersion, (map) => mapChangeRefusal(map, c), (map) => applyMapChange(map, c));
        break;
      case 'splitBegin':
      case 'split':
        outcome = this.changeMap(index, configVersion, (map) => splitRefusal(map, c), (map) => applySplit(map, c, index));
        break;
      case 'hint': {
        const cur = this.hints.get(c.groupId);
        if (cur !== undefined && cur.term > c.hint.term) {
          outcome = { status: 'ignored', index, configVersion, mapVersion, why: 'an older term' };
          break;
        }
        this.hints.set(c.groupId, c.hint);
        outcome = { status: 'applied', index, configVersion, mapVersion };
        break;
      }
      case 'factors':
      case 'freeze': {
        const r = applyFactorCommand(this.factorRecords, c, index, configVersion);
        outcome = r.why === null ? { status: 'applied', index, configVersion, mapVersion } : { status: 'ignored', index, configVersion, mapVersion, why: r.why };
        if (r.changed.length > 0) for (const l of this.listeners) l.onFactors?.(r.changed, index);
        break;
      }
    }
    this.remember(c.requestId, outcome);
  }

  /**
   * A command that edits the cluster map: ignored without a map, when `refusal` names a
   * reason, or when `edit` changes nothing (null); else the edited map becomes the next version.
   */
  private changeMap(
    index: number,
    configVersion: number,
    refusal: (map: ClusterMap) => string | null,
    edit: (map: ClusterMap) => Omit<ClusterMap, 'version'> | null,
  ): MetaOutcome {
    const map = this.clusterMap;
    const mapVersion = map?.version ?? 0;
    const why = map === null ? 'no cluster map yet' : refusal(map);
    if (map === null || why !== null) return { status: 'ignored', index, configVersion, mapVersion, why: why ?? 'no cluster map yet' };
    const next = edit(map);
    if (next === null) return { status: 'ignored', index, configVersion, mapVersion, why: 'no change' };
    this.setMap({ ...next, version: map.version + 1 });
    return { status: 'applied', index, configVersion, mapVersion: map.version + 1 };
  }

  private setMap(map: ClusterMap): void {
    this.clusterMap = map;
    for (const l of this.listeners) l.onMap?.(map);
  }

  private remember(requestId: string, outcome: MetaOutcome): void {
    this.outcomes.delete(requestId);
    this.outcomes.set(requestId, outcome);
    if (this.outcomes.size > OUTCOMES_MAX) {
      const oldest = this.outcomes.keys().next();
      if (oldest.done !== true) this.outcomes.delete(oldest.value);
    }
  }

  async restore(meta: SnapshotMeta, data: AsyncIterable<Uint8Array>): Promise<void> {
    const chunks = await readFramedChunks(data, SNAPSHOT_BYTES_MAX);
    const first = chunks[0];
    if (chunks.length !== 1 || first === undefined) throw new Error(`meta snapshot must hold exactly one chunk (got ${chunks.length})`);
    const s = decodeSnapshot(first);
    const before = this.configDoc?.version ?? 0;
    this.applied = meta.index;
    this.configDoc = s.config;
    this.hints.clear();
    for (const [g, h] of s.hints) this.hints.set(g, h);
    // Factors before the listeners hear of the configuration: a node compiles both together.
    this.factorRecords.clear();
    for (const [r, f] of s.factors ?? []) this.factorRecords.set(r, f);
    if (s.map !== null) this.setMap(s.map);
    else this.clusterMap = null;
    if (s.config !== null && s.config.version !== before) for (const l of this.listeners) l.onConfig?.(s.config);
    const restored = [...this.factorRecords.keys()];
    for (const l of this.listeners) l.onFactors?.(restored, meta.index);
    for (const l of this.listeners) l.onApplied?.(meta.index);
  }

  *snapshotChunks(): Iterable<Uint8Array> {
    yield frameChunk(encodeSnapshot({ config: this.configDoc, map: this.clusterMap, hints: [...this.hints], factors: [...this.factorRecords] }));
  }

  onRoleChange(role: Role, leader: NodeId | null, term: Term): void {
    this.role = role;
    this.leaderId = leader;
    this.term = term;
    for (const l of this.listeners) l.onRoleChange?.(role, leader, term);
  }
}

type MapChange = Extract<MetaCommand, { t: 'join' | 'drain' | 'remove' | 'place' | 'metaVoters' | 'groupConf' | 'replicaLost' }>;

function distinct(ids: readonly string[]): boolean {
  return new Set(ids).size === ids.length;
}

/**
 * Why `c` may not apply to `map` (null: it may). Decided at apply, from the entry and the
 * map alone, so every replica refuses the same commands (the proposer checked too, and
 * answered the operator with a code; this is the linearization point).
 */
export function mapChangeRefusal(map: ClusterMap, c: MapChange): string | null {
  const known = new Set(map.nodes.map((n) => n.id));
  switch (c.t) {
    case 'join': {
      const cur = map.nodes.find((n) => n.id === c.node.id);
      if (cur !== undefined && cur.peerAddress !== c.node.peerAddress) return `node ${c.node.id} is already a member with peer address ${cur.peerAddress}`;
      if (cur === undefined && map.nodes.length >= MAP_NODES_MAX) return `the cluster map holds ${MAP_NODES_MAX} nodes already`;
      return null;
    }
    case 'drain':
      return known.has(c.nodeId) ? null : `node ${c.nodeId} is not a member`;
    case 'remove': {
      if (!known.has(c.nodeId)) return `node ${c.nodeId} is not a member`;
      if (map.metaVoters.includes(c.nodeId)) return `node ${c.nodeId} still votes in group 0`;
      const holding = groupsHolding(map, c.nodeId);
      return holding.length === 0 ? null : `node ${c.nodeId} still holds replicas of groups ${holding.join(', ')}`;
    }
    case 'place': {
      if (c.ifMapVersion !== map.version) return `the map changed (version ${map.version}, planned from ${c.ifMapVersion})`;
      if (!map.groups.some((g) => g.id === c.groupId)) return `no group ${c.groupId}`;
      if (c.replicas.length === 0 || !distinct(c.replicas) || !c.replicas.every((r) => known.has(r))) return 'replicas must be distinct members';
      return null;
    }
    case 'metaVoters': {
      if (c.ifMapVersion !== map.version) return `the map changed (version ${map.version}, planned from ${c.ifMapVersion})`;
      if (c.voters.length === 0 || c.voters.length > META_VOTERS_MAX || !distinct(c.voters) || !c.voters.every((r) => known.has(r))) {
        return `meta voters must be 1 to ${META_VOTERS_MAX} distinct members`;
      }
      return null;
    }
    case 'groupConf': {
      const g = map.groups.find((x) => x.id === c.groupId);
      if (g === undefined) return `no group ${c.groupId}`;
      if (g.current !== undefined && c.conf.index <= g.current.index) return 'an older membership report';
      return null;
    }
    case 'replicaLost': {
      const g = map.groups.find((x) => x.id === c.groupId);
      if (g === undefined) return `no group ${c.groupId}`;
      if (!groupsHolding({ groups: [g] }, c.nodeId).includes(g.id)) return `node ${c.nodeId} holds no replica of group ${c.groupId}`;
      return null;
    }
  }
}

/** Groups whose target or current membership includes `nodeId`. */
export function groupsHolding(map: Pick<ClusterMap, 'groups'>, nodeId: string): number[] {
  return map.groups
    .filter((g) => g.replicas.includes(nodeId) || (g.current !== undefined && (g.current.voters.includes(nodeId) || g.current.learners.includes(nodeId))))
    .map((g) => g.id);
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The map after `c` (without its version), or null when `c` changes nothing. */
function applyMapChange(map: ClusterMap, c: MapChange): Omit<ClusterMap, 'version'> | null {
  switch (c.t) {
    case 'join': {
      const cur = map.nodes.find((n) => n.id === c.node.id);
      if (cur !== undefined) {
        if (cur.apiAddress === c.node.apiAddress && cur.zone === c.node.zone) return null;
        return { ...map, nodes: map.nodes.map((n) => (n.id === c.node.id ? withZone({ ...n, apiAddress: c.node.apiAddress }, c.node.zone) : n)) };
      }
      const node: MetaNode = withZone({ id: c.node.id, peerAddress: c.node.peerAddress, apiAddress: c.node.apiAddress }, c.node.zone);
      return { ...map, nodes: [...map.nodes, node].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) };
    }
    case 'drain': {
      const cur = map.nodes.find((n) => n.id === c.nodeId);
      if (cur === undefined || (cur.draining === true) === c.draining) return null;
      const changed = (n: MetaNode): MetaNode => (c.draining ? { ...n, draining: true } : withZone({ id: n.id, peerAddress: n.peerAddress, apiAddress: n.apiAddress }, n.zone));
      return { ...map, nodes: map.nodes.map((n) => (n.id === c.nodeId ? changed(n) : n)) };
    }
    case 'remove':
      return { ...map, nodes: map.nodes.filter((n) => n.id !== c.nodeId) };
    case 'place': {
      const g = map.groups.find((x) => x.id === c.groupId);
      if (g !== undefined && sameIds(g.replicas, c.replicas)) return null;
      // A group never reported keeps its old target as its known membership, so the replicas
      // that leave are still hosted (and counted) until its leader reports them gone.
      const moved = (x: GroupPlacement): GroupPlacement =>
        withLost({ ...x, replicas: [...c.replicas], current: x.current ?? { voters: [...x.replicas], learners: [], index: 0, term: 0 } }, (x.lost ?? []).filter((id) => c.replicas.includes(id)));
      return { ...map, groups: map.groups.map((x) => (x.id === c.groupId ? moved(x) : x)) };
    }
    case 'metaVoters':
      return sameIds(map.metaVoters, c.voters) ? null : { ...map, metaVoters: [...c.voters] };
    case 'groupConf':
      return { ...map, groups: map.groups.map((x) => (x.id === c.groupId ? { ...x, current: c.conf } : x)) };
    case 'replicaLost': {
      const g = map.groups.find((x) => x.id === c.groupId);
      const was = g?.lost ?? [];
      if (g === undefined || was.includes(c.nodeId) === c.lost) return null;
      const lost = c.lost ? [...was, c.nodeId].sort() : was.filter((id) => id !== c.nodeId);
      return { ...map, groups: map.groups.map((x) => (x.id === c.groupId ? withLost(x, lost) : x)) };
    }
  }
}

/** `n` with its zone set to `zone` (the field absent when none). */
function withZone(n: MetaNode, zone: string | undefined): MetaNode {
  const { zone: _was, ...rest } = n;
  return zone === undefined ? rest : { ...rest, zone };
}

/** `g` with its lost replicas set to `lost` (the field absent when none). */
function withLost(g: GroupPlacement, lost: readonly string[]): GroupPlacement {
  const { lost: _was, ...rest } = g;
  return lost.length === 0 ? rest : { ...rest, lost };
}
