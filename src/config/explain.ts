/**
 * `explain`: which levels of the configuration a check consults, in precedence order,
 * which of them hold a rule, where the tier came from, and which level decides.
 */
import type { CompiledRule } from '../engine/types.js';
import { describeTarget, type AdaptiveSpec } from './adaptive.js';
import { childPath, clientPath } from './issue.js';
import type { ConfigTables, RuleScope } from './tables.js';

/** The levels of the chain, most specific first. */
export type ExplainLevelName =
  | 'client'
  | 'client_resource'
  | 'client_defaults'
  | 'tier_resource'
  | 'tier_defaults'
  | 'resource'
  | 'defaults';

/** One level of the chain: where a rule would stand, and the rule if one does. */
export interface ExplainLevel {
  readonly level: ExplainLevelName;
  /** The rule's path (= its `id` when it exists), e.g. `tiers.pro.resources.search`. */
  readonly path: string;
  readonly exists: boolean;
  readonly rule: CompiledRule | null;
}

/**
 * Where the tier came from: the client's entry, the request, nowhere, or a request tier
 * that the configuration does not define (which counts as no tier).
 */
export type TierSource = 'client' | 'request' | 'none' | 'request_unknown';

/** The answer of `explain`. `rule` is exactly what `resolve` returns for the same input. */
export interface Explanation {
  readonly key: string;
  readonly resource: string;
  /** The tier whose levels were consulted, or null. */
  readonly tier: string | null;
  readonly tierSource: TierSource;
  /** One sentence on the tier, e.g. `request tier "gold" is not configured; no tier`. */
  readonly tierNote: string;
  /** Every level consulted, most specific first; tier levels only when there is a tier. */
  readonly levels: readonly ExplainLevel[];
  /** Path of the first level that exists, or null when none does. */
  readonly decidedBy: string | null;
  readonly rule: CompiledRule | null;
  /** One sentence: which level decided, or that none did and the resource is unknown. */
  readonly verdict: string;
  /** Present when the resource is adaptive: its settings, the factor applied, and the limit before and after. */
  readonly adaptive?: AdaptiveExplanation;
}

/** How an adaptive factor bears on one check (docs/adaptive.md). */
export interface AdaptiveExplanation {
  readonly spec: AdaptiveSpec;
  /** The factor `resolve` applies now (1 when none was set). */
  readonly factor: number;
  /** The deciding rule's limit as written, and as scaled; null when no rule decides. */
  readonly baseLimit: number | null;
  readonly effectiveLimit: number | null;
  /** False when the deciding rule is blocked or unlimited (never scaled). */
  readonly applies: boolean;
}

function level(name: ExplainLevelName, path: string, rule: CompiledRule | null | undefined): ExplainLevel {
  return { level: name, path, exists: rule != null, rule: rule ?? null };
}

function scopeLevels(
  scope: RuleScope | null | undefined,
  prefix: string,
  resource: string,
  names: readonly [ExplainLevelName, ExplainLevelName],
): ExplainLevel[] {
  return [
    level(names[0], childPath(`${prefix}resources`, resource), scope?.resources.get(resource)),
    level(names[1], `${prefix}defaults`, scope?.defaults),
  ];
}

/**
 * Explains resolution against compiled tables; `CompiledConfig.explain` calls this.
 * Mirrors `CompiledConfig.resolve` level for level (a test holds the two equal).
 */
export function explainTables(
  tables: ConfigTables,
  key: string,
  resource: string,
  requestTier: string | undefined,
): Explanation {
  const client = tables.clients.get(key);
  const clientPrefix = clientPath(key);
  const levels: ExplainLevel[] = [level('client', clientPrefix, client?.wholeRule)];
  levels.push(...scopeLevels(client?.own, `${clientPrefix}.`, resource, ['client_resource', 'client_defaults']));

  let tier: string | null = null;
  let tierSource: TierSource;
  let tierNote: string;
  if (client?.tierName != null) {
    tier = client.tierName;
    tierSource = 'client';
    const ignored = requestTier !== undefined && requestTier !== tier ? ` (request tier ${JSON.stringify(requestTier)} ignored)` : '';
    tierNote = `tier ${JSON.stringify(tier)} from ${clientPrefix}.tier${ignored}`;
  } else if (requestTier === undefined) {
    tierSource = 'none';
    tierNote = 'no tier (none in the client config or the request)';
  } else if (tables.tiers.has(requestTier)) {
    tier = requestTier;
    tierSource = 'request';
    tierNote = `tier ${JSON.stringify(tier)} from the request`;
  } else {
    tierSource = 'request_unknown';
    tierNote = `request tier ${JSON.stringify(requestTier)} is not configured; no tier`;
  }
  if (tier !== null) {
    const tierPrefix = `${childPath('tiers', tier)}.`;
    levels.push(...scopeLevels(tables.tiers.get(tier), tierPrefix, resource, ['tier_resource', 'tier_defaults']));
  }
  levels.push(...scopeLevels(tables.base, '', resource, ['resource', 'defaults']));

  const deciding = levels.find((l) => l.exists) ?? null;
  const verdict =
    deciding === null
      ? `no level has a rule: resource ${JSON.stringify(resource)} is unknown`
      : `decided by ${deciding.path}`;
  return { key, resource, tier, tierSource, tierNote, levels, decidedBy: deciding?.path ?? null, rule: deciding?.rule ?? null, verdict };
}

/** A rule in a few words: `gcra 10 per 1000ms, burst 20`, `blocked`, `concurrency 5, lease 30000ms`. */
export function describeRule(rule: CompiledRule): string {
  const flags = `${rule.shadow ? ', shadow' : ''}${rule.consistency === 'fast' ? ', fast' : ''}`;
  if (rule.blocked) return `blocked${flags}`;
  if (rule.unlimited) return `unlimited${flags}`;
  if (rule.algorithm === 'concurrency') return `concurrency ${rule.limit}, lease ${rule.leaseMs}ms${flags}`;
  const burst = rule.algorithm === 'gcra' ? `, burst ${rule.burst}` : '';
  return `${rule.algorithm} ${rule.limit} per ${rule.periodMs}ms${burst}${flags}`;
}

/**
 * An explanation as text, one level per line, for the CLI and logs.
 *
 * @example
 * ```ts
 * formatExplanation(config.explain('user:42', 'search', 'free'));
 * // key "user:42", resource "search"
 * // tier "pro" from clients["user:42"].tier (request tier "free" ignored)
 * //   -  clients["user:42"]
 * //   ✓  clients["user:42"].resources.search: gcra 500 per 1000ms, burst 500  <- decides
 * //   -  clients["user:42"].defaults
 * //   ✓  tiers.pro.resources.search: gcra 50 per 1000ms, burst 100
 * //   ...
 * // decided by clients["user:42"].resources.search
 * ```
 */
export function formatExplanation(explanation: Explanation): string {
  const lines = [`key ${JSON.stringify(explanation.key)}, resource ${JSON.stringify(explanation.resource)}`, explanation.tierNote];
  for (const l of explanation.levels) {
    const rule = l.rule === null ? '' : `: ${describeRule(l.rule)}`;
    const mark = l.path === explanation.decidedBy ? '  <- decides' : '';
    lines.push(`  ${l.exists ? '✓' : '-'}  ${l.path}${rule}${mark}`);
  }
  lines.push(explanation.verdict);
  const a = explanation.adaptive;
  if (a !== undefined) {
    const bounds = `factor ${a.factor} in [${a.spec.minFactor}, ${a.spec.maxFactor}], target ${describeTarget(a.spec.target)}, every ${a.spec.intervalMs}ms`;
    lines.push(a.applies ? `adaptive: ${bounds}: limit ${a.baseLimit} -> ${a.effectiveLimit}` : `adaptive: ${bounds}: not applied (the deciding rule never counts)`);
  }
  return lines.join('\n');
}
