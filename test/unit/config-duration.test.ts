// Proves parseDurationMs/readDuration accept exactly "<positive integer><ms|s|m|h|d>" up to 365d, and reject everything else with the value in the message.
import { describe, expect, it } from 'vitest';
import { DURATION_MAX_MS, parseDurationMs, readDuration } from '../../src/config/index.js';

describe('parseDurationMs', () => {
  it.each([
    ['1ms', 1],
    ['500ms', 500],
    ['1s', 1000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
    ['365d', 31_536_000_000],
    ['31536000000ms', 31_536_000_000],
  ])('reads %s as %i ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it('allows exactly a year at most', () => {
    expect(DURATION_MAX_MS).toBe(365 * 86_400_000);
    expect(() => parseDurationMs('366d')).toThrow('"366d" is longer than the maximum 365d');
    expect(() => parseDurationMs('31536000001ms')).toThrow(RangeError);
    expect(() => parseDurationMs('99999999999999999999999d')).toThrow('is longer than the maximum 365d');
  });

  it.each(['1.5s', '1x', '', '-1s', '+1s', '1', 's', '1S', ' 1s', '1s ', '1 s', '01s', '1e3ms', '1m30s', 'Infinity', '1sec'])(
    'rejects %j as not a duration',
    (text) => {
      expect(() => parseDurationMs(text)).toThrow(`${JSON.stringify(text)} is not a duration (use ms, s, m, h, d)`);
    },
  );

  it('rejects zero as not positive', () => {
    expect(() => parseDurationMs('0s')).toThrow('"0s" is not a positive duration');
    expect(() => parseDurationMs('000ms')).toThrow('is not a positive duration');
  });
});

describe('readDuration', () => {
  it('returns the milliseconds of a valid duration', () => {
    expect(readDuration('250ms')).toEqual({ ok: true, ms: 250 });
  });

  it.each([
    [1000, '1000 is not a duration (use ms, s, m, h, d)'],
    [null, 'null is not a duration (use ms, s, m, h, d)'],
    [true, 'true is not a duration (use ms, s, m, h, d)'],
    [['1s'], 'a list is not a duration (use ms, s, m, h, d)'],
    [{ s: 1 }, 'a map is not a duration (use ms, s, m, h, d)'],
  ])('rejects the non-string %j with a reason, never a throw', (value, reason) => {
    expect(readDuration(value)).toEqual({ ok: false, reason });
  });
});
