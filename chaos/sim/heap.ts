/**
 * A binary min-heap of timed items, ordered by `(timeMs, seq)`. The sequence number
 * breaks ties in insertion order, so two items due at the same instant always come out
 * in the same order: the simulator's event order is a pure function of the seed.
 */
export interface Timed<T> {
  readonly timeMs: number;
  readonly seq: number;
  readonly item: T;
}

export class TimedHeap<T> {
  private readonly items: Timed<T>[] = [];
  private seqNext = 0;

  get size(): number {
    return this.items.length;
  }

  push(timeMs: number, item: T): void {
    if (!Number.isFinite(timeMs)) throw new RangeError(`Cannot schedule at a non-finite time (got ${timeMs})`);
    const node: Timed<T> = { timeMs, seq: this.seqNext++, item };
    const a = this.items;
    a.push(node);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = a[p] as Timed<T>;
      if (!less(node, parent)) break;
      a[i] = parent;
      i = p;
    }
    a[i] = node;
  }

  peek(): Timed<T> | undefined {
    return this.items[0];
  }

  pop(): Timed<T> | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    let i = 0;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && less(a[r] as Timed<T>, a[l] as Timed<T>)) c = r;
      const child = a[c] as Timed<T>;
      if (!less(child, last)) break;
      a[i] = child;
      i = c;
    }
    a[i] = last;
    return top;
  }

  /** Removes every item for which `drop` returns true (O(n)); order of the rest is kept. */
  removeWhere(drop: (item: T) => boolean): number {
    const kept = this.items.filter((t) => !drop(t.item));
    const removed = this.items.length - kept.length;
    if (removed === 0) return 0;
    kept.sort((x, y) => (less(x, y) ? -1 : 1));
    this.items.length = 0;
    // A sorted array is a valid heap.
    for (const k of kept) this.items.push(k);
    return removed;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (const t of this.items) yield t.item;
  }
}

function less<T>(x: Timed<T>, y: Timed<T>): boolean {
  return x.timeMs < y.timeMs || (x.timeMs === y.timeMs && x.seq < y.seq);
}
