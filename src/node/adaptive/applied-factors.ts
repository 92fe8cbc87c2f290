/**
 * The adaptive factors a node applies, and the record of what it applied where: the
 * factor of each adaptive resource comes only from the meta group's records (never from
 * anything this node measured), clamped into the resource's bounds of the configuration
 * in force, so every node computes the same effective limits after the same meta index.
 * Each change is remembered with its meta index in a bounded ring, which `/v1/adaptive`
 * shows and tests compare across nodes.
 */
import type { ResourceFactor } from '../../../cluster/meta/index.js';
import { clampFactor, type CompiledConfig } from '../../config/index.js';

/** One applied change: from this meta index on, `resource` runs at `factor`. */
export interface AppliedFactor {
  readonly index: number;
  readonly resource: string;
  readonly factor: number;
  readonly frozen: boolean;
  readonly configVersion: number;
}

/** Changes remembered: a few minutes of changes at one per second per resource for a handful of resources. */
export const APPLIED_HISTORY_MAX = 512;

/**
 * The factor map a configuration applies from the meta group's records: adaptive resources
 * with a record, clamped into their bounds. Pure: the same records and configuration give
 * the same map on every node.
 */
export function factorsFor(config: CompiledConfig, records: ReadonlyMap<string, ResourceFactor>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [resource, spec] of config.adaptive) {
    const r = records.get(resource);
    if (r !== undefined) out.set(resource, clampFactor(spec, r.factor));
  }
  return out;
}

/**
 * @example
 * ```ts
 * const applied = new AppliedFactors();
 * const changes = applied.apply(config, machine.factors(), 42, 3); // [{ index: 42, resource: 'search', factor: 0.75, ... }]
 * applied.history(); // every change, oldest first
 * ```
 */
export class AppliedFactors {
  private readonly ring: AppliedFactor[] = [];
  /** Changes applied since the node started (`rl_adaptive_factor_changes_total`). */
  changeCount = 0;
  private current = new Map<string, { factor: number; frozen: boolean }>();

  /**
   * Notes the factors `config` (replicated version `configVersion`) applies from `records`
   * at meta index `index`; returns what changed against the previous call (factor or
   * frozen), each recorded in the history.
   */
  apply(config: CompiledConfig, records: ReadonlyMap<string, ResourceFactor>, index: number, configVersion: number): AppliedFactor[] {
    const next = new Map<string, { factor: number; frozen: boolean }>();
    const changes: AppliedFactor[] = [];
    for (const resource of config.adaptive.keys()) {
      const factor = config.factors.get(resource) ?? 1;
      const frozen = records.get(resource)?.frozen ?? false;
      next.set(resource, { factor, frozen });
      const before = this.current.get(resource);
      if (before !== undefined && before.factor === factor && before.frozen === frozen) continue;
      if (before === undefined && factor === 1 && !frozen) continue;
      changes.push({ index, resource, factor, frozen, configVersion });
    }
    this.current = next;
    this.changeCount += changes.length;
    for (const c of changes) {
      this.ring.push(c);
      if (this.ring.length > APPLIED_HISTORY_MAX) this.ring.shift();
    }
    return changes;
  }

  /** The factor of `resource` now and whether it is frozen (1.0 and not frozen when none is set). */
  now(resource: string): { factor: number; frozen: boolean } {
    return this.current.get(resource) ?? { factor: 1, frozen: false };
  }

  /** Every change remembered, oldest first. */
  history(): readonly AppliedFactor[] {
    return this.ring;
  }
}
