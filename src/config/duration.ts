/**
 * Durations as the configuration, the CLI and node options write them: a positive
 * integer and a unit, `"500ms"`, `"1s"`, `"15m"`, `"2h"`, `"7d"`, at most a year.
 */
import type { DurationMs } from '../engine/types.js';
import { showValue } from './issue.js';
import { DURATION_MAX_MS } from './limits.js';

/** What reading a duration gave: its milliseconds, or why the value is not one. */
export type DurationReading =
  | { readonly ok: true; readonly ms: DurationMs }
  | { readonly ok: false; readonly reason: string };

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

// 1-15 digits: long enough for any duration under the maximum, short enough to be exact.
const DURATION_PATTERN = /^([1-9][0-9]{0,14}|0+)(ms|s|m|h|d)$/;
// Anything made of digits and a unit but too long for the pattern is over the maximum.
const LONG_DIGITS_PATTERN = /^[1-9][0-9]{15,}(ms|s|m|h|d)$/;

/**
 * Reads a duration without throwing; the reason starts with the value as shown, so it
 * reads as a sentence after a path.
 *
 * @example
 * ```ts
 * readDuration('15m'); // { ok: true, ms: 900000 }
 * readDuration(1000);  // { ok: false, reason: '1000 is not a duration (use ms, s, m, h, d)' }
 * ```
 */
export function readDuration(value: unknown): DurationReading {
  const notDuration = { ok: false, reason: `${showValue(value)} is not a duration (use ms, s, m, h, d)` } as const;
  if (typeof value !== 'string') return notDuration;
  const tooLong = { ok: false, reason: `${showValue(value)} is longer than the maximum 365d` } as const;
  if (LONG_DIGITS_PATTERN.test(value)) return tooLong;
  const match = DURATION_PATTERN.exec(value);
  if (match === null) return notDuration;
  const [, digits = '', unit = ''] = match;
  const count = Number(digits);
  if (count === 0) return { ok: false, reason: `${showValue(value)} is not a positive duration` };
  const ms = count * (UNIT_MS[unit] ?? Number.NaN);
  // Invariant: count < 10^15 and unit <= 86_400_000, so an over-long value compares true
  // even where the product is no longer exact.
  if (!(ms <= DURATION_MAX_MS)) return tooLong;
  return { ok: true, ms };
}

/**
 * Parses a duration such as `"500ms"`, `"1s"`, `"15m"`, `"2h"` or `"7d"` into milliseconds.
 * Only a positive integer followed by one of ms, s, m, h, d is accepted, at most 365d:
 * no bare numbers, fractions, signs, spaces or other units.
 *
 * @throws {RangeError} when `text` is not such a duration; the message shows the value.
 * @example
 * ```ts
 * parseDurationMs('1s');    // 1000
 * parseDurationMs('500ms'); // 500
 * parseDurationMs('1.5s');  // throws RangeError: "1.5s" is not a duration (use ms, s, m, h, d)
 * ```
 */
export function parseDurationMs(text: string): DurationMs {
  const reading = readDuration(text);
  if (!reading.ok) throw new RangeError(reading.reason);
  return reading.ms;
}
