// Proves the change report of a configuration write: changing only a rule's limit keeps
// its counters, changing its algorithm or its window length resets them, and added,
// removed and untouched rules are reported as such.
import { describe, expect, it } from 'vitest';
import { ruleChanges } from '../../src/node/meta/rule-changes.js';
import { compiled } from '../unit/fixtures/config-helpers.js';

const BEFORE = compiled(`
defaults: { algorithm: gcra, limit: 100, period: 1s }
resources:
  search: { algorithm: gcra, limit: 10, period: 1s }
  login: { algorithm: sliding_window, limit: 5, period: 1m }
  export: { algorithm: fixed_window, limit: 3, period: 1h }
  old: { limit: 1, period: 1s }
`);

describe('ruleChanges', () => {
  it('a limit-only change keeps counters; algorithm and window changes reset them', () => {
    const after = compiled(`
defaults: { algorithm: gcra, limit: 100, period: 1s }
resources:
  search: { algorithm: gcra, limit: 20, period: 1s }
  login: { algorithm: sliding_window, limit: 5, period: 2m }
  export: { algorithm: gcra, limit: 3, period: 1h }
  fresh: { limit: 7, period: 1s }
`);
    const c = ruleChanges(BEFORE, after);
    expect(c.added).toEqual(['resources.fresh']);
    expect(c.removed).toEqual(['resources.old']);
    expect([...c.changed].sort()).toEqual(['resources.export', 'resources.login', 'resources.search']);
    expect(c.resets.map((r) => r.rule).sort()).toEqual(['resources.export', 'resources.login']);
    expect(c.resets.find((r) => r.rule === 'resources.export')).toEqual({ rule: 'resources.export', from: 'fixed_window 3 per 3600000ms', to: 'gcra 3 per 3600000ms, burst 3' });
  });

  it('an identical configuration changes nothing', () => {
    expect(ruleChanges(BEFORE, BEFORE)).toEqual({ added: [], removed: [], changed: [], resets: [] });
  });

  it('a GCRA period change resets its counters; a GCRA limit change keeps them', () => {
    const after = compiled(`
defaults: { algorithm: gcra, limit: 100, period: 1s }
resources:
  search: { algorithm: gcra, limit: 10, period: 2s }
  login: { algorithm: sliding_window, limit: 5, period: 1m }
  export: { algorithm: fixed_window, limit: 3, period: 1h }
  old: { limit: 1, period: 1s }
`);
    expect(ruleChanges(BEFORE, after)).toMatchObject({
      changed: ['resources.search'],
      resets: [{ rule: 'resources.search', from: 'gcra 10 per 1000ms, burst 10', to: 'gcra 10 per 2000ms, burst 10' }],
    });
    const limitOnly = compiled(`
defaults: { algorithm: gcra, limit: 100, period: 1s }
resources:
  search: { algorithm: gcra, limit: 30, period: 1s }
  login: { algorithm: sliding_window, limit: 5, period: 1m }
  export: { algorithm: fixed_window, limit: 3, period: 1h }
  old: { limit: 1, period: 1s }
`);
    expect(ruleChanges(BEFORE, limitOnly)).toMatchObject({ changed: ['resources.search'], resets: [] });
  });
});
