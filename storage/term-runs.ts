/**
 * The term of every log entry of a group, kept as runs (first index of each run of equal
 * terms). Terms change only at elections, so memory grows with elections, not entries:
 * the core's synchronous `term(i)` never needs the disk, whatever the entry cache holds.
 */
import { fail } from '../raft/index.js';

export class TermRuns {
  /** Invariant: starts ascending, terms non-decreasing, both the same length. */
  private starts: number[] = [];
  private terms: number[] = [];

  /** Forgets every run (the log was replaced by a snapshot). */
  clear(): void {
    this.starts = [];
    this.terms = [];
  }

  /** Records that entry `index` has `term`; `index` must be one past the last recorded. */
  push(index: number, term: number): void {
    const n = this.terms.length;
    if (n > 0 && this.terms[n - 1] === term) return;
    if (n > 0 && term < (this.terms[n - 1] as number)) fail(`TermRuns.push: term ${term} at ${index} below ${String(this.terms[n - 1])}`);
    this.starts.push(index);
    this.terms.push(term);
  }

  /** The term of entry `index`, which must be at or after the first recorded run. */
  termAt(index: number): number {
    // Binary search for the last run starting at or before index: O(log runs).
    let lo = 0;
    let hi = this.starts.length - 1;
    if (hi < 0 || index < (this.starts[0] as number)) fail(`TermRuns.termAt(${index}) before the first run`);
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((this.starts[mid] as number) <= index) lo = mid;
      else hi = mid - 1;
    }
    return this.terms[lo] as number;
  }

  /** Forgets entries from `index` on (a conflicting suffix is being replaced). */
  truncateFrom(index: number): void {
    while (this.starts.length > 0 && (this.starts[this.starts.length - 1] as number) >= index) {
      this.starts.pop();
      this.terms.pop();
    }
  }

  /** Forgets entries up to and including `index` (compaction); the run holding index + 1 starts there. */
  dropThrough(index: number): void {
    let k = 0;
    while (k + 1 < this.starts.length && (this.starts[k + 1] as number) <= index + 1) k++;
    if (k > 0) {
      this.starts.splice(0, k);
      this.terms.splice(0, k);
    }
    if (this.starts.length > 0 && (this.starts[0] as number) < index + 1) this.starts[0] = index + 1;
  }

  /** Runs held (for tests and stats). */
  get runCount(): number {
    return this.starts.length;
  }
}
