/**
 * The check path of a node (ARCHITECTURE.md, "The path of one check"): hash the key to
 * its slot and group; on the group's leader decide against committed state plus the
 * pending overlay; seal each group's allowed mutations once per event-loop turn into one
 * Raft entry; answer `strict` checks once that entry is applied, `fast` checks at once
 * while the lease holds; denials at once. Elsewhere, forward to the leader.
 */
import type { MultiRaftHost } from '../../cluster/host/multi-raft-host.js';
import { FixedHistogram } from '../../storage/index.js';
import type { CompiledConfig } from '../config/index.js';
import type { CompiledRule } from '../engine/types.js';
import { toCheckOutput, type CheckInput, type CheckOutput } from '../protocol/check.js';
import { RateLimiterError } from '../protocol/errors.js';
import { slotOf } from '../protocol/slot.js';
import type { CheckResult } from '../engine/evaluate.js';
import { PendingAnswer, type BatchWait, type CheckAnswer } from './api/service.js';
import type { Forwarder } from './forwarder.js';
import type { ShardMachine } from './shard/shard-machine.js';

/** Where slots live: slot → group id, at a version that grows with every change (group splits). */
export interface SlotMap {
  readonly version: number;
  groupOf(slot: number): number;
}

interface GroupRuntime {
  readonly machine: ShardMachine;
  /** The batch checks are joining now (sealed at the end of the turn). */
  open: BatchWaiter | null;
  /** Sealed batches not yet applied, by seq: a retried idempotent check waits on its original's. */
  readonly sealed: Map<number, BatchWaiter>;
  flushScheduled: boolean;
  /** After a dropped proposal: decide again only once everything proposed before is applied. */
  fenceIndex: number;
  /** Checks this node decided as the group's leader (a load figure: splits, `rl_*` stats). */
  decided: number;
}

/**
 * Batches of a group proposed and not yet committed above which `fast` checks wait for
 * their batch (backpressure). A healthy group has one or two in flight.
 */
const FAST_UNCOMMITTED_BATCHES_MAX = 8;

/** Forwards a check may take: node without the group → replica → leader. */
export const MAX_FORWARD_HOPS = 2;

/** Batch-size buckets in mutations: a batch is capped by the leader's batch size (hundreds to thousands). */
export const BATCH_SIZE_BOUNDS: readonly number[] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

export interface CheckCounters {
  decided: number;
  forwarded: number;
  batches: number;
  mutations: number;
}

/**
 * The checks of one Raft batch wait here: each registers a listener, and the batch
 * settles once (applied, or failed with a retryable error) and calls them in order.
 * A frame of 100 strict checks thus costs listeners, not 100 promise chains.
 */
class BatchWaiter implements BatchWait {
  private listeners: ((err: Error | null) => void)[] = [];
  private outcome: Error | null | undefined = undefined;

  constructor(readonly seq: number) {}

  onSettled(listener: (err: Error | null) => void): void {
    if (this.outcome !== undefined) listener(this.outcome);
    else this.listeners.push(listener);
  }

  resolve(): void {
    this.settle(null);
  }

  reject(err: Error): void {
    this.settle(err);
  }

  private settle(outcome: Error | null): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome;
    const listeners = this.listeners;
    this.listeners = [];
    // A listener that throws is a bug in its owner; it must not keep the batch's other
    // checks from their answers.
    for (const l of listeners) {
      try {
        l(outcome);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

export class NodeCheckService {
  private readonly groups = new Map<number, GroupRuntime>();
  private rulesById = new Map<string, CompiledRule>();
  readonly counters: CheckCounters = { decided: 0, forwarded: 0, batches: 0, mutations: 0 };
  /** Mutations per proposed batch (one observation per batch). */
  readonly batchSizes = new FixedHistogram(BATCH_SIZE_BOUNDS);

  constructor(
    private readonly nodeId: string,
    private readonly host: MultiRaftHost,
    private readonly slots: SlotMap,
    private config: CompiledConfig,
    private forwarder: Forwarder | null,
    private readonly clock: { wallNowMs(): number },
  ) {
    this.indexRules();
  }

  setForwarder(forwarder: Forwarder): void {
    this.forwarder = forwarder;
  }

  addGroup(groupId: number, machine: ShardMachine): void {
    this.groups.set(groupId, { machine, open: null, sealed: new Map(), flushScheduled: false, fenceIndex: 0, decided: 0 });
  }

  /**
   * Stops deciding for `groupId` here (its replica moved off this node). Checks waiting on
   * its batches fail through the host (waiters rejected as unavailable: retryable).
   */
  removeGroup(groupId: number): void {
    this.groups.delete(groupId);
  }

  setConfig(config: CompiledConfig): void {
    this.config = config;
    this.indexRules();
    for (const g of this.groups.values()) g.machine.leader.setResolver(config);
  }

  private indexRules(): void {
    this.rulesById = new Map(this.config.rules.map((r) => [r.id, r]));
  }

  ruleWindowMs(rule: string): number | undefined {
    const r = this.rulesById.get(rule);
    return r === undefined ? undefined : r.periodMs > 0 ? r.periodMs : r.leaseMs > 0 ? r.leaseMs : undefined;
  }

  /**
   * Decides `input` here if this node leads its group, else forwards it to the leader.
   * Answers that need no waiting (denials, peeks, `fast` under a lease) come back
   * synchronously, so a frame of them costs no promise; throws RateLimiterError.
   */
  check(input: CheckInput, hops = 0): CheckAnswer {
    const slot = slotOf(input.key);
    const groupId = this.slots.groupOf(slot);
    const g = this.groups.get(groupId);
    if (g === undefined) throw new RateLimiterError('RL_ERR_UNAVAILABLE', `group ${groupId} is not hosted on node ${this.nodeId}`);
    if (!this.host.leaderReady(groupId, g.fenceIndex)) {
      // At most two hops (a node without the group → a replica → the leader), so a check
      // never circles while leadership moves; the caller retries on RL_ERR_NOT_LEADER.
      if (hops >= MAX_FORWARD_HOPS) {
        throw new RateLimiterError('RL_ERR_NOT_LEADER', `group ${groupId}: forwarded to a node that does not lead it`, {
          details: { groupId, leader: this.host.leaderOf(groupId) },
        });
      }
      return this.elsewhere(groupId, input, hops + 1);
    }
    if (g.machine.refuses(slot)) {
      // A split moves the slot (fenced), or moved it and this node's map is behind: never
      // admitted here. NOT_LEADER without a hint, so every SDK (old ones too) retries.
      throw new RateLimiterError('RL_ERR_NOT_LEADER', `group ${groupId}: slot ${slot} is moving to another group; retry`, { details: { groupId, slot, moving: true } });
    }
    g.decided++;
    if (g.machine.leader.batchFull) this.flush(groupId, g);
    const { result, batchSeq } = g.machine.leader.check(input, this.clock.wallNowMs());
    this.counters.decided++;
    if (batchSeq === null) return toCheckOutput(result);
    const wait = this.batchWaiter(groupId, g, batchSeq);
    // Fast: answered now, unless the group's uncommitted batches pile up (the node is
    // overloaded): then it waits for its batch like a strict check, which slows closed-loop
    // callers to what commits instead of starving the Raft traffic (heartbeats, leases).
    if (g.sealed.size < FAST_UNCOMMITTED_BATCHES_MAX && this.isFast(input, result) && this.host.leaseValid(groupId)) return toCheckOutput(result);
    if (wait === null) throw new RateLimiterError('RL_ERR_NOT_LEADER', `group ${groupId}: the batch of this check is no longer pending`);
    return new PendingAnswer(wait, toCheckOutput(result));
  }

  /** Checks decided here per led group since this node started hosting it (load figures). */
  decidedByGroup(): Map<number, number> {
    const out = new Map<number, number>();
    for (const [id, g] of this.groups) out.set(id, g.decided);
    return out;
  }

  /**
   * Proposes a split's control entry on `groupId`, which this node leads. With `fence`,
   * first seals the open batch and stops deciding for the fenced slots, all in this turn,
   * so every mutation of those slots precedes the fence in the log (docs/scale.md).
   */
  proposeControl(groupId: number, data: Uint8Array, fence?: { readonly splitId: number; readonly slots: readonly number[] }): ReturnType<MultiRaftHost['propose']> {
    const g = this.groups.get(groupId);
    if (g === undefined) throw new RateLimiterError('RL_ERR_UNAVAILABLE', `group ${groupId} is not hosted on node ${this.nodeId}`);
    if (fence !== undefined) {
      if (g.open !== null || g.machine.leader.pendingMutations > 0) this.flush(groupId, g);
      g.machine.preFence(fence.splitId, fence.slots);
    }
    return this.host.propose(groupId, data);
  }

  private elsewhere(groupId: number, input: CheckInput, hops: number): Promise<CheckOutput> {
    const leader = this.host.leaderOf(groupId);
    if (leader === null || this.forwarder === null) {
      throw new RateLimiterError('RL_ERR_NO_QUORUM', `group ${groupId} has no leader right now`, { details: { groupId } });
    }
    if (leader === this.nodeId) {
      throw new RateLimiterError('RL_ERR_UNAVAILABLE', `group ${groupId}: this node was just elected and is catching up`, { details: { groupId } });
    }
    this.counters.forwarded++;
    return this.forwarder.forward(leader, input, hops);
  }

  private isFast(input: CheckInput, result: CheckResult): boolean {
    if (input.resources.length === 1) return this.rulesById.get(result.rule)?.consistency === 'fast';
    // A multi-resource check is fast only when every rule it touches is.
    return input.resources.every((r) => this.config.resolve(input.key, r, input.tier)?.consistency === 'fast');
  }

  /** The waiter of batch `seq` of group `groupId` (open, so it is sealed this turn). */
  private batchWaiter(groupId: number, g: GroupRuntime, seq: number): BatchWaiter | null {
    const sealed = g.sealed.get(seq);
    if (sealed !== undefined) return sealed;
    if (g.open === null || g.open.seq !== seq) {
      if (g.open !== null) return null; // a batch already applied or abandoned
      g.open = new BatchWaiter(seq);
    }
    if (!g.flushScheduled) {
      g.flushScheduled = true;
      setImmediate(() => this.flush(groupId, g));
    }
    return g.open;
  }

  /** Seals the open batch into one Raft entry and proposes it. */
  private flush(groupId: number, g: GroupRuntime): void {
    g.flushScheduled = false;
    const open = g.open;
    g.open = null;
    const sealed = g.machine.leader.seal();
    if (sealed === null) {
      // Checks joined a batch that is gone: leadership changed and the overlay was reset.
      open?.reject(new RateLimiterError('RL_ERR_NOT_LEADER', `group ${groupId}: leadership changed before the batch was proposed`, { details: { groupId } }));
      return;
    }
    this.counters.batches++;
    this.counters.mutations += sealed.mutationCount;
    this.batchSizes.observe(sealed.mutationCount);
    let r;
    try {
      r = this.host.propose(groupId, sealed.data);
    } catch (err) {
      open?.reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (r.type !== 'accepted') {
      // The overlay holds mutations that will never commit: drop it, and decide again only
      // once every entry proposed before is applied (the overlay no longer counts them).
      g.machine.leader.reset();
      g.fenceIndex = this.host.lastIndex(groupId);
      const err =
        r.type === 'notLeader'
          ? new RateLimiterError('RL_ERR_NOT_LEADER', `group ${groupId}: leadership moved`, { details: { groupId, leader: r.leaderHint } })
          : new RateLimiterError('RL_ERR_UNAVAILABLE', `group ${groupId}: batch dropped (${r.reason})`, { details: { groupId } });
      open?.reject(err);
      return;
    }
    if (open === null) return;
    g.sealed.set(sealed.seq, open);
    // Answers go out once the batch is committed: they were decided before it was proposed,
    // so they need not wait for the leader to apply it (which can be one fsync later).
    this.host.waitCommitted(groupId, r).then(
      () => {
        g.sealed.delete(sealed.seq);
        open.resolve();
      },
      (err: Error) => {
        g.sealed.delete(sealed.seq);
        open.reject(err);
      },
    );
  }
}
