/**
 * Adaptive factors in the meta group (docs/adaptive.md): per named resource, a number the
 * node runtime multiplies that resource's limits by, with whether an operator froze it, why
 * it was set, and the signals it was set from. The meta group only records them in log
 * order (the same record on every node at the same index); what a resource or a limit is,
 * it does not know. Two commands write them: `factors` (the controller on the meta leader;
 * each update applies only while the record it was computed from is still current) and
 * `freeze` (an operator pins or releases a factor).
 */

/** Records held at most: one per adaptive resource, and a configuration has at most 64 of those. */
export const FACTORS_MAX = 1024;
/** Largest factor recorded: the configuration bounds maxFactor far lower; this bounds what a frame may claim. */
export const FACTOR_VALUE_MAX = 1000;
/** Resource names: the wire protocol's name bound. */
export const FACTOR_RESOURCE_CHARS_MAX = 64;
/** A reason is one sentence with a few numbers. */
export const FACTOR_REASON_CHARS_MAX = 400;
/** Named numbers in a signals record at most. */
export const FACTOR_SIGNALS_MAX = 16;
/** Updates in one `factors` command at most: one per adaptive resource. */
export const FACTOR_UPDATES_MAX = 256;

/** The signals a factor was set from: a few named numbers (null: not observed). */
export type FactorSignals = Readonly<Record<string, number | null>>;

/** What the meta group holds for one resource. */
export interface ResourceFactor {
  readonly factor: number;
  /** Pinned by an operator: `factors` updates are refused until released. */
  readonly frozen: boolean;
  readonly reason: string;
  readonly signals: FactorSignals;
  /** Meta log index of the entry that set this record: the compare-and-set token of the next update. */
  readonly index: number;
  /** The configuration version the record was written under. */
  readonly configVersion: number;
  /** The writer's wall clock at the decision, for display only (never read by apply). */
  readonly atMs: number;
}

/** One resource's new factor, as the controller proposes it. */
export interface FactorUpdate {
  readonly resource: string;
  readonly factor: number;
  readonly reason: string;
  readonly signals: FactorSignals;
  /**
   * Apply only while the resource's record is still the one set at this index (0: while it
   * has none): two controllers (an old and a new meta leader) never interleave their steps,
   * and a step decided before a freeze never lands after it.
   */
  readonly ifIndex: number;
}

export type FactorCommand =
  | {
      readonly t: 'factors';
      readonly requestId: string;
      /** Apply only under this configuration version (the bounds the controller used). */
      readonly configVersion: number;
      readonly atMs: number;
      readonly updates: readonly FactorUpdate[];
    }
  | { readonly t: 'freeze'; readonly requestId: string; readonly resource: string; readonly frozen: boolean; readonly atMs: number; readonly reason: string };

/** What applying a factor command changed: resources whose record changed, or why nothing did. */
export type FactorApplied = { readonly changed: readonly string[]; readonly why: string | null };

/**
 * Applies `c` at log index `index` to `records` (mutated), under configuration version
 * `configVersion`. Decided from the entry and the records alone, so every replica changes
 * the same records.
 */
export function applyFactorCommand(records: Map<string, ResourceFactor>, c: FactorCommand, index: number, configVersion: number): FactorApplied {
  if (c.t === 'freeze') {
    const cur = records.get(c.resource);
    if (cur === undefined && records.size >= FACTORS_MAX) return { changed: [], why: `${FACTORS_MAX} factors are recorded already` };
    if (cur !== undefined && cur.frozen === c.frozen) return { changed: [], why: 'no change' };
    records.set(c.resource, {
      factor: cur?.factor ?? 1,
      frozen: c.frozen,
      reason: c.reason,
      signals: cur?.signals ?? {},
      index,
      configVersion,
      atMs: c.atMs,
    });
    return { changed: [c.resource], why: null };
  }
  if (c.configVersion !== configVersion) return { changed: [], why: `the configuration changed (version ${configVersion}, decided under ${c.configVersion})` };
  const changed: string[] = [];
  const refused: string[] = [];
  for (const u of c.updates) {
    const cur = records.get(u.resource);
    if ((cur?.index ?? 0) !== u.ifIndex || cur?.frozen === true || (cur === undefined && records.size >= FACTORS_MAX)) {
      refused.push(u.resource);
      continue;
    }
    records.set(u.resource, { factor: u.factor, frozen: false, reason: u.reason, signals: u.signals, index, configVersion, atMs: c.atMs });
    changed.push(u.resource);
  }
  return { changed, why: changed.length > 0 ? null : `every update was stale or frozen (${refused.join(', ')})` };
}
