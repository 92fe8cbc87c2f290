/**
 * The side effects the SDK performs, as injectable dependencies: a clock, timers, a random
 * source and `fetch`. Tests substitute a fake clock (deny-cache expiry) or a wrapping
 * `fetch` (config-version changes) without stubbing imports.
 */

/** A timer handle as both Node and fake timers return it. */
export type TimerHandle = { unref?: () => unknown } | number | object;

export interface ClientDeps {
  /** Milliseconds; monotonic enough for deadlines and cache expiry. */
  readonly clock: { nowMs(): number };
  readonly timers: {
    setTimeout(fn: () => void, ms: number): TimerHandle;
    clearTimeout(handle: TimerHandle): void;
  };
  /** Uniform in [0, 1): jitter only, never identity. */
  readonly random: () => number;
  readonly fetch: typeof globalThis.fetch;
}

/**
 * The real dependencies: `performance.now()`-based clock, Node timers (the topology poller
 * unrefs its own, so an idle client never holds the process open), `Math.random` and the global `fetch`.
 *
 * @example
 * ```ts
 * const deps = { ...realDeps(), clock: { nowMs: () => fakeNow } };
 * const client = createClient({ seeds: ['127.0.0.1:7001'], timeoutMs: 500 }, deps);
 * ```
 */
export function realDeps(): ClientDeps {
  return {
    clock: { nowMs: () => performance.now() },
    timers: {
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    },
    random: Math.random,
    fetch: (input, init) => globalThis.fetch(input, init),
  };
}
