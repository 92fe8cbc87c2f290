/**
 * An in-process test network of Raft nodes over `MemoryStorage`: carries out Ready
 * batches exactly as the ordering rule says, delivers messages in FIFO order, and can
 * partition, drop, crash and restart nodes. Used by unit tests and the script interpreter.
 */
import {
  MemoryStorage,
  createRaftNode,
  createSeededPrng,
  decodeConfChangeEntry,
  toNodeId,
} from '../../../raft/index.js';
import type { Entry, Message, NodeId, RaftNode, RaftOptions, ReadState } from '../../../raft/index.js';

export type NodeOptions = Omit<RaftOptions, 'id'>;

export interface Member {
  readonly id: NodeId;
  node: RaftNode;
  storage: MemoryStorage;
  options: NodeOptions;
  /** Data of applied `normal` entries (UTF-8 decoded), in order; no-ops skipped. */
  applied: string[];
  appliedEntries: Entry[];
  readStates: ReadState[];
  /** A paused node neither ticks, steps nor processes Readies (a GC pause, a stopped VM). */
  paused: boolean;
  down: boolean;
}

const decoder = new TextDecoder();

export function text(data: Uint8Array): string {
  return decoder.decode(data);
}

export function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function fmtEntry(e: Entry): string {
  if (e.type === 'confChange') {
    const d = decodeConfChangeEntry(e.data);
    const what = d.change === null ? 'bootstrap' : `${d.change.type} ${d.change.nodeId}`;
    return `${e.index}/${e.term} conf(${what})`;
  }
  return e.data.byteLength === 0 ? `${e.index}/${e.term} noop` : `${e.index}/${e.term} "${text(e.data)}"`;
}

export function fmtMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} t${m.term}`;
  switch (m.type) {
    case 'appendEntries':
      return `${head} prev=${m.prevLogIndex}/${m.prevLogTerm} commit=${m.commit} [${m.entries.map(fmtEntry).join(', ')}]`;
    case 'appendEntriesResponse':
      return m.reject ? `${head} reject index=${m.index} hint=${m.hintIndex}/${m.hintTerm}` : `${head} index=${m.index}`;
    case 'heartbeat':
      return `${head} commit=${m.commit} seq=${m.seq}`;
    case 'heartbeatResponse':
      return `${head} seq=${m.seq}`;
    case 'requestVote':
      return `${head} last=${m.lastLogIndex}/${m.lastLogTerm}${m.transfer ? ' transfer' : ''}`;
    case 'requestPreVote':
      return `${head} last=${m.lastLogIndex}/${m.lastLogTerm}`;
    case 'requestVoteResponse':
    case 'requestPreVoteResponse':
      return `${head} ${m.granted ? 'granted' : 'rejected'}`;
    case 'installSnapshot':
      return `${head} snap=${m.meta.index}/${m.meta.term} voters=${m.meta.confState.voters.join(',')} learners=${m.meta.confState.learners.join(',')} offset=${m.offsetBytes} len=${m.data.byteLength}${m.last ? ' last' : ''}`;
    case 'installSnapshotResponse':
      return `${head} snap=${m.snapshotIndex}/${m.snapshotTerm} next=${m.nextOffsetBytes}`;
    case 'timeoutNow':
      return head;
  }
}

export interface NetOptions {
  readonly seed?: number;
  readonly nodeOptions?: NodeOptions;
  /** Receives a line per delivered message, etc. */
  readonly trace?: (line: string) => void;
}

export class TestNet {
  readonly members = new Map<string, Member>();
  inflight: Message[] = [];
  private readonly blocked = new Set<string>();
  private readonly trace: (line: string) => void;
  private seed: number;
  private readonly defaults: NodeOptions;

  constructor(options: NetOptions = {}) {
    this.seed = options.seed ?? 1;
    this.defaults = options.nodeOptions ?? {};
    this.trace = options.trace ?? (() => undefined);
  }

  /** A new group whose initial voters are `voters`, all bootstrapped. */
  static bootstrap(voters: readonly string[], options: NetOptions = {}): TestNet {
    const net = new TestNet(options);
    const conf = { voters: voters.map(toNodeId), learners: [] };
    for (const v of voters) net.add(v, MemoryStorage.bootstrap(conf));
    return net;
  }

  add(id: string, storage: MemoryStorage = new MemoryStorage(), options: NodeOptions = {}): Member {
    const nid = toNodeId(id);
    const merged = { ...this.defaults, ...options };
    const node = createRaftNode({ id: nid, ...merged }, { storage, prng: createSeededPrng(this.seed++) });
    const m: Member = { id: nid, node, storage, options: merged, applied: [], appliedEntries: [], readStates: [], paused: false, down: false };
    this.members.set(id, m);
    return m;
  }

  get(id: string): Member {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`no node ${id}`);
    return m;
  }

  node(id: string): RaftNode {
    return this.get(id).node;
  }

  /** Carries out one Ready of `id`, if any; true when there was one. */
  processReady(id: string): boolean {
    const m = this.get(id);
    if (m.paused || m.down || !m.node.hasReady()) return false;
    const rd = m.node.ready();
    // Rule 1 then rule 2/3: this harness persists synchronously, so both message lists go out.
    m.storage.persist(rd);
    for (const msg of rd.messages) this.inflight.push(msg);
    for (const msg of rd.messagesAfterPersist) this.inflight.push(msg);
    if (rd.snapshot !== null) {
      m.applied = text(rd.snapshot.data) === '' ? [] : text(rd.snapshot.data).split('\n');
      m.appliedEntries = [];
    }
    for (const e of rd.committedEntries) {
      m.appliedEntries.push(e);
      if (e.type === 'normal' && e.data.byteLength > 0) m.applied.push(text(e.data));
    }
    for (const r of rd.readStates) m.readStates.push(r);
    m.node.advance(rd);
    return true;
  }

  processAll(): boolean {
    let any = false;
    for (const id of this.members.keys()) if (this.processReady(id)) any = true;
    return any;
  }

  private deliverable(msg: Message): boolean {
    const to = this.members.get(msg.to);
    const from = this.members.get(msg.from);
    if (to === undefined || to.down || from?.down === true) return false;
    return !this.blocked.has(`${msg.from}->${msg.to}`);
  }

  /** Delivers the messages in flight now (not those they cause); returns how many arrived. */
  deliver(filter: (m: Message) => boolean = () => true): number {
    const batch = this.inflight;
    this.inflight = [];
    let n = 0;
    for (const msg of batch) {
      if (!filter(msg)) {
        this.inflight.push(msg);
        continue;
      }
      const to = this.members.get(msg.to);
      if (to?.paused === true) {
        this.inflight.push(msg); // held in the network until the node resumes
        continue;
      }
      if (!this.deliverable(msg)) {
        this.trace(`dropped ${fmtMessage(msg)}`);
        continue;
      }
      this.trace(fmtMessage(msg));
      (to as Member).node.step(msg);
      n++;
    }
    return n;
  }

  /** Processes Readies and delivers messages until nothing moves (bounded). */
  stabilize(roundsMax = 10_000): void {
    for (let i = 0; i < roundsMax; i++) {
      const any = this.processAll();
      const pending = this.inflight.filter((m) => this.members.get(m.to)?.paused !== true).length;
      if (!any && pending === 0) return;
      this.deliver();
    }
    throw new Error(`stabilize: no quiescence after ${roundsMax} rounds`);
  }

  tick(id: string, n = 1): void {
    const m = this.get(id);
    if (m.paused || m.down) return;
    for (let i = 0; i < n; i++) m.node.tick();
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) for (const id of this.members.keys()) this.tick(id);
  }

  /** Cuts every link between the groups (and keeps links inside each group). */
  partition(...groups: readonly (readonly string[])[]): void {
    for (const a of groups) for (const b of groups) {
      if (a === b) continue;
      for (const x of a) for (const y of b) this.blocked.add(`${x}->${y}`);
    }
  }

  isolate(id: string): void {
    for (const other of this.members.keys()) {
      if (other === id) continue;
      this.blocked.add(`${id}->${other}`);
      this.blocked.add(`${other}->${id}`);
    }
  }

  cut(from: string, to: string): void {
    this.blocked.add(`${from}->${to}`);
  }

  heal(): void {
    this.blocked.clear();
  }

  /** Stops the node; its storage survives. Messages to it are lost. */
  crash(id: string): void {
    this.get(id).down = true;
  }

  /** Restarts a crashed node from its storage (applied state rebuilt from snapshot + log). */
  restart(id: string, options: NodeOptions = {}): Member {
    const old = this.get(id);
    const m = this.add(id, old.storage, { ...old.options, ...options });
    return m;
  }

  leader(): string | null {
    let found: string | null = null;
    for (const [id, m] of this.members) {
      if (!m.down && m.node.status().role === 'leader') {
        if (found === null || m.node.status().term > this.get(found).node.status().term) found = id;
      }
    }
    return found;
  }

  /** Makes `id` leader: campaign and stabilize. */
  elect(id: string): void {
    this.node(id).campaign();
    this.stabilize();
  }

  /** Ticks every node until `id` is leader or a bound is hit (for tests that need elapsed time). */
  proposeText(id: string, data: string): ReturnType<RaftNode['propose']> {
    return this.node(id).propose(bytes(data));
  }
}

/** A bootstrapped group whose first id is the elected leader, network quiet. */
export function electedNet(ids: readonly string[], options: NetOptions = {}): TestNet {
  const net = TestNet.bootstrap(ids, options);
  net.elect(ids[0] as string);
  if (net.leader() !== ids[0]) throw new Error(`electedNet: ${String(ids[0])} did not win`);
  return net;
}

/** A single node over a log with the given terms (index 1 is the bootstrap entry of term 1). */
export function storageWithLog(voters: readonly string[], terms: readonly number[], term: number, commit = 1): MemoryStorage {
  const s = MemoryStorage.bootstrap({ voters: voters.map(toNodeId), learners: [] });
  const entries: Entry[] = [];
  terms.forEach((t, k) => {
    if (k === 0) return;
    entries.push({ term: t as Entry['term'], index: (k + 1) as Entry['index'], type: 'normal', data: bytes(`e${k + 1}.${t}`) });
  });
  s.append(entries);
  s.setHardState({ term: term as Entry['term'], vote: null, commit: commit as Entry['index'] });
  return s;
}
