// Proves every class of invalid configuration is rejected whole, each problem reported once with its exact path, value and message, and that nothing ever throws out of parseConfig.
import { describe, expect, it } from 'vitest';
import { formatIssue, loadConfigOrThrow, parseConfig, validateConfig } from '../../src/config/index.js';
import { RateLimiterError } from '../../src/protocol/errors.js';
import { errorLines, fixture } from './fixtures/config-helpers.js';

/** A valid config around one resource rule, to test that rule alone. */
function withRule(search: Record<string, unknown>): object {
  return { resources: { search } };
}

describe('durations', () => {
  it.each([
    ['1x', '"1x" is not a duration (use ms, s, m, h, d)'],
    ['1.5s', '"1.5s" is not a duration (use ms, s, m, h, d)'],
    ['', '"" is not a duration (use ms, s, m, h, d)'],
    ['-1s', '"-1s" is not a duration (use ms, s, m, h, d)'],
    [1000, '1000 is not a duration (use ms, s, m, h, d)'],
    ['0s', '"0s" is not a positive duration'],
    ['366d', '"366d" is longer than the maximum 365d'],
  ])('period %j is rejected', (period, message) => {
    expect(errorLines(withRule({ limit: 10, period }))).toEqual([`resources.search.period: ${message}`]);
  });

  it('checks lease like period', () => {
    expect(errorLines(withRule({ algorithm: 'concurrency', limit: 5, lease: '30' }))).toEqual([
      'resources.search.lease: "30" is not a duration (use ms, s, m, h, d)',
    ]);
  });

  it('reports the exact example line of the issue for a tier rule', () => {
    const text = 'tiers:\n  pro:\n    resources:\n      search: { limit: 50, period: 1x }\n';
    expect(errorLines(text)).toEqual(['tiers.pro.resources.search.period: "1x" is not a duration (use ms, s, m, h, d)']);
  });
});

describe('rates', () => {
  it('rejects a non-integer rate', () => {
    expect(errorLines(withRule({ limit: 1.5, period: '1s' }))).toEqual([
      'resources.search.limit: 1.5 is not a whole number (rates count units: use a positive integer)',
    ]);
  });

  it('rejects a zero rate', () => {
    expect(errorLines(withRule({ limit: 0, period: '1s' }))).toEqual([
      'resources.search.limit: 0 is not positive (use at least 1, or blocked: true to admit nothing)',
    ]);
  });

  it('rejects a negative rate, burst included', () => {
    expect(errorLines(withRule({ limit: 10, burst: -3, period: '1s' }))).toEqual([
      'resources.search.burst: -3 is not positive (use at least 1, or blocked: true to admit nothing)',
    ]);
  });

  it('rejects a rate written as a string', () => {
    expect(errorLines(withRule({ limit: '10', period: '1s' }))).toEqual(['resources.search.limit: "10" is not a positive integer']);
  });

  it('rejects a rate over 1e9, and a concurrency limit over 10,000', () => {
    expect(errorLines(withRule({ limit: 1_000_000_001, period: '1s' }))).toEqual([
      'resources.search.limit: 1000000001 is over the maximum 1000000000',
    ]);
    expect(errorLines(withRule({ limit: 1_000_000_000, period: '1s' }))).toEqual([]);
    expect(errorLines(withRule({ algorithm: 'concurrency', limit: 10_001 }))).toEqual([
      'resources.search.limit: 10001 is over the maximum 10000 for concurrency (leases are tracked one by one)',
    ]);
    expect(errorLines(withRule({ algorithm: 'concurrency', limit: 10_000 }))).toEqual([]);
  });

  it('requires limit and period unless the rule is blocked or unlimited', () => {
    expect(errorLines(withRule({}))).toEqual([
      'resources.search.limit: missing: a gcra rule needs a limit (or blocked: true, or unlimited: true)',
      'resources.search.period: missing: a gcra rule needs a period, e.g. "1s"',
    ]);
    expect(errorLines(withRule({ algorithm: 'concurrency' }))).toEqual([
      'resources.search.limit: missing: a concurrency rule needs a limit (or blocked: true, or unlimited: true)',
    ]);
    expect(errorLines(withRule({ blocked: true }))).toEqual([]);
    expect(errorLines(withRule({ unlimited: true, algorithm: 'fixed_window' }))).toEqual([]);
  });
});

describe('arithmetic bounds', () => {
  // 365d = 31,536,000,000 ms; (2^53 - 1) / that = 285,616.4…
  it('rejects gcra burst × period over 2^53 - 1 and accepts it at the bound', () => {
    expect(errorLines(withRule({ limit: 1, burst: 285_616, period: '365d' }))).toEqual([]);
    expect(errorLines(withRule({ limit: 1, burst: 285_617, period: '365d' }))).toEqual([
      'resources.search.period: burst × period = 285617 × 31536000000ms is over 2^53 - 1, the largest integer the engine ' +
        'computes exactly; use a shorter period (at most 31535935377ms for burst 285617) with a proportional burst',
    ]);
  });

  it('rejects gcra limit × period over 2^53 - 1, burst defaulting to limit counted once', () => {
    expect(errorLines(withRule({ limit: 1_000_000, period: '365d' }))).toEqual([
      'resources.search.period: limit × period = 1000000 × 31536000000ms is over 2^53 - 1, the largest integer the engine ' +
        'computes exactly; use a shorter period (at most 9007199254ms for limit 1000000) with a proportional limit',
    ]);
  });

  it('rejects sliding_window limit × period over 2^53 - 1 but not fixed_window', () => {
    expect(errorLines(withRule({ algorithm: 'sliding_window', limit: 285_617, period: '365d' }))).toHaveLength(1);
    expect(errorLines(withRule({ algorithm: 'sliding_window', limit: 285_616, period: '365d' }))).toEqual([]);
    expect(errorLines(withRule({ algorithm: 'fixed_window', limit: 1_000_000_000, period: '365d' }))).toEqual([]);
  });
});

describe('unknown fields', () => {
  it('are errors with a "did you mean" hint when an allowed name is close', () => {
    const doc = {
      resource: {},
      defaults: { limit: 1, period: '1s', burts: 2 },
      tiers: { pro: { default: { limit: 1, period: '1s' } } },
      clients: { 'user:1': { teir: 'pro' } },
    };
    expect(errorLines(doc)).toEqual([
      'resource: unknown field "resource" (did you mean "resources"?)',
      'defaults.burts: unknown field "burts" (did you mean "burst"?)',
      'tiers.pro.default: unknown field "default" (did you mean "defaults"?)',
      'clients["user:1"].teir: unknown field "teir" (did you mean "tier"?)',
    ]);
  });

  it('are errors without a hint when nothing is close, and point rule fields one level down', () => {
    expect(errorLines({ colour: 'red', limit: 5, tiers: { pro: { period: '1s' } } })).toEqual([
      'colour: unknown field "colour"',
      'limit: unknown field "limit" (rule fields go under defaults or resources.<name>)',
      'tiers.pro.period: unknown field "period" (rule fields go under defaults or resources.<name>)',
    ]);
  });

  it('carry the offending value', () => {
    const result = validateConfig({ defaults: { limit: 1, period: '1s', colour: 'red' } });
    expect(result.ok ? [] : result.errors).toEqual([{ path: 'defaults.colour', message: 'unknown field "colour"', value: 'red' }]);
  });
});

describe('wrong types', () => {
  it.each([
    [{ resources: ['search'] }, 'resources: expected a map of resource name to rule, got a list'],
    [{ resources: { search: '10/s' } }, 'resources.search: expected a rule (a map with limit, period, …), got "10/s"'],
    [{ tiers: { free: null } }, 'tiers.free: expected a tier (a map with defaults and/or resources), got null (write {} for an empty one)'],
    [{ clients: 'none' }, 'clients: expected a map of client key to client entry, got "none"'],
    [withRule({ limit: 1, period: '1s', shadow: 'yes' }), 'resources.search.shadow: "yes" is not a boolean (use true or false)'],
    [withRule({ limit: 1, period: '1s', description: 5 }), 'resources.search.description: 5 is not a string'],
    [
      withRule({ limit: 1, period: '1s', algorithm: 'token_bucket' }),
      'resources.search.algorithm: "token_bucket" is not a valid algorithm (use gcra, sliding_window, fixed_window, concurrency)',
    ],
    [
      withRule({ limit: 1, period: '1s', algorithm: 'sliding-window' }),
      'resources.search.algorithm: "sliding-window" is not a valid algorithm (use gcra, sliding_window, fixed_window, concurrency) (did you mean "sliding_window"?)',
    ],
    [withRule({ limit: 1, period: '1s', consistency: 'eventual' }), 'resources.search.consistency: "eventual" is not a valid consistency (use strict, fast)'],
    [{ version: '3' }, 'version: "3" is not a positive integer'],
    [{ version: 0 }, 'version: 0 is not a positive integer'],
    [{ clients: { 'user:1': { tier: 5 } } }, 'clients["user:1"].tier: 5 is not a tier name (a string)'],
    [{ clients: { 'user:1': { blocked: 'yes' } } }, 'clients["user:1"].blocked: "yes" is not a boolean (use true or false)'],
    [[], '(document): expected a configuration (a map with version, defaults, resources, tiers, clients), got a list'],
  ])('%j is rejected', (doc, line) => {
    expect(errorLines(doc)).toEqual([line]);
  });

  it('reads YAML 1.2: yes/no are strings, not booleans', () => {
    expect(errorLines('defaults: { limit: 1, period: 1s, shadow: yes }')).toEqual([
      'defaults.shadow: "yes" is not a boolean (use true or false)',
    ]);
  });

  it('rejects an empty document', () => {
    expect(errorLines('')).toEqual([
      '(document): expected a configuration (a map with version, defaults, resources, tiers, clients), got null (write {} for an empty one)',
    ]);
  });
});

describe('fields of another algorithm', () => {
  it.each(['sliding_window', 'fixed_window'])('burst on %s is rejected', (algorithm) => {
    expect(errorLines(withRule({ algorithm, limit: 10, period: '1s', burst: 20 }))).toEqual([
      `resources.search.burst: burst applies only to gcra (this rule is ${algorithm}; its capacity is its limit)`,
    ]);
  });

  it('burst on concurrency is rejected', () => {
    expect(errorLines(withRule({ algorithm: 'concurrency', limit: 10, burst: 20 }))).toEqual([
      'resources.search.burst: burst applies only to gcra (this rule is concurrency; its capacity is its limit)',
    ]);
  });

  it('period on concurrency is rejected', () => {
    expect(errorLines(withRule({ algorithm: 'concurrency', limit: 10, period: '1s' }))).toEqual([
      'resources.search.period: period does not apply to concurrency (use lease for how long a slot is held)',
    ]);
  });

  it('lease on anything but concurrency is rejected', () => {
    expect(errorLines(withRule({ limit: 10, period: '1s', lease: '5s' }))).toEqual([
      'resources.search.lease: lease applies only to concurrency (this rule is gcra)',
    ]);
  });
});

describe('blocked and unlimited together', () => {
  it('are rejected on a rule', () => {
    expect(errorLines(withRule({ blocked: true, unlimited: true }))).toEqual([
      'resources.search: blocked and unlimited cannot both be true',
    ]);
  });

  it('are rejected on a client', () => {
    expect(errorLines({ clients: { 'ip:203.0.113.9': { blocked: true, unlimited: true } } })).toEqual([
      'clients["ip:203.0.113.9"]: blocked and unlimited cannot both be true',
    ]);
  });
});

describe('names', () => {
  it.each([
    ['bad name', 'resources["bad name"]'],
    ['', 'resources[""]'],
    ['x'.repeat(65), `resources["${'x'.repeat(65)}"]`],
    ['sëarch', 'resources["sëarch"]'],
  ])('resource name %j is rejected', (name, path) => {
    expect(errorLines({ resources: { [name]: { limit: 1, period: '1s' } } })).toEqual([
      `${path}: ${JSON.stringify(name)} is not a valid resource name (1-64 of A-Z a-z 0-9 _ . : -)`,
    ]);
  });

  it('accepts every allowed character, 64 at most', () => {
    expect(errorLines({ resources: { 'A-z_0.9:x': { limit: 1, period: '1s' }, ['r'.repeat(64)]: { limit: 1, period: '1s' } } })).toEqual([]);
  });

  it('rejects a bad tier name', () => {
    expect(errorLines({ tiers: { 'gold plan': {} } })).toEqual([
      'tiers["gold plan"]: "gold plan" is not a valid tier name (1-64 of A-Z a-z 0-9 _ . : -)',
    ]);
  });

  it('rejects a client tier that is not configured, with a hint', () => {
    expect(errorLines({ tiers: { pro: {}, free: {} }, clients: { 'user:1': { tier: 'por' } } })).toEqual([
      'clients["user:1"].tier: "por" is not a configured tier (tiers: pro, free) (did you mean "pro"?)',
    ]);
    expect(errorLines({ clients: { 'user:1': { tier: 'pro' } } })).toEqual([
      'clients["user:1"].tier: "pro" is not a configured tier (no tiers are configured)',
    ]);
  });
});

describe('client keys', () => {
  it('accepts 256 bytes of UTF-8 and rejects 257', () => {
    expect(errorLines({ clients: { ['k'.repeat(256)]: {} } })).toEqual([]);
    const key = 'k'.repeat(257);
    expect(errorLines({ clients: { [key]: {} } })).toEqual([
      `clients["${key}"]: a client key is at most 256 bytes of UTF-8 (this one is 257)`,
    ]);
  });

  it('counts bytes, not characters', () => {
    const key = '€'.repeat(86); // 86 characters, 258 bytes
    expect(errorLines({ clients: { [key]: {} } })).toEqual([
      `clients["${key}"]: a client key is at most 256 bytes of UTF-8 (this one is 258)`,
    ]);
    expect(errorLines({ clients: { ['😀'.repeat(64)]: {} } })).toEqual([]); // 256 bytes
  });

  it('rejects an empty key and a key that is not valid UTF-8', () => {
    expect(errorLines({ clients: { '': {} } })).toEqual(['clients[""]: a client key must not be empty']);
    expect(errorLines({ clients: { 'a\ud800': {} } })).toEqual([
      'clients["a\\ud800"]: a client key must be valid UTF-8 (it holds an unpaired surrogate)',
    ]);
  });
});

describe('syntax errors', () => {
  it('come back as issues with line and column, never thrown', () => {
    const result = parseConfig('defaults:\n  limit: 10\n  period: [1s\n');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]?.path).toMatch(/^\(yaml line \d+, column \d+\)$/);
  });

  it('report a duplicate key at its line', () => {
    expect(errorLines('resources:\n  search: { limit: 1, period: 1s }\n  search: { limit: 2, period: 1s }\n')).toEqual([
      '(yaml line 3, column 3): Map keys must be unique (DUPLICATE_KEY)',
    ]);
  });

  it('report a bad indent with the offending line as the value', () => {
    const result = parseConfig('tiers:\n  pro: {}\n free: {}\n');
    expect(result.ok ? [] : result.errors).toEqual([
      { path: '(yaml line 3, column 1)', message: 'All mapping items must start at the same column (BAD_INDENT)', value: ' free: {}' },
    ]);
  });

  it('reject several documents, unknown tags and unresolved aliases', () => {
    expect(errorLines('version: 1\n---\nversion: 2\n')).toEqual([
      '(yaml line 2, column 1): Source contains multiple documents; please use YAML.parseAllDocuments() (MULTIPLE_DOCS)',
    ]);
    expect(errorLines('defaults: !rule { limit: 1, period: 1s }\n')).toEqual(['(yaml line 1, column 11): Unresolved tag: !rule (TAG_RESOLVE_FAILED)']);
    expect(errorLines('defaults: *base\n')).toEqual(['(yaml): Unresolved alias (the anchor must be set before the alias): base']);
  });

  it('stop alias bombs', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i += 1) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${`*${String.fromCharCode(97 + i)}, `.repeat(9)}*${String.fromCharCode(97 + i)}]`);
    const lines = errorLines(`${bomb.join('\n')}\n`);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\(yaml\): Excessive alias count/);
  });

  it('never throw on arbitrary text', () => {
    for (const text of ['{', ']]', '\t- x', ':', '"', 'a: b: c', '%YAML 9\n---\n', '&a [*a]', '\u0000', '? [a]\n: b']) {
      expect(() => parseConfig(text)).not.toThrow();
      expect(() => parseConfig(text, 'json')).not.toThrow();
    }
  });
});

describe('many problems at once', () => {
  it('are all reported, in document order, with exact paths', () => {
    const text = [
      'version: 0',
      'defaults: { limit: 100, period: 1s, burts: 200 }',
      'resources:',
      '  search: { limit: -1, period: 1x }',
      '  "bad name": { limit: 1, period: 1s }',
      'tiers:',
      '  pro:',
      '    resources: { search: { algorithm: fixed_window, limit: 50, period: 1s, burst: 100 } }',
      'clients:',
      '  "user:42": { tier: gold, resources: { search: { algorithm: concurrency, limit: 5, period: 1s } } }',
      '  "ip:203.0.113.9": { blocked: true, unlimited: true }',
    ].join('\n');
    expect(errorLines(text)).toEqual([
      'version: 0 is not a positive integer',
      'defaults.burts: unknown field "burts" (did you mean "burst"?)',
      'resources.search.limit: -1 is not positive (use at least 1, or blocked: true to admit nothing)',
      'resources.search.period: "1x" is not a duration (use ms, s, m, h, d)',
      'resources["bad name"]: "bad name" is not a valid resource name (1-64 of A-Z a-z 0-9 _ . : -)',
      'tiers.pro.resources.search.burst: burst applies only to gcra (this rule is fixed_window; its capacity is its limit)',
      'clients["user:42"].tier: "gold" is not a configured tier (tiers: pro)',
      'clients["user:42"].resources.search.period: period does not apply to concurrency (use lease for how long a slot is held)',
      'clients["ip:203.0.113.9"]: blocked and unlimited cannot both be true',
    ]);
  });
});

describe('JSON input', () => {
  it('compiles the same rules as the YAML form of the same document', () => {
    const fromJson = parseConfig(fixture('config-example.json'), 'json');
    const fromYaml = parseConfig(fixture('config-example.yaml'));
    expect(fromJson.ok && fromYaml.ok).toBe(true);
    if (!fromJson.ok || !fromYaml.ok) return;
    expect(fromJson.config.rules).toEqual(fromYaml.config.rules);
    expect(fromJson.config.version).toBe(3);
  });

  it('reports JSON syntax errors with line and column', () => {
    const result = parseConfig('{\n  "version": 1,\n}', 'json');
    expect(result.ok ? [] : result.errors).toEqual([
      { path: '(json line 3, column 1)', message: 'Expected double-quoted property name', value: '}' },
    ]);
  });

  it('rejects duplicate keys that JSON.parse would silently drop', () => {
    expect(parseConfig('{"version": 1,\n "version": 2}', 'json')).toEqual({
      ok: false,
      errors: [{ path: '(json line 2, column 2)', message: 'Map keys must be unique (DUPLICATE_KEY)', value: ' "version": 2}' }],
    });
  });

  it('validates JSON documents like YAML ones', () => {
    const result = parseConfig('{"resources": {"search": {"limit": 10, "period": 1000}}}', 'json');
    expect(result.ok ? [] : result.errors.map(formatIssue)).toEqual(['resources.search.period: 1000 is not a duration (use ms, s, m, h, d)']);
  });
});

describe('loadConfigOrThrow', () => {
  it('returns the compiled config when valid', () => {
    expect(loadConfigOrThrow(fixture('config-example.yaml')).version).toBe(3);
  });

  it('throws RL_ERR_CONFIG_INVALID with every issue in details and one line each in the message', () => {
    let thrown: unknown;
    try {
      loadConfigOrThrow('defaults: { limit: 0, period: 1x }');
    } catch (error: unknown) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RateLimiterError);
    const error = thrown as RateLimiterError;
    expect(error.code).toBe('RL_ERR_CONFIG_INVALID');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      'invalid configuration (2 issues):\n' +
        'defaults.limit: 0 is not positive (use at least 1, or blocked: true to admit nothing)\n' +
        'defaults.period: "1x" is not a duration (use ms, s, m, h, d)',
    );
    expect(error.details?.['issues']).toEqual([
      { path: 'defaults.limit', message: '0 is not positive (use at least 1, or blocked: true to admit nothing)', value: 0 },
      { path: 'defaults.period', message: '"1x" is not a duration (use ms, s, m, h, d)', value: '1x' },
    ]);
  });
});

describe('YAML keys', () => {
  it('rejects a list or map used as a key instead of stringifying it', () => {
    expect(errorLines('clients:\n  ? [a, b]\n  : { blocked: true }\n')).toEqual([
      '(yaml line 2, column 5): a map key must be a plain value, not a list or map',
    ]);
  });
});
