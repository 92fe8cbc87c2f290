import { TimedHeap } from './heap.js';
import type { Prng } from './prng.js';

/**
 * The simulated network, generic over the message type. Each `send` is dropped, or
 * queued for delivery after a random delay (which reorders messages), possibly more than
 * once (duplication). Links are directed: `block(a, b)` stops a→b and leaves b→a alone,
 * which is how asymmetric partitions are made. A blocked link drops messages both when
 * they are sent and when they would arrive (a cut link also loses what was in flight).
 *
 * Deterministic: every choice comes from the injected PRNG and deliveries due at the
 * same instant come out in send order.
 *
 * @example
 * ```ts
 * const net = new SimNetwork<string>(new Prng(1), { ...NETWORK_RELIABLE });
 * net.send(1, 2, 'hello', 0);
 * const next = net.popNext(); // { timeMs, from: 1, to: 2, message: 'hello', blocked: false }
 * ```
 */
export interface NetworkOptions {
  /** Probability that a message is lost, in [0, 1]. */
  readonly dropProbability: number;
  /** Probability that a message is delivered twice, in [0, 1]. */
  readonly duplicateProbability: number;
  /** Probability that a message takes an extra delay of up to `reorderDelayMsMax`, in [0, 1]. */
  readonly reorderProbability: number;
  readonly delayMsMin: number;
  readonly delayMsMax: number;
  readonly reorderDelayMsMax: number;
  /**
   * Bound on messages in flight; a send beyond it is dropped (counted as `overflow`).
   * 10k is far above what a 5-node cluster keeps in flight, so it only stops a runaway.
   */
  readonly inflightMessagesMax: number;
}

export const NETWORK_RELIABLE: NetworkOptions = Object.freeze({
  dropProbability: 0,
  duplicateProbability: 0,
  reorderProbability: 0,
  delayMsMin: 1,
  delayMsMax: 5,
  reorderDelayMsMax: 0,
  inflightMessagesMax: 10_000,
});

export interface Delivery<M> {
  readonly from: number;
  readonly to: number;
  readonly message: M;
  readonly sentAtMs: number;
  /** True if this copy is the duplicate of another. */
  readonly duplicate: boolean;
}

export type SendOutcome = 'queued' | 'duplicated' | 'dropped-partition' | 'dropped-random' | 'dropped-overflow';

export interface NetworkStats {
  sent: number;
  delivered: number;
  droppedPartition: number;
  droppedRandom: number;
  droppedOverflow: number;
  duplicated: number;
}

export class SimNetwork<M> {
  private optionsValue: NetworkOptions;
  private readonly queue = new TimedHeap<Delivery<M>>();
  /** Directed blocked links, encoded `from * LINK_STRIDE + to`. */
  private readonly blocked = new Set<number>();
  readonly stats: NetworkStats = {
    sent: 0,
    delivered: 0,
    droppedPartition: 0,
    droppedRandom: 0,
    droppedOverflow: 0,
    duplicated: 0,
  };

  constructor(
    private readonly prng: Prng,
    options: NetworkOptions,
  ) {
    this.optionsValue = validateNetworkOptions(options);
  }

  get options(): NetworkOptions {
    return this.optionsValue;
  }

  setOptions(options: NetworkOptions): void {
    this.optionsValue = validateNetworkOptions(options);
  }

  get inflightCount(): number {
    return this.queue.size;
  }

  /** Stops messages from `from` to `to` (one direction only). */
  block(from: number, to: number): void {
    this.blocked.add(linkKey(from, to));
  }

  unblock(from: number, to: number): void {
    this.blocked.delete(linkKey(from, to));
  }

  isBlocked(from: number, to: number): boolean {
    return this.blocked.has(linkKey(from, to));
  }

  /** Number of blocked directed links. */
  get blockedLinkCount(): number {
    return this.blocked.size;
  }

  /** Blocks every link between the two sides, both ways. */
  partition(sideA: readonly number[], sideB: readonly number[]): void {
    for (const a of sideA) {
      for (const b of sideB) {
        this.block(a, b);
        this.block(b, a);
      }
    }
  }

  /** Removes every blocked link. */
  healAll(): void {
    this.blocked.clear();
  }

  /** Drops every message in flight to or from `node`. */
  dropInflightOf(node: number): number {
    const n = this.queue.removeWhere((d) => d.from === node || d.to === node);
    this.stats.droppedPartition += n;
    return n;
  }

  send(from: number, to: number, message: M, nowMs: number): SendOutcome {
    const o = this.optionsValue;
    this.stats.sent++;
    if (this.isBlocked(from, to)) {
      this.stats.droppedPartition++;
      return 'dropped-partition';
    }
    // Draw the same number of values whatever the outcome, so one message's fate does
    // not shift the draws of every later message when probabilities change.
    const dropRoll = this.prng.nextFloat();
    const dupRoll = this.prng.nextFloat();
    const delay1 = this.drawDelay();
    const delay2 = this.drawDelay();
    if (dropRoll < o.dropProbability) {
      this.stats.droppedRandom++;
      return 'dropped-random';
    }
    if (this.queue.size >= o.inflightMessagesMax) {
      this.stats.droppedOverflow++;
      return 'dropped-overflow';
    }
    this.queue.push(nowMs + delay1, { from, to, message, sentAtMs: nowMs, duplicate: false });
    if (dupRoll < o.duplicateProbability && this.queue.size < o.inflightMessagesMax) {
      this.stats.duplicated++;
      this.queue.push(nowMs + delay2, { from, to, message, sentAtMs: nowMs, duplicate: true });
      return 'duplicated';
    }
    return 'queued';
  }

  /** Time of the next delivery, or undefined when nothing is in flight. */
  nextDueMs(): number | undefined {
    return this.queue.peek()?.timeMs;
  }

  /**
   * Removes the next delivery. `blocked` is true when its link is cut at arrival time:
   * the message is lost and must not be handed to the receiver.
   */
  popNext(): { readonly timeMs: number; readonly delivery: Delivery<M>; readonly blocked: boolean } | undefined {
    const top = this.queue.pop();
    if (top === undefined) return undefined;
    const blocked = this.isBlocked(top.item.from, top.item.to);
    if (blocked) this.stats.droppedPartition++;
    else this.stats.delivered++;
    return { timeMs: top.timeMs, delivery: top.item, blocked };
  }

  private drawDelay(): number {
    const o = this.optionsValue;
    const base = this.prng.intBetween(o.delayMsMin, o.delayMsMax);
    const reorderRoll = this.prng.nextFloat();
    const extra = this.prng.nextFloat() * o.reorderDelayMsMax;
    return reorderRoll < o.reorderProbability ? base + Math.floor(extra) : base;
  }
}

/**
 * Node ids must be integers in [0, LINK_STRIDE): a link is one number, so the blocked
 * set costs no string building on the per-message path.
 */
const LINK_STRIDE = 1 << 16;

function linkKey(from: number, to: number): number {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to < 0 || from >= LINK_STRIDE || to >= LINK_STRIDE) {
    throw new RangeError(`Network node ids must be integers in [0, ${LINK_STRIDE}) (got ${from} and ${to})`);
  }
  return from * LINK_STRIDE + to;
}

function validateNetworkOptions(o: NetworkOptions): NetworkOptions {
  const probs: (keyof NetworkOptions)[] = ['dropProbability', 'duplicateProbability', 'reorderProbability'];
  for (const k of probs) {
    const v = o[k];
    if (!(v >= 0 && v <= 1)) throw new RangeError(`Invalid network option: '${k}' must be in [0, 1] (got ${v})`);
  }
  if (!(Number.isInteger(o.delayMsMin) && o.delayMsMin >= 0 && Number.isInteger(o.delayMsMax) && o.delayMsMax >= o.delayMsMin)) {
    throw new RangeError(
      `Invalid network option: need integers 0 <= 'delayMsMin' <= 'delayMsMax' (got ${o.delayMsMin} and ${o.delayMsMax})`,
    );
  }
  if (!(o.reorderDelayMsMax >= 0)) {
    throw new RangeError(`Invalid network option: 'reorderDelayMsMax' must be >= 0 (got ${o.reorderDelayMsMax})`);
  }
  if (!(Number.isInteger(o.inflightMessagesMax) && o.inflightMessagesMax > 0)) {
    throw new RangeError(`Invalid network option: 'inflightMessagesMax' must be a positive integer (got ${o.inflightMessagesMax})`);
  }
  return Object.freeze({ ...o });
}
