/**
 * In-memory per-key state, one slot per (client key, resource) pair that has state.
 *
 * Layout is chosen for the hot path (see docs/benchmarks.md): the key index maps a
 * client key to a small integer slot, and the numbers of each state live in typed-array
 * columns. A check then costs one hash look-up and one read of a packed array, and no
 * state object outlives the check that made it, so the garbage collector never has to
 * promote or trace millions of small state objects. Resources of one key are chained
 * through `next`, so no combined "key + resource" string is ever built.
 */
import { RateLimiterError } from '../protocol/errors.js';
import type { AlgorithmState } from './algorithm.js';
import type { ConcurrencyState } from './concurrency.js';
import type { FixedWindowState } from './fixed-window.js';
import type { GcraState } from './gcra.js';
import type { SlidingWindowState } from './sliding-window.js';
import type { AlgorithmName, TimestampMs } from './types.js';

export interface StateStoreOptions {
  /**
   * Most (key, resource) slots held at once. The store refuses new ones beyond it
   * (RL_ERR_STATE_FULL) rather than grow without bound; idle state expires and frees room.
   */
  readonly slotsMax: number;
}

/** Default bound: 10M slots at ~100 bytes each is ~1 GB, the most one node should hold. */
export const DEFAULT_SLOTS_MAX = 10_000_000;
/** No slot: returned by `find` when (key, resource) has no state. */
export const NO_SLOT = -1;

const INITIAL_CAPACITY = 1024;

/**
 * Read and write access to per-(key, resource) state, as the check path needs it. The
 * StateStore implements it; a shard leader layers its uncommitted overlay on top.
 */
export interface StateAccess {
  /** The state of (key, resource) if a rule of `shape` wrote it, else undefined. */
  get(key: string, resource: string, shape: string, algorithm: AlgorithmName): AlgorithmState | undefined;
  /** Replaces the state of (key, resource). */
  set(key: string, resource: string, shape: string, algorithm: AlgorithmName, state: AlgorithmState, expiresAtMs: TimestampMs): void;
}

/** One record, decoded: what snapshots and tests read. */
export interface StoredState {
  readonly key: string;
  readonly resource: string;
  readonly shape: string;
  readonly algorithm: AlgorithmName;
  readonly state: AlgorithmState;
  readonly expiresAtMs: TimestampMs;
}

/**
 * @example
 * ```ts
 * const store = new StateStore({ slotsMax: 1000 });
 * store.put('user:42', 'search', 'gcra', 'gcra', { tatMs: 5, tatFrac: 0 }, 5);
 * const slot = store.find('user:42', 'search');
 * store.read(slot, 'gcra'); // { tatMs: 5, tatFrac: 0 }
 * ```
 */
export class StateStore implements StateAccess {
  private readonly index = new Map<string, number>();
  private readonly slotsMax: number;
  private capacity = INITIAL_CAPACITY;
  private used = 0;
  /** Slots below `highWater` have been handed out at least once. */
  private highWater = 0;
  private freeHead = NO_SLOT;
  private keys: (string | null)[] = new Array<string | null>(INITIAL_CAPACITY).fill(null);
  private resources: string[] = new Array<string>(INITIAL_CAPACITY).fill('');
  private shapes: string[] = new Array<string>(INITIAL_CAPACITY).fill('');
  private algorithms: AlgorithmName[] = new Array<AlgorithmName>(INITIAL_CAPACITY).fill('gcra');
  private objects: (ConcurrencyState | null)[] = new Array<ConcurrencyState | null>(INITIAL_CAPACITY).fill(null);
  private a = new Float64Array(INITIAL_CAPACITY);
  private b = new Float64Array(INITIAL_CAPACITY);
  private c = new Float64Array(INITIAL_CAPACITY);
  private expires = new Float64Array(INITIAL_CAPACITY);
  private next = new Int32Array(INITIAL_CAPACITY).fill(NO_SLOT);
  private sweepSlot = 0;
  /** The last (key, resource) `get` looked up and its slot: `set` right after skips the look-up. */
  private lastKey: string | null = null;
  private lastResource = '';
  private lastSlot = NO_SLOT;
  private pend: PendingColumns | null = null;

  constructor(options: StateStoreOptions = { slotsMax: DEFAULT_SLOTS_MAX }) {
    if (!Number.isSafeInteger(options.slotsMax) || options.slotsMax < 1 || options.slotsMax > 2 ** 31 - 1) {
      throw new RangeError(`'slotsMax' must be an integer from 1 to 2^31 - 1 (got ${options.slotsMax})`);
    }
    this.slotsMax = options.slotsMax;
  }

  /** (key, resource) slots held. */
  get size(): number {
    return this.used;
  }

  /** Client keys with at least one slot. */
  get keyCount(): number {
    return this.index.size;
  }

  /** The slot of (key, resource), or NO_SLOT. */
  find(key: string, resource: string): number {
    let s = this.index.get(key);
    while (s !== undefined && s !== NO_SLOT) {
      if (this.resources[s] === resource) return s;
      s = this.next[s];
    }
    return NO_SLOT;
  }

  get(key: string, resource: string, shape: string, algorithm: AlgorithmName): AlgorithmState | undefined {
    const slot = this.find(key, resource);
    this.lastKey = key;
    this.lastResource = resource;
    this.lastSlot = slot;
    return slot !== NO_SLOT && this.shapes[slot] === shape ? this.read(slot, algorithm) : undefined;
  }

  set(key: string, resource: string, shape: string, algorithm: AlgorithmName, state: AlgorithmState, expiresAtMs: TimestampMs): void {
    if (key === this.lastKey && resource === this.lastResource && this.lastSlot !== NO_SLOT) {
      if (algorithm !== 'concurrency') this.objects[this.lastSlot] = null;
      this.write(this.lastSlot, shape, algorithm, state, expiresAtMs);
      return;
    }
    this.lastSlot = this.put(key, resource, shape, algorithm, state, expiresAtMs);
    this.lastKey = key;
    this.lastResource = resource;
  }

  /**
   * Stores the state of (key, resource) given as numbers: `a`, `b`, `c` are, per
   * algorithm, gcra (tatMs, tatFrac), fixed_window (windowStartMs, count), sliding_window
   * (windowStartMs, count, prevCount); `concurrency` is the state object for that
   * algorithm. The apply path of every replica: no state object is made. A pending state
   * of the slot equal to the new committed one is resolved (see `setPending`).
   */
  setRaw(key: string, resource: string, shape: string, algorithm: AlgorithmName, expiresAtMs: TimestampMs, a: number, b: number, c: number, concurrency: ConcurrencyState | null): void {
    let slot = this.find(key, resource);
    if (slot === NO_SLOT) slot = this.allocateFor(key, resource);
    this.setRawAt(slot, shape, algorithm, expiresAtMs, a, b, c, concurrency);
  }

  /** `setRaw` for a slot the caller knows holds (key, resource): a leader applying its own batch. */
  setRawAt(slot: number, shape: string, algorithm: AlgorithmName, expiresAtMs: TimestampMs, a: number, b: number, c: number, concurrency: ConcurrencyState | null): void {
    this.shapes[slot] = shape;
    this.algorithms[slot] = algorithm;
    this.expires[slot] = expiresAtMs;
    this.a[slot] = a;
    this.b[slot] = b;
    this.c[slot] = c;
    this.objects[slot] = concurrency;
    const p = this.pend;
    if (p === null || p.flag[slot] !== 1 || p.shapes[slot] !== shape) return;
    const equal = algorithm === 'concurrency' ? sameConcurrency(p.objects[slot] ?? null, concurrency) : p.a[slot] === a && p.b[slot] === b && p.c[slot] === c;
    if (equal) {
      p.flag[slot] = 0;
      p.count--;
    }
  }

  // ---- Pending layer: a shard leader's decided but uncommitted states, in the same slots.

  /**
   * The state a leader decides against: the slot's pending state if it has one, else the
   * committed state; undefined if neither was written by a rule of `shape`. One hash
   * look-up; `setPending` right after for the same (key, resource) needs none.
   */
  getPending(key: string, resource: string, shape: string, algorithm: AlgorithmName): AlgorithmState | undefined {
    const slot = this.find(key, resource);
    this.lastKey = key;
    this.lastResource = resource;
    this.lastSlot = slot;
    if (slot === NO_SLOT) return undefined;
    const p = this.pend;
    if (p !== null && p.flag[slot] === 1) return p.shapes[slot] === shape ? readColumns(algorithm, p.a, p.b, p.c, p.objects, slot) : undefined;
    return this.shapes[slot] === shape ? this.read(slot, algorithm) : undefined;
  }

  /**
   * Records a decided, not yet committed state of (key, resource); returns its slot. A key
   * without committed state gets a slot marked absent (shape ''), invisible to `get`,
   * `entries` and snapshots. The pending state shadows the committed one for
   * `getPending` until `setRaw` commits an equal state, or `clearPending` drops it.
   */
  setPending(key: string, resource: string, shape: string, algorithm: AlgorithmName, state: AlgorithmState, expiresAtMs: TimestampMs): number {
    let slot = key === this.lastKey && resource === this.lastResource ? this.lastSlot : this.find(key, resource);
    if (slot === NO_SLOT) {
      slot = this.allocateFor(key, resource);
      this.shapes[slot] = '';
      this.expires[slot] = 0;
      this.objects[slot] = null;
      this.lastKey = key;
      this.lastResource = resource;
      this.lastSlot = slot;
    }
    const p = this.pending();
    p.shapes[slot] = shape;
    p.algorithms[slot] = algorithm;
    p.expires[slot] = expiresAtMs;
    writeColumns(algorithm, state, p.a, p.b, p.c, p.objects, slot);
    if (p.flag[slot] !== 1) {
      p.flag[slot] = 1;
      p.count++;
      p.slots.push(slot);
      if (p.slots.length > 2 * p.count + 1024) p.slots = p.slots.filter((x) => p.flag[x] === 1);
    }
    return slot;
  }

  /**
   * Marks `slot` as carried by batch `seq`; true the first time per (slot, seq), so a
   * batch carries each changed (key, resource) once, with its latest state.
   */
  joinBatch(slot: number, seq: number): boolean {
    const p = this.pending();
    if (p.batch[slot] === seq) return false;
    p.batch[slot] = seq;
    return true;
  }

  /** Slots with a pending state now. */
  get pendingCount(): number {
    return this.pend?.count ?? 0;
  }

  /** The pending state of `slot`, as the numbers `setRaw` takes, handed to `visit`. */
  visitPending(slot: number, visit: (key: string, resource: string, shape: string, algorithm: AlgorithmName, expiresAtMs: TimestampMs, a: number, b: number, c: number, concurrency: ConcurrencyState | null) => void): void {
    const p = this.pending();
    const algorithm = p.algorithms[slot] as AlgorithmName;
    visit(this.keys[slot] as string, this.resources[slot] as string, p.shapes[slot] as string, algorithm, p.expires[slot] as number, p.a[slot] as number, p.b[slot] as number, p.c[slot] as number, algorithm === 'concurrency' ? (p.objects[slot] as ConcurrencyState) : null);
  }

  /** Drops every pending state (leadership lost); slots that only held pending state are freed. */
  clearPending(): void {
    const p = this.pend;
    if (p === null) return;
    for (const slot of p.slots) {
      if (p.flag[slot] !== 1) continue;
      p.flag[slot] = 0;
      p.objects[slot] = null;
      const key = this.keys[slot];
      if (this.shapes[slot] === '' && key !== null && key !== undefined) this.delete(key, this.resources[slot] as string);
    }
    p.slots = [];
    p.count = 0;
  }

  private pending(): PendingColumns {
    if (this.pend === null) this.pend = newPendingColumns(this.capacity);
    return this.pend;
  }

  private allocateFor(key: string, resource: string): number {
    const slot = this.allocate();
    const head = this.index.get(key);
    this.keys[slot] = key;
    this.resources[slot] = resource;
    this.next[slot] = head ?? NO_SLOT;
    this.index.set(key, slot);
    return slot;
  }

  /** `stateShape` of the rule that wrote the slot. */
  shapeOf(slot: number): string {
    return this.shapes[slot] as string;
  }

  /** Decodes the slot's state as `algorithm` (the slot's own algorithm, which the shape implies). */
  read(slot: number, algorithm: AlgorithmName): AlgorithmState {
    switch (algorithm) {
      case 'gcra':
        return { tatMs: this.a[slot] as number, tatFrac: this.b[slot] as number } satisfies GcraState;
      case 'fixed_window':
        return { windowStartMs: this.a[slot] as number, count: this.b[slot] as number } satisfies FixedWindowState;
      case 'sliding_window':
        return {
          windowStartMs: this.a[slot] as number,
          count: this.b[slot] as number,
          prevCount: this.c[slot] as number,
        } satisfies SlidingWindowState;
      case 'concurrency':
        return this.objects[slot] as ConcurrencyState;
    }
  }

  /** Overwrites the slot's state. */
  write(slot: number, shape: string, algorithm: AlgorithmName, state: AlgorithmState, expiresAtMs: TimestampMs): void {
    this.shapes[slot] = shape;
    this.algorithms[slot] = algorithm;
    this.expires[slot] = expiresAtMs;
    switch (algorithm) {
      case 'gcra': {
        const s = state as GcraState;
        this.a[slot] = s.tatMs;
        this.b[slot] = s.tatFrac;
        break;
      }
      case 'fixed_window': {
        const s = state as FixedWindowState;
        this.a[slot] = s.windowStartMs;
        this.b[slot] = s.count;
        break;
      }
      case 'sliding_window': {
        const s = state as SlidingWindowState;
        this.a[slot] = s.windowStartMs;
        this.b[slot] = s.count;
        this.c[slot] = s.prevCount;
        break;
      }
      case 'concurrency':
        this.objects[slot] = state as ConcurrencyState;
        break;
    }
  }

  /** Stores the state of (key, resource), in its slot or a new one. Returns the slot. */
  put(key: string, resource: string, shape: string, algorithm: AlgorithmName, state: AlgorithmState, expiresAtMs: TimestampMs): number {
    let slot = this.find(key, resource);
    if (slot === NO_SLOT) slot = this.allocateFor(key, resource);
    if (algorithm !== 'concurrency') this.objects[slot] = null;
    this.write(slot, shape, algorithm, state, expiresAtMs);
    return slot;
  }

  /** Removes the state of (key, resource); true if there was one. */
  delete(key: string, resource: string): boolean {
    let prev = NO_SLOT;
    let s = this.index.get(key) ?? NO_SLOT;
    while (s !== NO_SLOT) {
      const after = this.next[s] as number;
      if (this.resources[s] === resource) {
        this.unlink(key, prev, s, after);
        return true;
      }
      prev = s;
      s = after;
    }
    return false;
  }

  /**
   * Drops state expired at `nowMs`, and state whose key `drop` names (a shard group's
   * slots moved to another group), visiting at most `slotsBudget` slots, and resumes
   * where the last call stopped; a full pass takes capacity / slotsBudget calls, so no
   * call stalls the event loop. Returns the number of slots dropped.
   */
  sweep(nowMs: TimestampMs, slotsBudget: number, drop?: (key: string) => boolean): number {
    let dropped = 0;
    for (let visited = 0; visited < slotsBudget; visited++) {
      if (this.sweepSlot >= this.highWater) {
        this.sweepSlot = 0;
        break;
      }
      const slot = this.sweepSlot++;
      const key = this.keys[slot];
      if (key === null || key === undefined || ((this.expires[slot] as number) > nowMs && drop?.(key) !== true)) continue;
      if (this.pend !== null && this.pend.flag[slot] === 1) continue; // a leader's decision in flight
      if (this.delete(key, this.resources[slot] as string)) dropped++;
    }
    return dropped;
  }

  /** Drops every state (slots are kept for reuse). */
  clear(): void {
    for (let slot = 0; slot < this.highWater; slot++) {
      this.keys[slot] = null;
      this.objects[slot] = null;
      this.next[slot] = slot + 1 < this.highWater ? slot + 1 : NO_SLOT;
    }
    this.freeHead = this.highWater > 0 ? 0 : NO_SLOT;
    this.index.clear();
    this.used = 0;
    this.lastKey = null;
    if (this.pend !== null) this.pend = newPendingColumns(this.capacity);
    this.sweepSlot = 0;
  }

  /** Every held state, decoded. */
  *entries(): IterableIterator<StoredState> {
    for (let slot = 0; slot < this.highWater; slot++) {
      const key = this.keys[slot];
      if (key === null || key === undefined || this.shapes[slot] === '') continue; // '' : pending only, nothing committed
      const algorithm = this.algorithms[slot] as AlgorithmName;
      yield {
        key,
        resource: this.resources[slot] as string,
        shape: this.shapes[slot] as string,
        algorithm,
        state: this.read(slot, algorithm),
        expiresAtMs: this.expires[slot] as number,
      };
    }
  }

  private unlink(key: string, prev: number, slot: number, after: number): void {
    if (prev !== NO_SLOT) this.next[prev] = after;
    else if (after !== NO_SLOT) this.index.set(key, after);
    else this.index.delete(key);
    this.keys[slot] = null;
    this.objects[slot] = null;
    if (this.pend !== null && this.pend.flag[slot] === 1) {
      this.pend.flag[slot] = 0;
      this.pend.count--;
    }
    if (slot === this.lastSlot) this.lastKey = null;
    this.next[slot] = this.freeHead;
    this.freeHead = slot;
    this.used--;
  }

  private allocate(): number {
    if (this.used >= this.slotsMax) {
      throw new RateLimiterError('RL_ERR_STATE_FULL', `state store holds its maximum of ${this.slotsMax} (key, resource) states`, {
        details: { slotsMax: this.slotsMax },
      });
    }
    this.used++;
    if (this.freeHead !== NO_SLOT) {
      const slot = this.freeHead;
      this.freeHead = this.next[slot] as number;
      return slot;
    }
    if (this.highWater === this.capacity) this.grow();
    return this.highWater++;
  }

  private grow(): void {
    const capacity = Math.min(this.capacity * 2, this.slotsMax);
    const widen = (old: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
      const n = new Float64Array(capacity);
      n.set(old);
      return n;
    };
    this.a = widen(this.a);
    this.b = widen(this.b);
    this.c = widen(this.c);
    this.expires = widen(this.expires);
    const next = new Int32Array(capacity).fill(NO_SLOT);
    next.set(this.next);
    this.next = next;
    if (this.pend !== null) this.pend = growPendingColumns(this.pend, capacity);
    for (let i = this.capacity; i < capacity; i++) {
      this.keys.push(null);
      this.resources.push('');
      this.shapes.push('');
      this.algorithms.push('gcra');
      this.objects.push(null);
    }
    this.capacity = capacity;
  }
}

/** The pending layer's columns, parallel to the store's; allocated on a leader's first decision. */
interface PendingColumns {
  flag: Uint8Array<ArrayBuffer>;
  /** Seq of the last batch that carries the slot (`joinBatch`). */
  batch: Float64Array<ArrayBuffer>;
  shapes: string[];
  algorithms: AlgorithmName[];
  a: Float64Array<ArrayBuffer>;
  b: Float64Array<ArrayBuffer>;
  c: Float64Array<ArrayBuffer>;
  expires: Float64Array<ArrayBuffer>;
  objects: (ConcurrencyState | null)[];
  /** Slots flagged since the last compaction (may hold resolved ones; see setPending). */
  slots: number[];
  count: number;
}

function newPendingColumns(capacity: number): PendingColumns {
  return {
    flag: new Uint8Array(capacity),
    batch: new Float64Array(capacity),
    shapes: new Array<string>(capacity).fill(''),
    algorithms: new Array<AlgorithmName>(capacity).fill('gcra'),
    a: new Float64Array(capacity),
    b: new Float64Array(capacity),
    c: new Float64Array(capacity),
    expires: new Float64Array(capacity),
    objects: new Array<ConcurrencyState | null>(capacity).fill(null),
    slots: [],
    count: 0,
  };
}

function growPendingColumns(p: PendingColumns, capacity: number): PendingColumns {
  const n = newPendingColumns(capacity);
  n.flag.set(p.flag);
  n.batch.set(p.batch);
  n.a.set(p.a);
  n.b.set(p.b);
  n.c.set(p.c);
  n.expires.set(p.expires);
  for (let i = 0; i < p.shapes.length; i++) {
    n.shapes[i] = p.shapes[i] as string;
    n.algorithms[i] = p.algorithms[i] as AlgorithmName;
    n.objects[i] = p.objects[i] ?? null;
  }
  n.slots = p.slots;
  n.count = p.count;
  return n;
}

/**
 * The pending layer's read and write. They repeat the store's own `read`/`write` over other
 * columns on purpose: routing the committed path through these shared helpers measured
 * 137 → 162 ns per engine check (bench:engine, gcra 10k keys, 2026-11-28), as the calls
 * see two sets of arrays.
 */
function readColumns(algorithm: AlgorithmName, a: Float64Array, b: Float64Array, c: Float64Array, objects: readonly (ConcurrencyState | null)[], slot: number): AlgorithmState {
  switch (algorithm) {
    case 'gcra':
      return { tatMs: a[slot] as number, tatFrac: b[slot] as number } satisfies GcraState;
    case 'fixed_window':
      return { windowStartMs: a[slot] as number, count: b[slot] as number } satisfies FixedWindowState;
    case 'sliding_window':
      return { windowStartMs: a[slot] as number, count: b[slot] as number, prevCount: c[slot] as number } satisfies SlidingWindowState;
    case 'concurrency':
      return objects[slot] as ConcurrencyState;
  }
}

function writeColumns(algorithm: AlgorithmName, state: AlgorithmState, a: Float64Array, b: Float64Array, c: Float64Array, objects: (ConcurrencyState | null)[], slot: number): void {
  switch (algorithm) {
    case 'gcra': {
      const s = state as GcraState;
      a[slot] = s.tatMs;
      b[slot] = s.tatFrac;
      c[slot] = 0;
      objects[slot] = null;
      return;
    }
    case 'fixed_window': {
      const s = state as FixedWindowState;
      a[slot] = s.windowStartMs;
      b[slot] = s.count;
      c[slot] = 0;
      objects[slot] = null;
      return;
    }
    case 'sliding_window': {
      const s = state as SlidingWindowState;
      a[slot] = s.windowStartMs;
      b[slot] = s.count;
      c[slot] = s.prevCount;
      objects[slot] = null;
      return;
    }
    case 'concurrency':
      a[slot] = 0;
      b[slot] = 0;
      c[slot] = 0;
      objects[slot] = state as ConcurrencyState;
      return;
  }
}

function sameConcurrency(x: ConcurrencyState | null, y: ConcurrencyState | null): boolean {
  if (x === null || y === null) return x === y;
  return (
    x.nextSeq === y.nextSeq &&
    x.leases.length === y.leases.length &&
    x.leases.every((l, i) => {
      const m = y.leases[i];
      return m !== undefined && l.id === m.id && l.expiresAtMs === m.expiresAtMs && l.units === m.units;
    })
  );
}
