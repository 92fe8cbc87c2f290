/**
 * `parseConfig`: configuration text (YAML or JSON) to a compiled configuration or every
 * problem found. Syntax errors come back as issues with line and column, never thrown.
 */
import { isNode, isScalar, LineCounter, parseDocument, visit } from 'yaml';
import type { ConfigIssue } from './issue.js';
import { YAML_ALIASES_MAX } from './limits.js';
import { validateConfig, type ConfigResult } from './validate-config.js';

export type ConfigFormat = 'yaml' | 'json';

/** The text of line `line` (1-based) of `text`, the value a syntax issue shows. */
function lineText(text: string, line: number): string {
  return text.split('\n')[line - 1]?.replace(/\r$/, '') ?? '';
}

function syntaxIssue(format: ConfigFormat, text: string, line: number | null, col: number | null, message: string): ConfigIssue {
  if (line === null) return { path: `(${format})`, message, value: undefined };
  return { path: `(${format} line ${line}, column ${col ?? 1})`, message, value: lineText(text, line) };
}

/** First line of a yaml library message, without the " at line X, column Y:" it appends. */
function yamlMessage(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}

function parseYaml(text: string): { value: unknown } | { issues: ConfigIssue[] } {
  const lineCounter = new LineCounter();
  // YAML 1.2 core schema: `yes`/`no`/`on` stay strings, so `shadow: yes` is reported, not
  // guessed. logLevel 'error': the library never writes to the process; we report instead.
  const doc = parseDocument(text, {
    version: '1.2',
    schema: 'core',
    uniqueKeys: true,
    prettyErrors: true,
    logLevel: 'error',
    lineCounter,
  });
  // Warnings (unresolved tags, …) are errors here: a config must mean exactly one thing.
  const issues = [...doc.errors, ...doc.warnings].map((e) => {
    const at = e.linePos?.[0];
    return syntaxIssue('yaml', text, at?.line ?? null, at?.col ?? null, `${yamlMessage(e.message)} (${e.code})`);
  });
  // A list or map as a key would be stringified into some name; refuse it instead.
  visit(doc, {
    Pair(_, pair) {
      if (pair.key === null || isScalar(pair.key)) return;
      const offset = isNode(pair.key) ? (pair.key.range?.[0] ?? null) : null;
      const at = offset === null ? null : lineCounter.linePos(offset);
      issues.push(syntaxIssue('yaml', text, at?.line ?? null, at?.col ?? null, 'a map key must be a plain value, not a list or map'));
    },
  });
  if (issues.length > 0) return { issues };
  try {
    return { value: doc.toJS({ maxAliasCount: YAML_ALIASES_MAX }) };
  } catch (error: unknown) {
    // Unresolved aliases and alias bombs surface only when the document is built.
    const message = error instanceof Error ? error.message : String(error);
    return { issues: [syntaxIssue('yaml', text, null, null, message)] };
  }
}

function lineAndColumn(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, col: offset - lineStart + 1 };
}

function parseJson(text: string): { value: unknown } | { issues: ConfigIssue[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error: unknown) {
    const message = error instanceof Error ? error.message : String(error);
    const position = /at position (\d+)/.exec(message)?.[1];
    if (position === undefined) return { issues: [syntaxIssue('json', text, null, null, message)] };
    const { line, col } = lineAndColumn(text, Number(position));
    return { issues: [syntaxIssue('json', text, line, col, message.replace(/ in JSON at position \d+.*$/, ''))] };
  }
  // JSON.parse keeps the last of duplicate keys silently; a config must not. Valid JSON is
  // valid YAML 1.2, so the YAML parser finds duplicates with their line and column.
  const doc = parseDocument(text, { version: '1.2', schema: 'json', uniqueKeys: true, prettyErrors: true });
  const duplicates = doc.errors.filter((e) => e.code === 'DUPLICATE_KEY');
  if (duplicates.length > 0) {
    return {
      issues: duplicates.map((e) => {
        const at = e.linePos?.[0];
        return syntaxIssue('json', text, at?.line ?? null, at?.col ?? null, `${yamlMessage(e.message)} (${e.code})`);
      }),
    };
  }
  return { value };
}

/**
 * Parses configuration text and validates it whole. `format` defaults to YAML (which
 * also reads most JSON); pass `'json'` for strict JSON.
 *
 * @example
 * ```ts
 * const result = parseConfig('defaults: { limit: 100, period: 1s }\nresources:\n  search: { limit: 10, period: 1x }\n');
 * if (!result.ok) result.errors.map(formatIssue);
 * // ['resources.search.period: "1x" is not a duration (use ms, s, m, h, d)']
 * ```
 */
export function parseConfig(text: string, format: ConfigFormat = 'yaml'): ConfigResult {
  const parsed = format === 'json' ? parseJson(text) : parseYaml(text);
  if ('issues' in parsed) return { ok: false, errors: parsed.issues };
  return validateConfig(parsed.value);
}
