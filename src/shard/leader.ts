/**
 * The decision side of a shard group, run by its leader. Checks are decided against the
 * committed state plus an overlay of this leader's own pending (not yet committed)
 * mutations; allowed checks append their state mutation to the open batch, which the
 * host seals once per flush into one Raft entry. When an entry commits, its mutations
 * reach the committed store and leave the overlay; when leadership is lost, the overlay
 * and open batch are dropped (their checks get a retryable error from the host).
 *
 * A denial never changes state, so it is safe to answer at once, even from a stale
 * leader: its state holds a subset of the committed increments, so whatever it denies
 * the true state denies too.
 */
import { CHECK_RESOURCES_MAX } from '../protocol/limits.js';
import type { AlgorithmState } from '../engine/algorithm.js';
import { concurrencyExpiresAtMs, concurrencyRelease, type ConcurrencyState } from '../engine/concurrency.js';
import { evaluate, evaluateMulti, type CheckResult } from '../engine/evaluate.js';
import { StateStore, type StateAccess } from '../engine/store.js';
import type { AlgorithmName, RuleResolver, TimestampMs } from '../engine/types.js';
import { BatchEncoder, type DedupRecord } from './codec.js';
import type { ShardReplica } from './replica.js';

export interface ShardLeaderOptions {
  /**
   * Mutations in one batch at most. A full batch must be sealed before more checks are
   * decided (`batchFull`). 4096 mutations of ~60 bytes is ~250 KB: one Raft entry well
   * under the transport's frame limit, big enough to amortise an fsync.
   */
  readonly batchMutationsMax?: number;
  /** How long an idempotency record is remembered, in group time. [60 s] */
  readonly dedupTtlMs?: number;
}

export const DEFAULT_BATCH_MUTATIONS_MAX = 4096;
export const DEFAULT_DEDUP_TTL_MS = 60_000;

export interface CheckRequest {
  readonly key: string;
  /** One resource, or several for an atomic multi-resource check. */
  readonly resources: readonly string[];
  readonly cost: number;
  readonly tier: string | undefined;
  /** Caller's idempotency id (client id + sequence): a retry gets the first answer. */
  readonly idempotencyId: string | undefined;
}

export interface LeaderCheck {
  readonly result: CheckResult;
  /**
   * Sequence number of the batch holding this check's mutation: a strict check is
   * answered once that batch commits. Null when the check changed no state (a denial,
   * a peek, a blocked or unlimited rule) or repeats a remembered answer.
   */
  readonly batchSeq: number | null;
  /** True when the answer was remembered from an earlier check with the same idempotency id. */
  readonly deduplicated: boolean;
}

export interface SealedBatch {
  readonly seq: number;
  /** The Raft entry payload. */
  readonly data: Uint8Array;
  readonly mutationCount: number;
}

/** What a sealed batch wrote, kept so the leader can apply it by slot (see `applyOwn`). */
interface SealedRecord {
  readonly generation: number;
  readonly nowMs: TimestampMs;
  readonly slots: readonly number[];
  readonly shapes: string[];
  readonly algorithms: AlgorithmName[];
  readonly objects: (ConcurrencyState | null)[];
  /** Per mutation: expiresAtMs, a, b, c. */
  readonly numbers: Float64Array;
  readonly dedup: readonly DedupRecord[];
}

/**
 * Committed state below, this leader's pending (decided, uncommitted) states on top, in
 * the same slots of the replica's store (its pending layer): a decision costs one hash
 * look-up, and each changed (key, resource) joins the open batch once.
 */
class PendingAccess implements StateAccess {
  /** Slots changed since the last seal, each once. */
  batchSlots: number[] = [];
  /** Changes at every seal and reset: the `joinBatch` mark of the open batch. */
  epoch = 1;
  /** Writes ever made: a check changed state when this grew. */
  writes = 0;

  constructor(private readonly store: StateStore) {}

  get(key: string, resource: string, shape: string, algorithm: AlgorithmName): AlgorithmState | undefined {
    return this.store.getPending(key, resource, shape, algorithm);
  }

  set(key: string, resource: string, shape: string, algorithm: AlgorithmName, state: AlgorithmState, expiresAtMs: TimestampMs): void {
    this.writes++;
    const slot = this.store.setPending(key, resource, shape, algorithm, state, expiresAtMs);
    if (this.store.joinBatch(slot, this.epoch)) this.batchSlots.push(slot);
  }
}

/**
 * @example
 * ```ts
 * const leader = new ShardLeader(replica, config);
 * const { result, batchSeq } = leader.check({ key: 'user:42', resources: ['search'], cost: 1, tier: undefined, idempotencyId: undefined }, Date.now());
 * const sealed = leader.seal(); // once per event-loop turn: propose sealed.data to Raft
 * ```
 */
export class ShardLeader {
  private resolver: RuleResolver;
  private readonly access: PendingAccess;
  private readonly encoder = new BatchEncoder();
  /**
   * What each sealed batch wrote, by its payload object: when the entry comes back
   * committed on this leader, `applyOwn` sets the states by slot instead of decoding the
   * bytes and looking every key up again. Valid for one leadership (`generation`): after a
   * reset, slots may have been freed, so entries are decoded like any other.
   */
  private readonly sealedRecords = new WeakMap<Uint8Array, SealedRecord>();
  private generation = 0;
  private record: SealedRecord | null = null;
  private readonly addToBatch: Parameters<StateStore['visitPending']>[1];
  private readonly batchMutationsMax: number;
  private readonly dedupTtlMs: number;
  private pendingDedup: DedupRecord[] = [];
  /** Answers of idempotent checks not yet committed, by id, with the batch that carries them. */
  private readonly inflightDedup = new Map<string, { readonly record: DedupRecord; readonly seq: number }>();
  private nextSeq = 1;
  private clock = 0;

  constructor(
    private readonly replica: ShardReplica,
    resolver: RuleResolver,
    options: ShardLeaderOptions = {},
  ) {
    this.resolver = resolver;
    this.access = new PendingAccess(replica.store);
    this.addToBatch = (key, resource, shape, algorithm, expiresAtMs, a, b, c, concurrency) => {
      this.encoder.add(key, resource, shape, algorithm, expiresAtMs, a, b, c, concurrency);
      const r = this.record as SealedRecord;
      const i = r.shapes.length;
      r.shapes.push(shape);
      r.algorithms.push(algorithm);
      r.objects.push(concurrency);
      r.numbers[i * 4] = expiresAtMs;
      r.numbers[i * 4 + 1] = a;
      r.numbers[i * 4 + 2] = b;
      r.numbers[i * 4 + 3] = c;
    };
    this.batchMutationsMax = options.batchMutationsMax ?? DEFAULT_BATCH_MUTATIONS_MAX;
    this.dedupTtlMs = options.dedupTtlMs ?? DEFAULT_DEDUP_TTL_MS;
    if (!Number.isSafeInteger(this.batchMutationsMax) || this.batchMutationsMax < CHECK_RESOURCES_MAX) {
      throw new RangeError(`'batchMutationsMax' must be an integer of at least ${CHECK_RESOURCES_MAX} (got ${this.batchMutationsMax})`);
    }
    if (!Number.isSafeInteger(this.dedupTtlMs) || this.dedupTtlMs < 1) {
      throw new RangeError(`'dedupTtlMs' must be a positive integer (got ${this.dedupTtlMs})`);
    }
  }

  setResolver(resolver: RuleResolver): void {
    this.resolver = resolver;
  }

  /** Mutations waiting in the open batch. */
  get pendingMutations(): number {
    return this.access.batchSlots.length;
  }

  /** True when the open batch is at its cap and must be sealed before the next check. */
  get batchFull(): boolean {
    return this.access.batchSlots.length + CHECK_RESOURCES_MAX > this.batchMutationsMax;
  }

  /** (key, resource) states with uncommitted changes. */
  get overlaySize(): number {
    return this.replica.store.pendingCount;
  }

  /** Group time for a decision at local time `localNowMs`: never behind any applied batch or earlier decision. */
  groupTime(localNowMs: TimestampMs): TimestampMs {
    const t = Math.max(localNowMs, this.replica.maxAppliedTimeMs, this.clock);
    this.clock = t;
    return t;
  }

  /** Decides one check at local time `localNowMs`. Throws RL_ERR_UNKNOWN_RESOURCE. */
  check(req: CheckRequest, localNowMs: TimestampMs): LeaderCheck {
    if (req.resources.length > CHECK_RESOURCES_MAX) {
      throw new RangeError(`a check names at most ${CHECK_RESOURCES_MAX} resources (got ${req.resources.length})`);
    }
    const now = this.groupTime(localNowMs);
    if (req.idempotencyId !== undefined) {
      const inflight = this.inflightDedup.get(req.idempotencyId);
      if (inflight !== undefined) return { result: fromDedup(inflight.record), batchSeq: inflight.seq, deduplicated: true };
      const seen = this.replica.dedupLookup(req.idempotencyId, now);
      if (seen !== undefined) return { result: fromDedup(seen), batchSeq: null, deduplicated: true };
    }
    const before = this.access.writes;
    const result =
      req.resources.length === 1
        ? evaluate(this.access, this.resolver, req.key, req.resources[0] as string, req.cost, req.tier, now)
        : evaluateMulti(this.access, this.resolver, req.key, req.resources, req.cost, req.tier, now);
    const changed = this.access.writes > before;
    if (changed && req.idempotencyId !== undefined) {
      const record: DedupRecord = {
        id: req.idempotencyId,
        expiresAtMs: now + this.dedupTtlMs,
        allowed: result.allowed,
        limit: result.limit,
        remaining: result.remaining,
        resetMs: result.resetMs,
        retryAfterMs: result.retryAfterMs,
        rule: result.rule,
        leaseId: result.leaseId,
      };
      this.pendingDedup.push(record);
      this.inflightDedup.set(record.id, { record, seq: this.nextSeq });
    }
    return { result, batchSeq: changed ? this.nextSeq : null, deduplicated: false };
  }

  /** Releases a concurrency lease: a mutation like any other. Returns the batch to wait for, or null if nothing changed. */
  release(key: string, resource: string, leaseId: string, localNowMs: TimestampMs): number | null {
    const now = this.groupTime(localNowMs);
    const state = this.access.get(key, resource, 'concurrency', 'concurrency') as ConcurrencyState | undefined;
    const next = concurrencyRelease(state, leaseId, now);
    if (next === null) return null;
    this.access.set(key, resource, 'concurrency', 'concurrency', next, concurrencyExpiresAtMs(next));
    return this.nextSeq;
  }

  /**
   * Seals the open batch into one Raft entry payload, or returns null when it is empty.
   * The host proposes `data`; checks that returned this `seq` wait for it to commit.
   */
  seal(): SealedBatch | null {
    const slots = this.access.batchSlots;
    if (slots.length === 0) return null;
    const store = this.replica.store;
    this.encoder.begin(this.clock);
    const record: SealedRecord = {
      generation: this.generation,
      nowMs: this.clock,
      slots,
      shapes: [],
      algorithms: [],
      objects: [],
      numbers: new Float64Array(slots.length * 4),
      dedup: this.pendingDedup,
    };
    this.record = record;
    for (const slot of slots) store.visitPending(slot, this.addToBatch);
    this.record = null;
    const data = this.encoder.finish(this.pendingDedup);
    this.sealedRecords.set(data, record);
    const sealed = { seq: this.nextSeq++, data, mutationCount: slots.length };
    this.access.epoch++;
    this.access.batchSlots = [];
    this.pendingDedup = [];
    return sealed;
  }

  /**
   * Applies committed entry `index` to the replica if it is a batch this leader sealed in
   * its current leadership, by slot; returns the number of mutations, or -1 when the
   * entry is not one of those (then apply it with `replica.apply`).
   */
  applyOwn(index: number, data: Uint8Array): number {
    const r = this.sealedRecords.get(data);
    if (r === undefined || r.generation !== this.generation) return -1;
    this.sealedRecords.delete(data);
    return this.replica.applyKnown(index, r.nowMs, r.dedup, (store) => {
      const n = r.slots.length;
      for (let i = 0; i < n; i++) {
        const at = i * 4;
        store.setRawAt(
          r.slots[i] as number,
          r.shapes[i] as string,
          r.algorithms[i] as AlgorithmName,
          r.numbers[at] as number,
          r.numbers[at + 1] as number,
          r.numbers[at + 2] as number,
          r.numbers[at + 3] as number,
          r.objects[i] ?? null,
        );
      }
      return n;
    });
  }

  /**
   * Call after the replica applied a committed entry. (Pending states equal to the
   * committed ones were already resolved by the store as the entry applied.) Idempotency
   * records now replicated leave the in-flight table.
   */
  onApplied(mutationCount: number): void {
    if (this.inflightDedup.size > 0 && mutationCount > 0) {
      for (const [id] of this.inflightDedup) {
        if (this.replica.dedupLookup(id, this.clock) !== undefined) this.inflightDedup.delete(id);
      }
    }
  }

  /**
   * Leadership is gone: drop everything uncommitted. Entries already proposed may still
   * commit under the next leader; their idempotency records travel with them.
   */
  reset(): void {
    this.replica.store.clearPending();
    this.access.batchSlots = [];
    this.access.epoch++;
    this.generation++;
    this.pendingDedup = [];
    this.inflightDedup.clear();
  }
}

function fromDedup(d: DedupRecord): CheckResult {
  return {
    allowed: d.allowed,
    limit: d.limit,
    remaining: d.remaining,
    resetMs: d.resetMs,
    retryAfterMs: d.retryAfterMs,
    rule: d.rule,
    shadowDenied: false,
    leaseId: d.leaseId,
  };
}
