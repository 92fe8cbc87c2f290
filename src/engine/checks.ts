/**
 * Argument checks shared by the algorithms. A bad argument here is a caller's mistake
 * (the API layer validates user input before it reaches the engine), so it throws.
 */

/** Throws a RangeError unless `nowMs` is a non-negative safe integer. */
export function checkNowMs(nowMs: number): void {
  if (!Number.isSafeInteger(nowMs) || nowMs < 0) {
    throw new RangeError(`'nowMs' must be a non-negative safe integer (got ${nowMs})`);
  }
}

/** Throws a RangeError unless `cost` is a safe integer. */
export function checkCost(cost: number): void {
  if (!Number.isSafeInteger(cost)) {
    throw new RangeError(`'cost' must be a safe integer (got ${cost})`);
  }
}
