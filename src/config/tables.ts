/**
 * The look-up tables a configuration compiles to. Resolution walks a fixed chain of at
 * most five `Map.get` calls through these, never a scan over rules.
 */
import type { CompiledRule } from '../engine/types.js';
import type { AdaptiveSpec } from './adaptive.js';

/** One level that holds rules: the top of the document, a tier, or a client. */
export interface RuleScope {
  /** The scope's `defaults` rule, for resources it does not name. */
  readonly defaults: CompiledRule | null;
  /** Rules by resource name. */
  readonly resources: ReadonlyMap<string, CompiledRule>;
}

/** A client entry of the configuration. */
export interface ClientEntry {
  /** The client-wide rule of `blocked: true` / `unlimited: true`; decides before all else. */
  readonly wholeRule: CompiledRule | null;
  /** `clients.<key>.tier`, already checked to be a configured tier, or null. */
  readonly tierName: string | null;
  /** The scope of `tierName`, looked up once at compile time. */
  readonly tier: RuleScope | null;
  /** The client's own `defaults` and `resources`. */
  readonly own: RuleScope;
}

/** Everything a `CompiledConfig` reads. Built once by `validateConfig`, never mutated. */
export interface ConfigTables {
  readonly version: number;
  /** The top-level `defaults` and `resources`. */
  readonly base: RuleScope;
  readonly tiers: ReadonlyMap<string, RuleScope>;
  readonly clients: ReadonlyMap<string, ClientEntry>;
  /** Every rule, in document order. */
  readonly rules: readonly CompiledRule[];
  /** `resources.<name>.adaptive` by resource name, in document order; empty when no resource is adaptive. */
  readonly adaptive: ReadonlyMap<string, AdaptiveSpec>;
}
