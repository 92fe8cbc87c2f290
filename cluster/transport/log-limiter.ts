/**
 * Caps how often one kind of warning is logged, so connections from strangers (scanners,
 * misconfigured clients) cannot flood the log; what is skipped is counted and reported
 * with the next line that gets through.
 */

export class LogLimiter {
  private windowStartMs = Number.NEGATIVE_INFINITY;
  private loggedInWindow = 0;
  private suppressed = 0;

  /**
   * @param linesMax lines allowed per window
   * @param windowMs window length
   */
  constructor(
    private readonly linesMax: number,
    private readonly windowMs: number,
  ) {}

  /**
   * Whether to log now; when true, `suppressed` is how many lines were skipped since the
   * last one logged.
   * @example
   * ```ts
   * const gate = limiter.take(performance.now());
   * if (gate !== null) logger.warn({ suppressed: gate.suppressed }, 'handshake failed');
   * ```
   */
  take(nowMs: number): { suppressed: number } | null {
    if (nowMs - this.windowStartMs >= this.windowMs) {
      this.windowStartMs = nowMs;
      this.loggedInWindow = 0;
    }
    if (this.loggedInWindow >= this.linesMax) {
      this.suppressed += 1;
      return null;
    }
    this.loggedInWindow += 1;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    return { suppressed };
  }
}
