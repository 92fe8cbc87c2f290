/**
 * The meta group's state machine (group 0): the same code on every node, voter or
 * learner. Applies commands in log order using nothing but the entry and its own state,
 * so every replica holds the same configuration version and cluster map at the same
 * index. The configuration is opaque text here; listeners (the node runtime) compile it.
 */
import type { Entry, NodeId, Role, SnapshotMeta, Term } from '../../raft/index.js';
import type { GroupStateMachine } from '../host/types.js';
import { decodeCommand, decodeSnapshot, encodeSnapshot, frameChunk, readFramedChunks } from './meta-codec.js';
import { CONFIG_TEXT_BYTES_MAX, type ClusterMap, type ConfigDocument, type LeaderHint, type MetaCommand, type MetaOutcome } from './meta-types.js';

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
        if (known.peerAddress === c.node.peerAddress && known.apiAddress === c.node.apiAddress) {
          outcome = { status: 'ignored', index, configVersion, mapVersion, why: 'no change' };
          break;
        }
        this.setMap({ ...map, version: map.version + 1, nodes: map.nodes.map((n) => (n.id === c.node.id ? c.node : n)) });
        outcome = { status: 'applied', index, configVersion, mapVersion: map.version + 1 };
        break;
      }
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
    }
    this.remember(c.requestId, outcome);
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
    if (s.map !== null) this.setMap(s.map);
    else this.clusterMap = null;
    if (s.config !== null && s.config.version !== before) for (const l of this.listeners) l.onConfig?.(s.config);
    for (const l of this.listeners) l.onApplied?.(meta.index);
  }

  *snapshotChunks(): Iterable<Uint8Array> {
    yield frameChunk(encodeSnapshot({ config: this.configDoc, map: this.clusterMap, hints: [...this.hints] }));
  }

  onRoleChange(role: Role, leader: NodeId | null, term: Term): void {
    this.role = role;
    this.leaderId = leader;
    this.term = term;
    for (const l of this.listeners) l.onRoleChange?.(role, leader, term);
  }
}
