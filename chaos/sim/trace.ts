/**
 * The event trace of one simulation: one line per event, built only when tracing is on
 * (a schedule in `npm test` runs with it off and is re-run with it on when it fails).
 * Lines hold virtual time and simulated state only, so two runs of a seed print the same.
 */
export class Trace {
  private readonly lines: string[] = [];
  private dropped = 0;

  /**
   * @param enabled whether lines are recorded at all.
   * @param linesMax lines kept (the oldest are dropped past it); bounds memory on long runs.
   */
  constructor(
    readonly enabled: boolean,
    private readonly linesMax: number = Number.POSITIVE_INFINITY,
  ) {}

  add(timeMs: number, text: string): void {
    if (!this.enabled) return;
    this.lines.push(`${formatTimeMs(timeMs)} ${text}`);
    if (this.lines.length > this.linesMax) {
      this.lines.shift();
      this.dropped++;
    }
  }

  /** Recorded lines, oldest first, preceded by a note when some were dropped. */
  text(): string[] {
    return this.dropped === 0 ? this.lines.slice() : [`... ${this.dropped} earlier lines dropped`, ...this.lines];
  }
}

/** Fixed-width virtual time with microsecond precision, e.g. `t=   123.456`. */
export function formatTimeMs(timeMs: number): string {
  return `t=${timeMs.toFixed(3).padStart(10)}`;
}
