/**
 * One problem found in a configuration, and the one line it prints as:
 * `tiers.pro.resources.search.period: "1x" is not a duration (use ms, s, m, h, d)`.
 */
import { NAME_PATTERN } from './limits.js';

/**
 * A problem at `path` (dotted, client keys bracketed: `clients["user:42"].resources.search`).
 * `message` is the sentence after the path; it shows the value when the value is the point.
 * `value` is the offending value itself (`undefined` when something is missing).
 */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
  readonly value: unknown;
}

/**
 * The line an issue prints as: `<path>: <message>`.
 *
 * @example
 * ```ts
 * formatIssue({ path: 'resources.search.limit', message: '0 is not a positive integer', value: 0 });
 * // 'resources.search.limit: 0 is not a positive integer'
 * ```
 */
export function formatIssue(issue: ConfigIssue): string {
  return `${issue.path}: ${issue.message}`;
}

/** Longest string shown whole in a message; longer ones are cut with an ellipsis. */
const SHOWN_CHARS_MAX = 80;

/**
 * A value as a message shows it: strings JSON-quoted (cut after 80 characters), numbers,
 * booleans and null as written, lists and maps by their kind.
 */
export function showValue(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > SHOWN_CHARS_MAX ? `${value.slice(0, SHOWN_CHARS_MAX)}…` : value);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return isPlainMap(value) ? 'a map' : 'an object that is not a map';
  return `a ${typeof value}`;
}

/** True for the maps a YAML or JSON parser produces: plain objects, not lists or class instances. */
export function isPlainMap(value: unknown): value is Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}


/** `parent.name`, or `parent["odd name"]` for a name that is not a valid resource or tier name. */
export function childPath(parent: string, name: string): string {
  const segment = NAME_PATTERN.test(name) ? name : null;
  if (segment === null) return `${parent}[${JSON.stringify(name)}]`;
  return parent === '' ? segment : `${parent}.${segment}`;
}

/** `clients["user:42"]`: client keys are always bracketed, as they often hold `:` or `.`. */
export function clientPath(key: string): string {
  return `clients[${JSON.stringify(key)}]`;
}
