import { mixHash } from './hash.js';

/**
 * The safety properties of Raft (and of reads served on top of it), checked
 * incrementally: the cluster driver reports what each node does at the points where it
 * does it (a log write, a commit, an apply, a role change, a vote leaving the node, a
 * lease held at an instant), and each report is checked against a few global maps
 * instead of rescanning logs. Every check costs O(entries in the report), except the
 * leader-completeness check, which costs O(committed entries) once per new leader.
 *
 * Node ids are small non-negative integers; terms and indexes are plain numbers.
 */

export type InvariantName =
  | 'election-safety'
  | 'vote-safety'
  | 'persist-before-send'
  | 'leader-append-only'
  | 'log-matching'
  | 'leader-completeness'
  | 'state-machine-safety'
  | 'committed-durability'
  | 'monotonic'
  | 'config-safety'
  | 'lease-exclusive'
  | 'read-freshness'
  | 'liveness';

/** A broken invariant: the simulation stops and reports the seed. */
export class InvariantViolation extends Error {
  readonly code = 'SIM_INVARIANT_VIOLATED';
  constructor(
    readonly invariant: InvariantName,
    message: string,
  ) {
    super(`${invariant}: ${message}`);
    this.name = 'InvariantViolation';
  }
}

/** Throws the violation of `invariant`. */
export function fail(invariant: InvariantName, message: string): never {
  throw new InvariantViolation(invariant, message);
}

/** Position a log starts after: the last index covered by a snapshot (0 for none). */
export interface LogBase {
  readonly index: number;
  readonly term: number;
  /** Chain hash of the log up to `index` (0 for the empty log). */
  readonly chain: number;
}

/** What the checkers know of one entry: its term and a hash of its type and payload. */
export interface EntryFacts {
  readonly term: number;
  readonly hash: number;
}

export const EMPTY_LOG_BASE: LogBase = Object.freeze({ index: 0, term: 0, chain: 0 });

/** Chain hash of entry `i`, from the chain of `i - 1`: equal chains mean equal prefixes. */
export function chainNext(prevChain: number, entry: EntryFacts): number {
  return mixHash(prevChain, entry.term, entry.hash);
}

/**
 * What a node has written to its log (persisted or not yet), from its base on.
 * Invariant: terms never decrease along the log.
 */
export class LogMirror {
  private baseValue: LogBase;
  private readonly terms: number[] = [];
  private readonly hashes: number[] = [];
  private readonly chains: number[] = [];

  constructor(base: LogBase) {
    this.baseValue = base;
  }

  get base(): LogBase {
    return this.baseValue;
  }

  get lastIndex(): number {
    return this.baseValue.index + this.terms.length;
  }

  /** Term at `index`, or undefined if `index` is compacted away or past the end. */
  termAt(index: number): number | undefined {
    if (index === this.baseValue.index) return this.baseValue.term;
    return this.terms[index - this.baseValue.index - 1];
  }

  hashAt(index: number): number | undefined {
    return this.hashes[index - this.baseValue.index - 1];
  }

  chainAt(index: number): number | undefined {
    if (index === this.baseValue.index) return this.baseValue.chain;
    return this.chains[index - this.baseValue.index - 1];
  }

  /** Drops entries after `index` (keeps `index` itself). */
  truncateAfter(index: number): void {
    const keep = Math.max(0, index - this.baseValue.index);
    if (keep < this.terms.length) {
      this.terms.length = keep;
      this.hashes.length = keep;
      this.chains.length = keep;
    }
  }

  /** Appends one entry at `lastIndex + 1`; returns its chain hash. */
  append(entry: EntryFacts): number {
    const prevChain = this.chainAt(this.lastIndex) ?? 0;
    const chain = chainNext(prevChain, entry);
    this.terms.push(entry.term);
    this.hashes.push(entry.hash);
    this.chains.push(chain);
    return chain;
  }

  /** Replaces the whole log by a snapshot base. */
  resetTo(base: LogBase): void {
    this.baseValue = base;
    this.terms.length = 0;
    this.hashes.length = 0;
    this.chains.length = 0;
  }

  /** Moves the base forward to `index` (log compaction), keeping later entries. */
  compactTo(index: number): void {
    if (index <= this.baseValue.index) return;
    const term = this.termAt(index);
    const chain = this.chainAt(index);
    if (term === undefined || chain === undefined) {
      throw new Error(`Invariant: compaction index ${index} must be within the log (last ${this.lastIndex})`);
    }
    const drop = index - this.baseValue.index;
    this.terms.splice(0, drop);
    this.hashes.splice(0, drop);
    this.chains.splice(0, drop);
    this.baseValue = { index, term, chain };
  }
}

/** Persisted state of a node as found on its disk at restart. */
export interface RestartImage {
  readonly base: LogBase;
  readonly entries: readonly EntryFacts[];
  readonly term: number;
  readonly commit: number;
}

interface NodeTrack {
  incarnation: number;
  up: boolean;
  readonly mirror: LogMirror;
  /** Current term as last observed (this incarnation). */
  term: number;
  /** Term in which the node was last seen as leader at a log write, or -1. */
  leaderWriteTerm: number;
  hardTermWritten: number;
  hardCommitWritten: number;
  commit: number;
  applied: number;
}

/** Largest term the position key can hold; a simulation never gets near it. */
const TERM_LIMIT = 1 << 21;

/**
 * The Raft safety checker. Call its `observe*` methods from the cluster driver; each
 * throws `InvariantViolation` when what it is told breaks a property.
 */
export class SafetyChecker {
  private readonly nodes = new Map<number, NodeTrack>();
  private readonly leaderByTerm = new Map<number, number>();
  /** (index, term) → chain hash: log matching across every node and incarnation. */
  private readonly chainByPosition = new Map<number, number>();
  /** Granted votes: `term` → voter → candidate. */
  private readonly votes = new Map<number, Map<number, number>>();
  /** Committed log, 1-based: every index in [1, committedMax] is known. */
  private readonly committedTerms: number[] = [0];
  /** Term of the leader that first committed each index (index 0 unused). */
  private readonly committedInTerm: number[] = [];
  private readonly committedHashes: number[] = [0];
  /** State-machine digest after applying each committed index (sparse: set when first seen). */
  private readonly digestAt = new Map<number, number>();

  /** Highest index known committed. */
  get committedMax(): number {
    return this.committedTerms.length - 1;
  }

  committedTermAt(index: number): number | undefined {
    return index >= 1 ? this.committedTerms[index] : undefined;
  }

  /** Leader recorded for `term`, if any. */
  leaderOf(term: number): number | undefined {
    return this.leaderByTerm.get(term);
  }

  /** Highest term in which any leader was seen (0 if none). */
  get leaderTermMax(): number {
    let max = 0;
    for (const t of this.leaderByTerm.keys()) if (t > max) max = t;
    return max;
  }

  addNode(node: number, base: LogBase = EMPTY_LOG_BASE): void {
    if (this.nodes.has(node)) throw new Error(`Invariant: node ${node} added twice`);
    this.nodes.set(node, {
      incarnation: 0,
      up: true,
      mirror: new LogMirror(base),
      term: 0,
      leaderWriteTerm: -1,
      hardTermWritten: 0,
      hardCommitWritten: 0,
      commit: base.index,
      applied: base.index,
    });
  }

  private track(node: number): NodeTrack {
    const t = this.nodes.get(node);
    if (t === undefined) throw new Error(`Invariant: node ${node} is unknown to the checker`);
    return t;
  }

  /** The node's log as the checker sees it (for tests and the liveness phase). */
  mirrorOf(node: number): LogMirror {
    return this.track(node).mirror;
  }

  appliedOf(node: number): number {
    return this.track(node).applied;
  }

  crashed(node: number): void {
    const t = this.track(node);
    t.up = false;
    t.leaderWriteTerm = -1;
  }

  /**
   * A node starts again from what its disk holds. Everything its disk says is committed
   * must agree with the committed log: a committed entry may not vanish in a crash.
   */
  restarted(node: number, image: RestartImage): void {
    const t = this.track(node);
    t.incarnation++;
    t.up = true;
    t.leaderWriteTerm = -1;
    t.mirror.resetTo(image.base);
    for (const e of image.entries) this.appendChecked(node, t, e);
    if (image.commit > t.mirror.lastIndex) {
      fail(
        'committed-durability',
        `node ${node} restarts with commit ${image.commit} beyond its persisted log (last ${t.mirror.lastIndex})`,
      );
    }
    // The term may be below the last one written: a write lost in the crash was never
    // acted on (messages leave only after their state is persisted).
    t.term = image.term;
    t.hardTermWritten = image.term;
    t.hardCommitWritten = image.commit;
    t.commit = Math.max(image.commit, image.base.index);
    t.applied = image.base.index;
    this.checkAgainstCommitted(node, t, image.base.index + 1, image.commit);
  }

  /**
   * The node's current term and whether it is leader (observed after each event on it).
   * Election safety: at most one leader per term. Terms never go backwards within an
   * incarnation.
   */
  observeRole(node: number, term: number, isLeader: boolean): void {
    const t = this.track(node);
    if (term < t.term) {
      fail('monotonic', `node ${node} term went backwards from ${t.term} to ${term} (incarnation ${t.incarnation})`);
    }
    t.term = term;
    if (!isLeader) return;
    const other = this.leaderByTerm.get(term);
    // Leader completeness is checked at the leader's first log write of the term, when
    // its whole log (including entries not yet handed out for writing) is visible.
    if (other === undefined) this.leaderByTerm.set(term, node);
    else if (other !== node) {
      fail('election-safety', `nodes ${other} and ${node} are both leader in term ${term}`);
    }
  }

  /** A granted (real, not pre-) vote leaves `voter` for `candidate` in `term`. One per voter and term. */
  observeVoteGranted(voter: number, term: number, candidate: number): void {
    let byVoter = this.votes.get(term);
    if (byVoter === undefined) {
      byVoter = new Map();
      this.votes.set(term, byVoter);
    }
    const prev = byVoter.get(voter);
    if (prev !== undefined && prev !== candidate) {
      fail('vote-safety', `node ${voter} voted for both ${prev} and ${candidate} in term ${term}`);
    }
    byVoter.set(voter, candidate);
  }

  /**
   * The node writes `entries` to its log starting at `firstIndex` (replacing any suffix
   * from there). `leaderTerm` is the term the node leads in when it issues the write, or
   * null if it is not leader.
   */
  observeLogWrite(node: number, firstIndex: number, entries: readonly EntryFacts[], leaderTerm: number | null): void {
    if (entries.length === 0) return;
    const t = this.track(node);
    const m = t.mirror;
    let start = firstIndex;
    let skip = 0;
    // Entries at or below the base are covered by a snapshot: they must agree with it.
    while (start <= m.base.index && skip < entries.length) {
      const e = entries[skip] as EntryFacts;
      if (start === m.base.index && e.term !== m.base.term) {
        fail('log-matching', `node ${node} writes term ${e.term} at ${start}, its snapshot has term ${m.base.term}`);
      }
      start++;
      skip++;
    }
    if (skip === entries.length) return;
    if (start > m.lastIndex + 1) {
      fail('log-matching', `node ${node} writes at ${start} leaving a gap after its last index ${m.lastIndex}`);
    }
    const continuing = leaderTerm !== null && t.leaderWriteTerm === leaderTerm;
    if (continuing && start <= m.lastIndex) {
      fail(
        'leader-append-only',
        `leader ${node} of term ${leaderTerm} overwrites its log from ${start} (last index ${m.lastIndex})`,
      );
    }
    m.truncateAfter(start - 1);
    for (let i = skip; i < entries.length; i++) this.appendChecked(node, t, entries[i] as EntryFacts);
    if (leaderTerm !== null && t.leaderWriteTerm !== leaderTerm) {
      t.leaderWriteTerm = leaderTerm;
      this.checkLeaderCompleteness(node, t, leaderTerm);
    } else if (leaderTerm === null) {
      t.leaderWriteTerm = -1;
    }
  }

  /** Notes that the node is (or is not) leader of `term` at a point where it wrote nothing. */
  observeLeaderStatus(node: number, leaderTerm: number | null): void {
    const t = this.track(node);
    if (leaderTerm === null) t.leaderWriteTerm = -1;
    else if (t.leaderWriteTerm !== leaderTerm) {
      t.leaderWriteTerm = leaderTerm;
      this.checkLeaderCompleteness(node, t, leaderTerm);
    }
  }

  private appendChecked(node: number, t: NodeTrack, e: EntryFacts): void {
    const m = t.mirror;
    const index = m.lastIndex + 1;
    const prevTerm = m.termAt(m.lastIndex) ?? 0;
    if (e.term < prevTerm) {
      fail('log-matching', `node ${node} log term decreases at ${index}: ${prevTerm} then ${e.term}`);
    }
    if (e.term >= TERM_LIMIT) throw new Error(`Invariant: term ${e.term} exceeds the checker's limit`);
    // A stale node may hold (and even write, from a delayed message of an old leader) an
    // entry that conflicts with the committed log: only committing or applying it is wrong.
    const chain = m.append(e);
    const key = index * TERM_LIMIT + e.term;
    const known = this.chainByPosition.get(key);
    if (known === undefined) this.chainByPosition.set(key, chain);
    else if (known !== chain) {
      fail('log-matching', `node ${node} has an entry at index ${index} term ${e.term} whose log prefix differs from another node's`);
    }
  }

  /** The node installs a snapshot as its log base (snapshot from a leader, or at restart). */
  observeSnapshotInstall(node: number, base: LogBase, digest: number): void {
    const t = this.track(node);
    this.checkCommittedPosition(node, base.index, base.term, 'installs a snapshot');
    const known = this.chainByPosition.get(base.index * TERM_LIMIT + base.term);
    if (known !== undefined && known !== base.chain) {
      fail('log-matching', `node ${node} installs a snapshot at ${base.index} term ${base.term} with a different log prefix`);
    }
    this.checkDigest(node, base.index, digest);
    t.mirror.resetTo(base);
    if (base.index > t.commit) t.commit = base.index;
    if (base.index < t.applied) {
      fail('monotonic', `node ${node} applies a snapshot at ${base.index} below its applied index ${t.applied}`);
    }
    t.applied = base.index;
  }

  /** The node compacts its log up to `index` (which it has applied). */
  observeCompaction(node: number, index: number): void {
    const t = this.track(node);
    if (index > t.applied) fail('state-machine-safety', `node ${node} compacts to ${index} beyond applied ${t.applied}`);
    t.mirror.compactTo(index);
  }

  /** The node writes a hard state: its term and commit never go backwards, even across restarts. */
  observeHardStateWrite(node: number, term: number, commit: number): void {
    const t = this.track(node);
    if (term < t.hardTermWritten) {
      fail('monotonic', `node ${node} persists term ${term} after term ${t.hardTermWritten}`);
    }
    if (commit < t.hardCommitWritten) {
      fail('monotonic', `node ${node} persists commit ${commit} after commit ${t.hardCommitWritten}`);
    }
    t.hardTermWritten = term;
    t.hardCommitWritten = commit;
  }

  /**
   * The node's commit index is `commit`. Entries up to it become part of the committed
   * log; they must agree with what is already there (log entries written first).
   */
  observeCommit(node: number, commit: number): void {
    const t = this.track(node);
    if (commit < t.commit) {
      fail('monotonic', `node ${node} commit went backwards from ${t.commit} to ${commit} (incarnation ${t.incarnation})`);
    }
    if (commit === t.commit) return;
    if (commit > t.mirror.lastIndex) {
      fail('log-matching', `node ${node} commits ${commit} beyond its last log index ${t.mirror.lastIndex}`);
    }
    const from = t.commit + 1;
    t.commit = commit;
    this.checkAgainstCommitted(node, t, from, commit);
  }

  private checkAgainstCommitted(node: number, t: NodeTrack, from: number, to: number): void {
    const m = t.mirror;
    for (let i = Math.max(from, m.base.index + 1); i <= to; i++) {
      const term = m.termAt(i);
      const hash = m.hashAt(i);
      if (term === undefined || hash === undefined) {
        fail('committed-durability', `node ${node} counts index ${i} committed but does not hold it`);
      }
      if (i <= this.committedMax) {
        if (this.committedTerms[i] !== term || this.committedHashes[i] !== hash) {
          fail(
            'state-machine-safety',
            `node ${node} commits term ${term} at ${i}, but term ${this.committedTerms[i]} was committed there (or the payload differs)`,
          );
        }
      } else if (i === this.committedMax + 1) {
        this.committedTerms.push(term);
        this.committedHashes.push(hash);
        // The first node to report a commit is the leader that made it (followers learn
        // commits from its later messages), so its term is the entry's commit term.
        this.committedInTerm[i] = t.term;
      } else {
        // The node committed past entries that no node has reported committing; it must
        // hold them all, which the loop just checked, so record them in order.
        fail('committed-durability', `committed log would have a gap before ${i}`);
      }
    }
  }

  private checkCommittedPosition(node: number, index: number, term: number, what: string): void {
    if (index === 0) return;
    const known = this.committedTerms[index];
    if (known === undefined) fail('state-machine-safety', `node ${node} ${what} at ${index}, which is not known committed`);
    if (known !== term) fail('state-machine-safety', `node ${node} ${what} at ${index} term ${term}, committed term is ${known}`);
  }

  /**
   * The node applies entry `index` to its state machine, reaching state `digest`.
   * Applies are contiguous and only of committed entries, and every node reaches the
   * same state at the same index.
   */
  observeApply(node: number, index: number, entry: EntryFacts, digest: number): void {
    const t = this.track(node);
    if (index !== t.applied + 1) {
      fail('monotonic', `node ${node} applies index ${index} after ${t.applied} (must be contiguous)`);
    }
    if (index > t.commit) fail('state-machine-safety', `node ${node} applies ${index} beyond its commit ${t.commit}`);
    this.checkCommittedPosition(node, index, entry.term, 'applies an entry');
    if (this.committedHashes[index] !== entry.hash) {
      fail('state-machine-safety', `node ${node} applies a different payload at ${index} than was committed`);
    }
    t.applied = index;
    this.checkDigest(node, index, digest);
  }

  private checkDigest(node: number, index: number, digest: number): void {
    const known = this.digestAt.get(index);
    if (known === undefined) this.digestAt.set(index, digest);
    else if (known !== digest) {
      fail('state-machine-safety', `node ${node} state after index ${index} differs from another node's`);
    }
  }

  /**
   * Leader completeness: a leader of `term` holds every entry committed in an earlier term
   * (Raft's Leader Completeness: an entry committed in term T is in the log of every
   * leader of a term after T). An election of an older term can complete late, after a
   * newer term committed more; those commits are not owed to it (seed 1176856198, 5 nodes).
   */
  private checkLeaderCompleteness(node: number, t: NodeTrack, term: number): void {
    const m = t.mirror;
    let owed = this.committedMax;
    while (owed > 0 && (this.committedInTerm[owed] ?? 0) >= term) owed--;
    const last = Math.min(owed, m.lastIndex);
    if (owed > m.lastIndex) {
      fail(
        'leader-completeness',
        `leader ${node} of term ${term} has last index ${m.lastIndex} below index ${owed}, committed in an earlier term`,
      );
    }
    if (m.base.index > owed) return;
    for (let i = m.base.index + 1; i <= last; i++) {
      if (m.termAt(i) !== this.committedTerms[i] || m.hashAt(i) !== this.committedHashes[i]) {
        fail('leader-completeness', `leader ${node} of term ${term} lacks committed entry ${i}`);
      }
    }
  }
}

/**
 * Lease exclusivity: at no real instant do two nodes hold a valid lease. The driver
 * reports, after every step, which nodes hold one at the current real time.
 */
export class LeaseChecker {
  private lastInstantMs = -1;
  private lastHolder = -1;

  observe(realMs: number, holders: readonly number[]): void {
    if (holders.length > 1) {
      fail('lease-exclusive', `nodes ${holders.join(' and ')} hold a valid lease at real time ${realMs.toFixed(3)}ms`);
    }
    const h = holders[0];
    if (h !== undefined && realMs === this.lastInstantMs && this.lastHolder !== -1 && this.lastHolder !== h) {
      fail('lease-exclusive', `nodes ${this.lastHolder} and ${h} hold a valid lease at real time ${realMs.toFixed(3)}ms`);
    }
    if (realMs !== this.lastInstantMs) {
      this.lastInstantMs = realMs;
      this.lastHolder = -1;
    }
    if (h !== undefined) this.lastHolder = h;
  }
}

/**
 * Read freshness on a map of counters (each write adds one to its key): a read returns a
 * value at least as new as every write acknowledged before the read began.
 */
export class ReadChecker {
  private readonly ackedMax = new Map<string, number>();
  private readonly reads = new Map<number, { readonly key: string; readonly floor: number }>();

  /** A write to `key` is acknowledged; `valueAfter` is the counter right after it applied. */
  writeAcked(key: string, valueAfter: number): void {
    if (valueAfter > (this.ackedMax.get(key) ?? 0)) this.ackedMax.set(key, valueAfter);
  }

  readStarted(readId: number, key: string): void {
    this.reads.set(readId, { key, floor: this.ackedMax.get(key) ?? 0 });
  }

  /** Forgets a read that ended without an answer (error or crash). */
  readAbandoned(readId: number): void {
    this.reads.delete(readId);
  }

  readAcked(readId: number, value: number, how: string): void {
    const r = this.reads.get(readId);
    if (r === undefined) throw new Error(`Invariant: read ${readId} acknowledged but never started`);
    this.reads.delete(readId);
    if (value < r.floor) {
      fail(
        'read-freshness',
        `${how} read ${readId} of '${r.key}' returned ${value}, but a write acknowledged before it began had made it ${r.floor}`,
      );
    }
  }

  get openReads(): number {
    return this.reads.size;
  }
}

/** A membership configuration as the checker compares it: sorted voters and learners. */
export interface ConfView {
  readonly voters: readonly string[];
  readonly learners: readonly string[];
}

function confKey(c: ConfView): string {
  return `${[...c.voters].sort().join(',')}|${[...c.learners].sort().join(',')}`;
}

/**
 * Membership safety: configuration entries are committed one single-server change at a
 * time (voter sets of consecutive committed configurations differ by at most one node),
 * and a snapshot carries the configuration committed as of its index.
 */
export class ConfigChecker {
  /** Committed configuration entries, in index order. */
  private readonly indexes: number[] = [];
  private readonly confs: string[] = [];
  private readonly views: ConfView[] = [];

  /** A node applies the configuration entry at `index`. */
  observeApplied(node: number, index: number, conf: ConfView): void {
    const key = confKey(conf);
    const at = this.find(index);
    if (at >= 0 && this.indexes[at] === index) {
      if (this.confs[at] !== key) fail('config-safety', `node ${node} applies configuration ${key} at ${index}, another node ${this.confs[at]}`);
      return;
    }
    const prev = at >= 0 ? this.views[at] : undefined;
    if (prev !== undefined) {
      const added = conf.voters.filter((v) => !prev.voters.includes(v)).length;
      const removed = prev.voters.filter((v) => !conf.voters.includes(v)).length;
      if (added + removed > 1) {
        fail('config-safety', `configuration at ${index} (${key}) changes ${added + removed} voters at once after ${confKey(prev)}`);
      }
    }
    this.indexes.splice(at + 1, 0, index);
    this.confs.splice(at + 1, 0, key);
    this.views.splice(at + 1, 0, conf);
  }

  /** A snapshot at `index` (installed or taken) carries configuration `conf`. */
  observeSnapshotConf(node: number, index: number, conf: ConfView): void {
    const at = this.find(index);
    if (at < 0) return;
    const key = confKey(conf);
    if (this.confs[at] !== key) {
      fail('config-safety', `node ${node} has a snapshot at ${index} with configuration ${key}, but ${this.confs[at]} was committed at ${this.indexes[at]}`);
    }
  }

  /** Position of the last configuration entry at or below `index`, or -1. */
  private find(index: number): number {
    let lo = 0;
    let hi = this.indexes.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((this.indexes[mid] as number) <= index) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }
}
