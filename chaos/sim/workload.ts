import type { Entry, ProposeResult } from '../../raft/index.js';
import type { ClientHooks, SimCluster } from './cluster.js';
import { describeResult } from './describe.js';
import { InvariantViolation } from './invariants.js';
import type { ReadChecker, SafetyChecker } from './invariants.js';
import type { Prng } from './prng.js';
import type { WorkloadRates } from './schedule.js';
import { decodeWrite, encodeWrite } from './state-machine.js';

/**
 * The clients of the simulation. Each step they may send a write (a counter increment)
 * or a read (by lease or by ReadIndex) to the node they believe leads, or to a random
 * node. A write is acknowledged when the node that accepted it applies it; a read is
 * answered from the serving node's applied state. `ReadChecker` checks every answer.
 *
 * Every accepted proposal (client write or membership change) goes in the `ledger`, so the
 * liveness phase can require that each one is resolved: committed, or known never to
 * commit (the committed log holds another entry at its index), or dropped by the core
 * with a typed reason.
 */
export type ProposalFate = 'pending' | 'committed' | 'superseded';

export interface LedgerEntry {
  readonly opId: number;
  readonly node: number;
  readonly index: number;
  readonly term: number;
  readonly what: string;
}

export class ProposalLedger {
  private readonly accepted: LedgerEntry[] = [];
  droppedByCore = 0;
  notLeader = 0;

  record(opId: number, node: number, what: string, r: ProposeResult): void {
    if (r.type === 'accepted') this.accepted.push({ opId, node, index: r.index, term: r.term, what });
    else if (r.type === 'dropped') this.droppedByCore++;
    else this.notLeader++;
  }

  get acceptedCount(): number {
    return this.accepted.length;
  }

  /** Fates of every accepted proposal against the committed log. */
  fates(checker: SafetyChecker): { committed: number; superseded: number; pending: LedgerEntry[] } {
    let committed = 0;
    let superseded = 0;
    const pending: LedgerEntry[] = [];
    for (const p of this.accepted) {
      const term = checker.committedTermAt(p.index);
      if (term === undefined) pending.push(p);
      else if (term === p.term) committed++;
      else superseded++;
    }
    return { committed, superseded, pending };
  }
}

interface PendingWrite {
  readonly opId: number;
  readonly key: string;
  readonly term: number;
}

interface PendingRead {
  readonly readId: number;
  readonly key: string;
  /** Read index once confirmed; null while waiting for the ReadState. */
  index: number | null;
}

export interface WorkloadStats {
  writesAcked: number;
  writesLost: number;
  leaseReads: number;
  leaseReadsRefused: number;
  readIndexReads: number;
  readIndexIssued: number;
}

export class Workload implements ClientHooks {
  readonly ledger = new ProposalLedger();
  readonly stats: WorkloadStats = {
    writesAcked: 0,
    writesLost: 0,
    leaseReads: 0,
    leaseReadsRefused: 0,
    readIndexReads: 0,
    readIndexIssued: 0,
  };
  private opIdNext = 1;
  private readIdNext = 1;
  /** Per node: proposal index → the write waiting for it to apply there. */
  private readonly writesByNode = new Map<number, Map<number, PendingWrite>>();
  /** Per node: ReadIndex ctx → read waiting for confirmation or apply. */
  private readonly readsByNode = new Map<number, Map<string, PendingRead>>();
  /** Bound on reads waiting per node; older ones are abandoned (a client timeout). */
  private static readonly READS_PENDING_MAX = 64;

  constructor(
    private readonly cluster: SimCluster,
    private readonly rates: WorkloadRates,
    private readonly keyCount: number,
    private readonly prng: Prng,
    private readonly reads: ReadChecker,
  ) {}

  /** The node a client sends to: the highest-term node that believes it leads, usually. */
  pickTarget(): number | null {
    const leader = this.cluster.likelyLeader();
    if (leader !== null && this.prng.chance(0.85)) return leader;
    const up = this.cluster.nodes.filter((n) => n.up);
    if (up.length === 0) return null;
    return this.prng.pick(up).num;
  }

  private idle = false;

  /** One step of client activity. */
  act(): void {
    if (this.prng.chance(this.rates.toggleIdle)) this.idle = !this.idle;
    if (this.idle) return;
    if (this.prng.chance(this.rates.write)) this.write();
    if (this.prng.chance(this.rates.leaseRead)) this.leaseRead();
    if (this.prng.chance(this.rates.readIndexRead)) this.readIndexRead();
  }

  private key(): string {
    return `k${this.prng.nextInt(this.keyCount)}`;
  }

  write(): number | null {
    const node = this.pickTarget();
    if (node === null) return null;
    const opId = this.opIdNext++;
    const key = this.key();
    const r = this.cluster.propose(node, encodeWrite({ opId, key }));
    if (r === null) return null;
    this.cluster.note(`client w${opId} ${key} -> n${node}: ${describeResult(r)}`);
    this.ledger.record(opId, node, `write w${opId}`, r);
    if (r.type === 'accepted') {
      let m = this.writesByNode.get(node);
      if (m === undefined) {
        m = new Map();
        this.writesByNode.set(node, m);
      }
      m.set(r.index, { opId, key, term: r.term });
      return r.index;
    }
    return null;
  }

  private leaseRead(): void {
    const node = this.pickTarget();
    if (node === null) return;
    const key = this.key();
    const readId = this.readIdNext++;
    this.reads.readStarted(readId, key);
    if (!this.cluster.leaseValid(node)) {
      this.reads.readAbandoned(readId);
      this.stats.leaseReadsRefused++;
      return;
    }
    const value = this.cluster.node(node).sm.valueOf(key);
    this.cluster.note(`client lease read r${readId} ${key} on n${node} = ${value}`);
    this.stats.leaseReads++;
    this.reads.readAcked(readId, value, 'lease');
  }

  private readIndexRead(): void {
    const node = this.pickTarget();
    if (node === null) return;
    const key = this.key();
    const readId = this.readIdNext++;
    const ctx = `r${readId}`;
    this.reads.readStarted(readId, key);
    let m = this.readsByNode.get(node);
    if (m === undefined) {
      m = new Map();
      this.readsByNode.set(node, m);
    }
    m.set(ctx, { readId, key, index: null });
    const r = this.cluster.readIndex(node, ctx);
    this.cluster.note(`client readIndex r${readId} ${key} on n${node}: ${r?.type ?? 'down'}`);
    if (r === null || r.type !== 'pending') {
      if (m.delete(ctx)) this.reads.readAbandoned(readId);
      return;
    }
    this.stats.readIndexIssued++;
    if (m.size > Workload.READS_PENDING_MAX) {
      const oldest = m.keys().next().value;
      if (oldest !== undefined) {
        const p = m.get(oldest);
        m.delete(oldest);
        if (p !== undefined) this.reads.readAbandoned(p.readId);
      }
    }
  }

  onApplied(node: number, entry: Entry, write: { readonly key: string; readonly value: number } | null): void {
    const waiting = this.writesByNode.get(node);
    const p = waiting?.get(entry.index);
    if (waiting !== undefined && p !== undefined) {
      waiting.delete(entry.index);
      if (entry.term === p.term) {
        if (write === null || decodeWrite(entry.data).opId !== p.opId) {
          throw new InvariantViolation(
            'state-machine-safety',
            `n${node} applied at ${entry.index}/t${entry.term} an entry other than the write w${p.opId} it accepted there`,
          );
        }
        this.stats.writesAcked++;
        this.cluster.note(`client w${p.opId} ACK ${write.key}=${write.value} by n${node}`);
        this.reads.writeAcked(write.key, write.value);
      } else {
        this.stats.writesLost++;
        this.cluster.note(`client w${p.opId} LOST (index ${entry.index} holds term ${entry.term})`);
      }
    }
    this.serveReads(node);
  }

  onReadState(node: number, ctx: string, index: number): void {
    const r = this.readsByNode.get(node)?.get(ctx);
    if (r === undefined) return;
    r.index = index;
    this.serveReads(node);
  }

  private serveReads(node: number): void {
    const m = this.readsByNode.get(node);
    if (m === undefined || m.size === 0) return;
    const sm = this.cluster.node(node).sm;
    for (const [ctx, r] of m) {
      if (r.index === null || r.index > sm.applied) continue;
      m.delete(ctx);
      const value = sm.valueOf(r.key);
      this.cluster.note(`client readIndex r${r.readId} ${r.key} on n${node} @${r.index} = ${value}`);
      this.stats.readIndexReads++;
      this.reads.readAcked(r.readId, value, 'ReadIndex');
    }
  }

  onNodeDown(node: number): void {
    // Writes in flight on a crashed node get no answer (their fate is settled by the
    // committed log, see ProposalLedger); reads waiting there are abandoned.
    this.writesByNode.delete(node);
    const m = this.readsByNode.get(node);
    if (m !== undefined) {
      for (const r of m.values()) this.reads.readAbandoned(r.readId);
      m.clear();
    }
  }
}
