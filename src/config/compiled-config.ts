/**
 * A validated configuration, compiled to look-up tables: answers "which rule governs this
 * check" in O(1) and explains the answer.
 */
import type { CompiledRule, RuleResolver } from '../engine/types.js';
import { explainTables, type Explanation } from './explain.js';
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
  /** Every rule of the configuration, in document order. */
  readonly rules: readonly CompiledRule[];
  readonly #base: RuleScope;
  readonly #tiers: ReadonlyMap<string, RuleScope>;
  readonly #clients: ConfigTables['clients'];
  readonly #tables: ConfigTables;

  /** Use `parseConfig` or `validateConfig`; tables come only from the validator. */
  constructor(tables: ConfigTables) {
    this.version = tables.version;
    this.rules = Object.freeze([...tables.rules]);
    this.#base = tables.base;
    this.#tiers = tables.tiers;
    this.#clients = tables.clients;
    this.#tables = tables;
    Object.freeze(this);
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
    return explainTables(this.#tables, key, resource, tier);
  }
}
