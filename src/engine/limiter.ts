/**
 * A complete in-process limiter: rule resolution, per-key state and the algorithms,
 * with a clock that never runs backwards. A shard leader runs the same check path
 * (`evaluate`) over its uncommitted overlay; this class is what the engine benchmark
 * measures and what the SDK's `local` degradation policy can run.
 */
import { concurrencyExpiresAtMs, concurrencyRelease, type ConcurrencyState } from './concurrency.js';
import { evaluate, evaluateMulti, type CheckResult, type MultiCheckResult } from './evaluate.js';
import { DEFAULT_SLOTS_MAX, NO_SLOT, StateStore, type StoredState } from './store.js';
import type { RuleResolver, TimestampMs } from './types.js';

export type { CheckResult, MultiCheckResult } from './evaluate.js';

export interface LimiterOptions {
  readonly resolver: RuleResolver;
  /** Bound on (key, resource) states held; see StateStore. */
  readonly slotsMax?: number;
}

const LIMITER_OPTION_NAMES: ReadonlySet<string> = new Set(['resolver', 'slotsMax']);

/**
 * @example
 * ```ts
 * const limiter = new Limiter({ resolver: loadConfigOrThrow('defaults: { limit: 10, period: 1s }') });
 * const r = limiter.check('user:42', 'search', 1, undefined, Date.now());
 * if (!r.allowed) respond429(r.retryAfterMs);
 * ```
 */
export class Limiter {
  private resolver: RuleResolver;
  private readonly store: StateStore;
  private clock = 0;

  constructor(options: LimiterOptions) {
    for (const name of Object.keys(options)) {
      if (!LIMITER_OPTION_NAMES.has(name)) throw new TypeError(`Unknown Limiter option '${name}'`);
    }
    this.resolver = options.resolver;
    this.store = new StateStore({ slotsMax: options.slotsMax ?? DEFAULT_SLOTS_MAX });
  }

  /** The latest time seen; checks stamped earlier are decided as if at this time. */
  get clockMs(): TimestampMs {
    return this.clock;
  }

  get configVersion(): number {
    return this.resolver.version;
  }

  /** (key, resource) pairs with state. */
  get stateCount(): number {
    return this.store.size;
  }

  /** Every held state, decoded (snapshots, tests). */
  states(): IterableIterator<StoredState> {
    return this.store.entries();
  }

  /** Switches to a new configuration. State carries over wherever the rule's state shape is unchanged. */
  setResolver(resolver: RuleResolver): void {
    this.resolver = resolver;
  }

  /**
   * Checks `cost` units of `resource` for `key`. Throws RL_ERR_UNKNOWN_RESOURCE when no
   * rule matches; a denial is a normal result.
   */
  check(key: string, resource: string, cost: number, tier: string | undefined, nowMs: TimestampMs): CheckResult {
    return evaluate(this.store, this.resolver, key, resource, cost, tier, this.tick(nowMs));
  }

  /** Checks several resources of one key atomically; see `evaluateMulti`. */
  checkMulti(key: string, resources: readonly string[], cost: number, tier: string | undefined, nowMs: TimestampMs): MultiCheckResult {
    return evaluateMulti(this.store, this.resolver, key, resources, cost, tier, this.tick(nowMs));
  }

  /** Releases a concurrency lease early. True if the lease was held. */
  release(key: string, resource: string, leaseId: string, nowMs: TimestampMs): boolean {
    const now = this.tick(nowMs);
    const slot = this.store.find(key, resource);
    if (slot === NO_SLOT || this.store.shapeOf(slot) !== 'concurrency') return false;
    const next = concurrencyRelease(this.store.read(slot, 'concurrency') as ConcurrencyState, leaseId, now);
    if (next === null) return false;
    this.store.write(slot, 'concurrency', 'concurrency', next, concurrencyExpiresAtMs(next));
    return true;
  }

  /** Drops expired state, visiting at most `slotsBudget` slots; see StateStore.sweep. */
  sweep(nowMs: TimestampMs, slotsBudget: number): number {
    return this.store.sweep(this.tick(nowMs), slotsBudget);
  }

  private tick(nowMs: TimestampMs): TimestampMs {
    if (nowMs > this.clock) this.clock = nowMs;
    return this.clock;
  }
}
