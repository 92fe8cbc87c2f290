/**
 * What a new configuration changes, rule by rule: added, removed, changed, and which
 * changed rules reset their counters. A rule's counters survive a change exactly when its
 * `stateShape` (algorithm, and window length for the windows) stays the same: changing
 * only the limit keeps them, changing the algorithm or period resets them (old state of
 * another shape reads as absent; see CompiledRule.stateShape).
 */
import { describeRule, type CompiledConfig } from '../../config/index.js';

export interface RuleReset {
  readonly rule: string;
  readonly from: string;
  readonly to: string;
}

export interface RuleChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Rules present in both whose meaning changed (limit, burst, flags, algorithm, period…). */
  readonly changed: readonly string[];
  /** The changed rules whose counters start afresh. */
  readonly resets: readonly RuleReset[];
}

export function ruleChanges(before: CompiledConfig | null, after: CompiledConfig): RuleChanges {
  const old = new Map((before?.rules ?? []).map((r) => [r.id, r]));
  const added: string[] = [];
  const changed: string[] = [];
  const resets: RuleReset[] = [];
  for (const r of after.rules) {
    const o = old.get(r.id);
    old.delete(r.id);
    if (o === undefined) {
      added.push(r.id);
      continue;
    }
    if (describeRule(o) === describeRule(r) && o.burst === r.burst && o.leaseMs === r.leaseMs) continue;
    changed.push(r.id);
    if (o.stateShape !== r.stateShape) resets.push({ rule: r.id, from: describeRule(o), to: describeRule(r) });
  }
  return { added, removed: [...old.keys()], changed, resets };
}
