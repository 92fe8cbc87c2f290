/**
 * Decoding of the factor commands and of the factor records of a meta snapshot, field by
 * field and bounded (see factors.ts). A snapshot written before factors existed has no
 * `factors` field and decodes to none.
 */
import {
  FACTORS_MAX,
  FACTOR_REASON_CHARS_MAX,
  FACTOR_RESOURCE_CHARS_MAX,
  FACTOR_SIGNALS_MAX,
  FACTOR_UPDATES_MAX,
  FACTOR_VALUE_MAX,
  type FactorCommand,
  type FactorSignals,
  type FactorUpdate,
  type ResourceFactor,
} from './factors.js';
import { MetaCodecError, int, obj, str, type Obj } from './meta-codec.js';

function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw new MetaCodecError(`${what} must be a boolean`);
  return v;
}

function factorValue(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > FACTOR_VALUE_MAX) throw new MetaCodecError(`${what} must be a number in (0, ${FACTOR_VALUE_MAX}] (got ${String(v)})`);
  return v;
}

function list(v: unknown, what: string, max: number): unknown[] {
  if (!Array.isArray(v) || v.length > max) throw new MetaCodecError(`${what} must be a list of at most ${max} items`);
  return v;
}

function readSignals(v: unknown, what: string): FactorSignals {
  const o = obj(v, what);
  const keys = Object.keys(o);
  if (keys.length > FACTOR_SIGNALS_MAX) throw new MetaCodecError(`${what} must hold at most ${FACTOR_SIGNALS_MAX} numbers`);
  const out: Record<string, number | null> = {};
  for (const k of keys) {
    const n = o[k];
    if (k.length > 64 || (n !== null && (typeof n !== 'number' || !Number.isFinite(n)))) throw new MetaCodecError(`${what}.${k.slice(0, 64)} must be a number or null`);
    out[k] = n as number | null;
  }
  return out;
}

function readUpdate(v: unknown, what: string): FactorUpdate {
  const o = obj(v, what);
  return {
    resource: str(o['resource'], `${what}.resource`, FACTOR_RESOURCE_CHARS_MAX),
    factor: factorValue(o['factor'], `${what}.factor`),
    reason: str(o['reason'], `${what}.reason`, FACTOR_REASON_CHARS_MAX),
    signals: readSignals(o['signals'], `${what}.signals`),
    ifIndex: int(o['ifIndex'], `${what}.ifIndex`),
  };
}

/** Reads a `factors` or `freeze` command (the caller has read `t` and `requestId`). */
export function readFactorCommand(t: 'factors' | 'freeze', c: Obj, requestId: string): FactorCommand {
  if (t === 'freeze') {
    return {
      t,
      requestId,
      resource: str(c['resource'], 'resource', FACTOR_RESOURCE_CHARS_MAX),
      frozen: bool(c['frozen'], 'frozen'),
      atMs: int(c['atMs'], 'atMs'),
      reason: str(c['reason'], 'reason', FACTOR_REASON_CHARS_MAX),
    };
  }
  return {
    t,
    requestId,
    configVersion: int(c['configVersion'], 'configVersion'),
    atMs: int(c['atMs'], 'atMs'),
    updates: list(c['updates'], 'updates', FACTOR_UPDATES_MAX).map((u, i) => readUpdate(u, `updates[${i}]`)),
  };
}

/** The factor records of a snapshot (absent in snapshots written before factors: none). */
export function readFactorRecords(v: unknown): [string, ResourceFactor][] {
  if (v === undefined || v === null) return [];
  return list(v, 'factors', FACTORS_MAX).map((pair, i): [string, ResourceFactor] => {
    const p = list(pair, `factors[${i}]`, 2);
    const o = obj(p[1], `factors[${i}][1]`);
    const what = `factors[${i}]`;
    return [
      str(p[0], `${what}[0]`, FACTOR_RESOURCE_CHARS_MAX),
      {
        factor: factorValue(o['factor'], `${what}.factor`),
        frozen: bool(o['frozen'], `${what}.frozen`),
        reason: str(o['reason'], `${what}.reason`, FACTOR_REASON_CHARS_MAX),
        signals: readSignals(o['signals'], `${what}.signals`),
        index: int(o['index'], `${what}.index`),
        configVersion: int(o['configVersion'], `${what}.configVersion`),
        atMs: int(o['atMs'], `${what}.atMs`),
      },
    ];
  });
}
