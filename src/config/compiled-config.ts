/**
 * A validated configuration, compiled to look-up tables: answers "which rule governs this
 * check" in O(1) and explains the answer.
 */
import type { CompiledRule, RuleResolver } from '../engine/types.js';
import { clampFactor, type AdaptiveSpec } from './adaptive.js';
import { explainTables, type Explanation } from './explain.js';
import { scaleTables } from './scale-tables.js';
import type { ConfigTables, RuleScope } from './tables.js';

/**
 * The compiled configuration. Made by `parseConfig` / `validateConfig`, immutable.
 * Precedence, most specific first: client-wide `blocked`/`unlimited`, client + resource,
 * client defaults, tier + resource, tier defaults, resource, global defaults. The first
 * level that holds a rule gives the whole rule.
 *
 * @example
 * ```ts
 * const result = parseConfig('defaults: { limit: 100, period: 1s }\ntiers: { pro: { defaults: { limit: 1000, period: 1s } } }');
 * if (result.ok) {
 *   result.config.resolve('user:42', 'search', 'pro')?.id; // 'tiers.pro.defaults'
 *   result.config.resolve('user:42', 'search', undefined)?.id; // 'defaults'
 * }
 * ```
 */
export class CompiledConfig implements RuleResolver {
  readonly version: number;
  /** Every rule of the configuration as written (adaptive factors not applied), in document order. */
  readonly rules: readonly CompiledRule[];
  /** `resources.<name>.adaptive` by resource name; empty when no resource is adaptive. */
  readonly adaptive: ReadonlyMap<string, AdaptiveSpec>;
  /**
   * The adaptive factors `resolve` applies, by resource, each clamped into its resource's
   * bounds (see `withFactors`); empty for a configuration as written.
   */
  readonly factors: ReadonlyMap<string, number>;
  readonly #base: RuleScope;
  readonly #tiers: ReadonlyMap<string, RuleScope>;
  readonly #clients: ConfigTables['clients'];
  /** The tables as written: `explain` shows these, `withFactors` scales these. */
  readonly #tables: ConfigTables;

  /**
   * Use `parseConfig` or `validateConfig`; tables come only from the validator. `factors`
   * (internal: see `withFactors`) are already checked and clamped.
   */
  constructor(tables: ConfigTables, factors: ReadonlyMap<string, number> = new Map()) {
    this.version = tables.version;
    this.rules = Object.freeze([...tables.rules]);
    this.adaptive = tables.adaptive;
    this.factors = factors;
    const effective = scaleTables(tables, factors);
    this.#base = effective.base;
    this.#tiers = effective.tiers;
    this.#clients = effective.clients;
    this.#tables = tables;
    Object.freeze(this);
  }

  /**
   * This configuration with adaptive factors applied: every rule that governs an adaptive
   * resource has its limit (and gcra burst) scaled to `round(limit × factor)` (at least 1).
   * Factors are clamped into each resource's `[minFactor, maxFactor]`; factors of resources
   * that are not adaptive here are ignored; resources without a factor keep 1.0. Pure: the
   * same configuration and factors give the same rules on every node.
   *
   * @example
   * ```ts
   * const scaled = config.withFactors(new Map([['search', 0.5]]));
   * scaled.resolve('user:42', 'search', undefined)?.limit; // half the written limit, rounded
   * scaled.factors.get('search'); // 0.5
   * ```
   */
  withFactors(factors: ReadonlyMap<string, number>): CompiledConfig {
    const applied = new Map<string, number>();
    for (const [resource, spec] of this.adaptive) {
      const f = factors.get(resource);
      if (f !== undefined) applied.set(resource, clampFactor(spec, f));
    }
    return new CompiledConfig(this.#tables, applied);
  }

  /**
   * The most specific rule for the check, or null when no level has one (the resource is
   * unknown). The hot path: at most five `Map.get` calls, no allocation, no scan.
   * A request `tier` is used only when the client's entry names none, and only if configured.
   */
  resolve(key: string, resource: string, tier: string | undefined): CompiledRule | null {
    const client = this.#clients.get(key);
    let tierScope: RuleScope | null | undefined;
    if (client === undefined) {
      tierScope = tier === undefined ? undefined : this.#tiers.get(tier);
    } else {
      if (client.wholeRule !== null) return client.wholeRule;
      const own = client.own.resources.get(resource) ?? client.own.defaults;
      if (own !== null) return own;
      tierScope = client.tier ?? (tier === undefined ? undefined : this.#tiers.get(tier));
    }
    if (tierScope != null) {
      const fromTier = tierScope.resources.get(resource) ?? tierScope.defaults;
      if (fromTier !== null) return fromTier;
    }
    return this.#base.resources.get(resource) ?? this.#base.defaults;
  }

  /**
   * The chain of levels `resolve` consults for the same input, which exist, where the
   * tier came from, and which level decides. Not for the hot path: it allocates.
   *
   * @example
   * ```ts
   * const e = config.explain('user:42', 'search', 'gold');
   * e.tierNote;  // 'request tier "gold" is not configured; no tier'
   * e.decidedBy; // 'resources.search'
   * ```
   */
  explain(key: string, resource: string, tier?: string): Explanation {
    const written = explainTables(this.#tables, key, resource, tier);
    const spec = this.adaptive.get(resource);
    if (spec === undefined) return written;
    // Levels show the rules as written; `rule` is what `resolve` answers (scaled).
    const rule = this.resolve(key, resource, tier);
    const factor = this.factors.get(resource) ?? 1;
    const adaptive = { spec, factor, baseLimit: written.rule?.limit ?? null, effectiveLimit: rule?.limit ?? null, applies: rule !== null && !rule.blocked && !rule.unlimited };
    return { ...written, rule, adaptive };
  }
}
