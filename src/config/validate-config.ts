/**
 * `validateConfig`: checks a parsed configuration document whole and compiles it to a
 * `CompiledConfig`, or returns every problem found. Nothing is half applied: one problem
 * anywhere and no configuration comes back.
 */
import type { CompiledRule } from '../engine/types.js';
import { readAdaptive, type AdaptiveSpec } from './adaptive.js';
import { CompiledConfig } from './compiled-config.js';
import { compileRule, makeRule, reportUnknownFields, RULE_FIELDS } from './compile-rule.js';
import { childPath, clientPath, isPlainMap, showValue, type ConfigIssue } from './issue.js';
import { ADAPTIVE_RESOURCES_MAX } from './limits.js';
import { clientKeyProblem, nameProblem } from './names.js';
import { didYouMean } from './suggest.js';
import type { ClientEntry, RuleScope } from './tables.js';

/** A compiled configuration, or every problem found (each with its path and value). */
export type ConfigResult =
  | { readonly ok: true; readonly config: CompiledConfig }
  | { readonly ok: false; readonly errors: readonly ConfigIssue[] };

const TOP_FIELDS: readonly string[] = ['version', 'defaults', 'resources', 'tiers', 'clients'];
const TIER_FIELDS: readonly string[] = ['defaults', 'resources'];
const CLIENT_FIELDS: readonly string[] = ['tier', 'defaults', 'resources', 'blocked', 'unlimited'];

/** Where a rule field put one level too high gets pointed. */
function misplacedRuleField(field: string): string {
  return RULE_FIELDS.includes(field) ? ' (rule fields go under defaults or resources.<name>)' : '';
}

/** The state of one validation pass: problems found and rules compiled, in document order. */
class Pass {
  readonly issues: ConfigIssue[] = [];
  readonly rules: CompiledRule[] = [];

  issue(path: string, message: string, value: unknown): void {
    this.issues.push({ path, message, value });
  }

  rule(raw: unknown, path: string): CompiledRule | null {
    const rule = compileRule(raw, path, this.issues);
    if (rule !== null) this.rules.push(rule);
    return rule;
  }

  /** A map entry of the document as a map, or null after reporting what it is instead. */
  map(raw: unknown, path: string, what: string): Readonly<Record<string, unknown>> | null {
    if (isPlainMap(raw)) return raw;
    const tip = raw === null ? ' (write {} for an empty one)' : '';
    this.issue(path === '' ? '(document)' : path, `expected ${what}, got ${showValue(raw)}${tip}`, raw);
    return null;
  }
}

/**
 * The rules of a `resources` map. `adaptive` collects `resources.<name>.adaptive` blocks
 * (top level only: null elsewhere, where the field is reported as misplaced).
 */
function compileResources(pass: Pass, raw: unknown, path: string, adaptive: Map<string, AdaptiveSpec> | null): Map<string, CompiledRule> {
  const resources = new Map<string, CompiledRule>();
  if (raw === undefined) return resources;
  const map = pass.map(raw, path, 'a map of resource name to rule');
  if (map === null) return resources;
  for (const [name, value] of Object.entries(map)) {
    const rulePath = childPath(path, name);
    const problem = nameProblem('resource', name);
    if (problem !== null) pass.issue(rulePath, problem, name);
    const adaptiveRaw = adaptive !== null && isPlainMap(value) ? value['adaptive'] : undefined;
    let ruleRaw = value;
    if (adaptiveRaw !== undefined) {
      const { adaptive: _block, ...rest } = value as Readonly<Record<string, unknown>>;
      ruleRaw = rest;
    }
    const rule = pass.rule(ruleRaw, rulePath);
    if (rule !== null) resources.set(name, rule);
    if (adaptive !== null && adaptiveRaw !== undefined) {
      const spec = readAdaptive(adaptiveRaw, childPath(rulePath, 'adaptive'), name, rule, pass.issues);
      if (spec !== null) adaptive.set(name, spec);
    }
  }
  return resources;
}

/** The `defaults` and `resources` of a map that holds rules; `prefix` is its path; `adaptive` as in compileResources. */
function compileScope(pass: Pass, map: Readonly<Record<string, unknown>>, prefix: string, adaptive: Map<string, AdaptiveSpec> | null = null): RuleScope {
  const defaultsRaw = map['defaults'];
  const defaults = defaultsRaw === undefined ? null : pass.rule(defaultsRaw, childPath(prefix, 'defaults'));
  const resources = compileResources(pass, map['resources'], childPath(prefix, 'resources'), adaptive);
  return Object.freeze({ defaults, resources });
}

function compileTiers(pass: Pass, raw: unknown): Map<string, RuleScope> {
  const tiers = new Map<string, RuleScope>();
  if (raw === undefined) return tiers;
  const map = pass.map(raw, 'tiers', 'a map of tier name to tier');
  if (map === null) return tiers;
  for (const [name, value] of Object.entries(map)) {
    const path = childPath('tiers', name);
    const problem = nameProblem('tier', name);
    if (problem !== null) pass.issue(path, problem, name);
    const tier = pass.map(value, path, 'a tier (a map with defaults and/or resources)');
    if (tier === null) continue;
    reportUnknownFields(tier, TIER_FIELDS, path, pass.issues, misplacedRuleField);
    tiers.set(name, compileScope(pass, tier, path));
  }
  return tiers;
}

function readClientFlag(pass: Pass, entry: Readonly<Record<string, unknown>>, field: string, path: string): boolean {
  const raw = entry[field];
  if (raw === undefined || typeof raw === 'boolean') return raw ?? false;
  pass.issue(childPath(path, field), `${showValue(raw)} is not a boolean (use true or false)`, raw);
  return false;
}

function readClientTier(pass: Pass, raw: unknown, path: string, tierNames: readonly string[]): string | null {
  if (raw === undefined) return null;
  const tierPath = childPath(path, 'tier');
  if (typeof raw !== 'string') {
    pass.issue(tierPath, `${showValue(raw)} is not a tier name (a string)`, raw);
  } else if (!tierNames.includes(raw)) {
    const known = tierNames.length === 0 ? 'no tiers are configured' : `tiers: ${tierNames.join(', ')}`;
    pass.issue(tierPath, `${showValue(raw)} is not a configured tier (${known})${didYouMean(raw, tierNames)}`, raw);
  } else {
    return raw;
  }
  return null;
}

function compileClient(
  pass: Pass,
  key: string,
  raw: unknown,
  tiers: ReadonlyMap<string, RuleScope>,
  tierNames: readonly string[],
): ClientEntry | null {
  const path = clientPath(key);
  const problem = clientKeyProblem(key);
  if (problem !== null) pass.issue(path, problem, key);
  const entry = pass.map(raw, path, 'a client entry (a map with tier, defaults, resources, blocked or unlimited)');
  if (entry === null) return null;
  reportUnknownFields(entry, CLIENT_FIELDS, path, pass.issues, misplacedRuleField);
  const blocked = readClientFlag(pass, entry, 'blocked', path);
  const unlimited = readClientFlag(pass, entry, 'unlimited', path);
  let wholeRule: CompiledRule | null = null;
  if (blocked && unlimited) {
    pass.issue(path, 'blocked and unlimited cannot both be true', true);
  } else if (blocked || unlimited) {
    // The client-wide shorthand: one rule for every resource, deciding before the rest.
    wholeRule = makeRule({
      id: path,
      algorithm: 'gcra',
      limit: 0,
      periodMs: 0,
      burst: 0,
      leaseMs: 0,
      shadow: false,
      consistency: 'strict',
      blocked,
      unlimited,
    });
    pass.rules.push(wholeRule);
  }
  const tierName = readClientTier(pass, entry['tier'], path, tierNames);
  const own = compileScope(pass, entry, path);
  return Object.freeze({ wholeRule, tierName, tier: tierName === null ? null : (tiers.get(tierName) ?? null), own });
}

function compileClients(
  pass: Pass,
  raw: unknown,
  tiers: ReadonlyMap<string, RuleScope>,
  tierNames: readonly string[],
): Map<string, ClientEntry> {
  const clients = new Map<string, ClientEntry>();
  if (raw === undefined) return clients;
  const map = pass.map(raw, 'clients', 'a map of client key to client entry');
  if (map === null) return clients;
  for (const [key, value] of Object.entries(map)) {
    const entry = compileClient(pass, key, value, tiers, tierNames);
    if (entry !== null) clients.set(key, entry);
  }
  return clients;
}

function readVersion(pass: Pass, raw: unknown): number {
  if (raw === undefined) return 1;
  if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw > 0) return raw;
  pass.issue('version', `${showValue(raw)} is not a positive integer`, raw);
  return 1;
}

/**
 * Checks a parsed document (plain maps, lists, strings, numbers, booleans, null: what a
 * YAML or JSON parser gives) and compiles it. Returns every problem, in document order.
 *
 * @example
 * ```ts
 * const result = validateConfig({ defaults: { limit: 100, period: '1s' }, resources: { search: { limit: 0 } } });
 * if (!result.ok) result.errors.map(formatIssue);
 * // ['resources.search.limit: 0 is not positive (use at least 1, or blocked: true to admit nothing)',
 * //  'resources.search.period: missing: a gcra rule needs a period, e.g. "1s"']
 * ```
 */
export function validateConfig(doc: unknown): ConfigResult {
  const pass = new Pass();
  const root = pass.map(doc, '', 'a configuration (a map with version, defaults, resources, tiers, clients)');
  if (root === null) return { ok: false, errors: pass.issues };
  reportUnknownFields(root, TOP_FIELDS, '', pass.issues, misplacedRuleField);
  const version = readVersion(pass, root['version']);
  const adaptive = new Map<string, AdaptiveSpec>();
  const base = compileScope(pass, root, '', adaptive);
  if (adaptive.size > ADAPTIVE_RESOURCES_MAX) {
    pass.issue('resources', `${adaptive.size} resources are adaptive; at most ${ADAPTIVE_RESOURCES_MAX} may be (each costs signal aggregation on every node)`, adaptive.size);
  }
  const tiers = compileTiers(pass, root['tiers']);
  // Clients may name any tier the document defines, even one with its own errors: those
  // are reported at the tier, not again at every client.
  const tierNames = isPlainMap(root['tiers']) ? Object.keys(root['tiers']) : [];
  const clients = compileClients(pass, root['clients'], tiers, tierNames);
  if (pass.issues.length > 0) return { ok: false, errors: pass.issues };
  return { ok: true, config: new CompiledConfig({ version, base, tiers, clients, rules: pass.rules, adaptive }) };
}
