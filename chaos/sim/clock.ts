/**
 * Simulated time. `VirtualClock` is the one true ("real") time of a simulation, in ms;
 * it only moves forward, to the time of the next event. `DriftingClock` is one node's
 * local monotonic clock: a piecewise-linear function of real time whose rate stays
 * within `1 ± driftMax` (the bound the Raft lease is configured to tolerate through its
 * `maxClockDrift` option). Both are pure arithmetic: nothing here reads the host clock.
 */

/** Real (virtual) time of one simulation. */
export class VirtualClock {
  private nowMsValue = 0;

  get nowMs(): number {
    return this.nowMsValue;
  }

  /** Moves time forward to `timeMs`. Going backwards is a simulator bug. */
  advanceTo(timeMs: number): void {
    if (!(timeMs >= this.nowMsValue)) {
      throw new Error(`Invariant: virtual time never goes backwards (now ${this.nowMsValue}, asked ${timeMs})`);
    }
    this.nowMsValue = timeMs;
  }
}

/**
 * A node's local clock. Between rate changes, `local(t) = anchorLocalMs + rate * (t - anchorRealMs)`.
 * Rate changes keep the function continuous, so the clock is monotonic.
 *
 * @example
 * ```ts
 * const clock = new DriftingClock({ driftMax: 0.05, startLocalMs: 1000 });
 * clock.setRate(0, 1.05);
 * clock.localAt(100); // 1105
 * ```
 */
export class DriftingClock {
  /** Largest allowed |rate - 1|. */
  readonly driftMax: number;
  private anchorRealMs = 0;
  private anchorLocalMs: number;
  private rateValue = 1;

  constructor(options: { readonly driftMax: number; readonly startLocalMs: number }) {
    if (!(options.driftMax >= 0 && options.driftMax < 0.5)) {
      throw new RangeError(`Cannot create DriftingClock: 'driftMax' must be in [0, 0.5) (got ${options.driftMax})`);
    }
    this.driftMax = options.driftMax;
    this.anchorLocalMs = options.startLocalMs;
  }

  get rate(): number {
    return this.rateValue;
  }

  /** Local time at real time `realMs` (which must not precede the last rate change). */
  localAt(realMs: number): number {
    if (realMs < this.anchorRealMs) {
      throw new Error(`Invariant: clock read before its last anchor (${realMs} < ${this.anchorRealMs})`);
    }
    return this.anchorLocalMs + this.rateValue * (realMs - this.anchorRealMs);
  }

  /** The earliest real time at which the local clock reads at least `localMs` (under the current rate). */
  realWhen(localMs: number): number {
    if (localMs <= this.anchorLocalMs) return this.anchorRealMs;
    return this.anchorRealMs + (localMs - this.anchorLocalMs) / this.rateValue;
  }

  /** Changes the rate from real time `realMs` on. */
  setRate(realMs: number, rate: number): void {
    if (!(Math.abs(rate - 1) <= this.driftMax + 1e-12)) {
      throw new RangeError(`Cannot set clock rate: |rate - 1| must be <= ${this.driftMax} (got ${rate})`);
    }
    this.anchorLocalMs = this.localAt(realMs);
    this.anchorRealMs = realMs;
    this.rateValue = rate;
  }
}
