/**
 * The resource names a node tracks by name in its live stats: every resource the
 * configuration names a rule for, plus the default resource. Read from rule ids
 * (`resources.<name>`, `tiers.<tier>.resources.<name>`, `clients.<key>.resources.<name>`).
 */
import { DEFAULT_RESOURCE } from '../../protocol/check.js';

/**
 * @example
 * ```ts
 * trackedResources([{ id: 'defaults' }, { id: 'resources.search' }, { id: 'tiers.pro.resources.upload' }]);
 * // ['default', 'search', 'upload']
 * ```
 */
export function trackedResources(rules: readonly { readonly id: string }[]): string[] {
  const names = new Set<string>([DEFAULT_RESOURCE]);
  for (const { id } of rules) {
    if (id.startsWith('resources.')) names.add(id.slice('resources.'.length));
    else {
      const at = id.lastIndexOf('.resources.');
      if (at >= 0) names.add(id.slice(at + '.resources.'.length));
    }
  }
  return [...names];
}
