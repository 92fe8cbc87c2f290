/**
 * The look-up tables with adaptive factors applied: for each adaptive resource, every rule
 * that governs its checks is scaled — `resources.<r>`, each tier's and each client's own
 * rule for it, and the `defaults` that stand in for those where a tier or client has no
 * rule of its own for the resource. Resolution through the scaled tables takes exactly the
 * same `Map.get` chain as through the written ones (a scaled stand-in for a scope's
 * `defaults` is filed under the resource in that scope, where `defaults` would have
 * answered), so precedence never changes and the hot path costs nothing more.
 */
import type { CompiledRule } from '../engine/types.js';
import { scaleRule } from './adaptive.js';
import type { ClientEntry, ConfigTables, RuleScope } from './tables.js';

/** `scope` with the rule it gives each resource of `factors` scaled; the scope itself when nothing changes. */
function scaleScope(scope: RuleScope, factors: ReadonlyMap<string, number>): RuleScope {
  let resources: Map<string, CompiledRule> | null = null;
  for (const [resource, factor] of factors) {
    const rule = scope.resources.get(resource) ?? scope.defaults;
    if (rule === null) continue;
    const scaled = scaleRule(rule, factor);
    if (scaled === rule) continue;
    resources ??= new Map(scope.resources);
    resources.set(resource, scaled);
  }
  return resources === null ? scope : Object.freeze({ defaults: scope.defaults, resources });
}

/**
 * The tables `tables` would be with every resource of `factors` scaled by its factor.
 * Factors of 1 change nothing; resources that no rule names are skipped. The cost is
 * O(tiers + clients) per call, paid when a factor changes, never per check.
 *
 * @example
 * ```ts
 * const scaled = scaleTables(tables, new Map([['search', 0.5]]));
 * scaled.base.resources.get('search')?.limit; // half of tables.base.resources.get('search')?.limit
 * ```
 */
export function scaleTables(tables: ConfigTables, factors: ReadonlyMap<string, number>): ConfigTables {
  const active = new Map([...factors].filter(([, f]) => f !== 1));
  if (active.size === 0) return tables;
  const base = scaleScope(tables.base, active);
  const tiers = new Map<string, RuleScope>();
  for (const [name, scope] of tables.tiers) tiers.set(name, scaleScope(scope, active));
  const clients = new Map<string, ClientEntry>();
  for (const [key, entry] of tables.clients) {
    const own = scaleScope(entry.own, active);
    const tier = entry.tierName === null ? null : (tiers.get(entry.tierName) ?? null);
    clients.set(key, own === entry.own && tier === entry.tier ? entry : Object.freeze({ ...entry, own, tier }));
  }
  return { ...tables, base, tiers, clients };
}
