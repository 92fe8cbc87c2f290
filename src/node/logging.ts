/**
 * Logging of a node: pino JSON lines with `nodeId` on every line, child loggers bound to
 * `component` (and `groupId` in the Raft host), constant messages with the data in
 * fields, secrets redacted. `formatPrettyLine` turns a JSON line into one a person reads,
 * for `npm start` in a terminal (src/node/start.ts pipes the nodes' output through it).
 */
import { pino, type DestinationStream, type Logger } from 'pino';

/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]';

/**
 * Fields never written as they are: the cluster secret, admin and client tokens, and
 * Authorization headers, at the top level, one level down (`*.x`) and in request headers.
 */
export const REDACT_PATHS: readonly string[] = [
  'clusterSecret',
  '*.clusterSecret',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'adminToken',
  '*.adminToken',
  'clientToken',
  '*.clientToken',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
  'headers["x-admin-token"]',
  '*.headers["x-admin-token"]',
  'headers.cookie',
  '*.headers.cookie',
];

export interface NodeLoggerOptions {
  readonly nodeId: string;
  /** A pino level: trace, debug, info, warn, error, fatal or silent. */
  readonly level: string;
}

const LEVELS: ReadonlySet<string> = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

/**
 * The root logger of a node. Writes to `destination` (stdout by default).
 * @throws RangeError for an unknown level, naming it.
 *
 * @example
 * ```ts
 * const logger = createNodeLogger({ nodeId: 'n1', level: 'info' });
 * componentLogger(logger, 'api').info({ port: 7001 }, 'listening');
 * ```
 */
export function createNodeLogger(options: NodeLoggerOptions, destination?: DestinationStream): Logger {
  if (!LEVELS.has(options.level)) throw new RangeError(`'logLevel' must be one of ${[...LEVELS].join(', ')} (got ${JSON.stringify(options.level)})`);
  const config = {
    level: options.level,
    base: { nodeId: options.nodeId },
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination === undefined ? pino(config) : pino(config, destination);
}

/** A child logger for one part of the node (`component`: api, raft, transport, storage, ...), optionally one group. */
export function componentLogger(root: Logger, component: string, groupId?: number): Logger {
  return root.child(groupId === undefined ? { component } : { component, groupId });
}

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLORS: Readonly<Record<number, string>> = { 10: '\x1b[90m', 20: '\x1b[36m', 30: '\x1b[32m', 40: '\x1b[33m', 50: '\x1b[31m', 60: '\x1b[35m' };
const CONTEXT_FIELDS: ReadonlySet<string> = new Set(['level', 'time', 'msg', 'nodeId', 'component', 'groupId', 'pid', 'hostname']);
/** A pretty line shows at most this many characters of one field value: long values are cut, not wrapped. */
const VALUE_CHARS_MAX = 200;

function showValue(v: unknown): string {
  const s = typeof v === 'string' ? (/^[\w.:/@+-]*$/.test(v) ? v : JSON.stringify(v)) : (JSON.stringify(v) ?? String(v));
  return s.length > VALUE_CHARS_MAX ? `${s.slice(0, VALUE_CHARS_MAX - 3)}...` : s;
}

/**
 * One pino JSON line as `12:00:01.234 INFO  n1 raft g3  leader changed  leader=n2 term=4`.
 * A line that is not a pino JSON object comes back unchanged. Errors (`err`) show their
 * message, and their stack on the following lines.
 */
export function formatPrettyLine(line: string, color: boolean): string {
  let o: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || typeof (parsed as Record<string, unknown>)['level'] !== 'number') return line;
    o = parsed as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = o['level'] as number;
  const time = typeof o['time'] === 'string' ? o['time'].slice(11, 23) : typeof o['time'] === 'number' ? new Date(o['time']).toISOString().slice(11, 23) : '';
  const name = (LEVEL_NAMES[level] ?? String(level)).padEnd(5);
  const where = [o['nodeId'], o['component'], o['groupId'] === undefined ? undefined : `g${String(o['groupId'])}`].filter((x) => x !== undefined).join(' ');
  let stack = '';
  const fields: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    if (CONTEXT_FIELDS.has(k)) continue;
    if (k === 'err' && typeof v === 'object' && v !== null) {
      const e = v as Record<string, unknown>;
      fields.push(`err=${showValue(e['message'] ?? e['type'])}`);
      if (typeof e['stack'] === 'string') stack = `\n    ${e['stack'].split('\n').slice(1, 8).map((l) => l.trim()).join('\n    ')}`;
      continue;
    }
    fields.push(`${k}=${showValue(v)}`);
  }
  const msg = typeof o['msg'] === 'string' ? o['msg'] : '';
  const head = color ? `${LEVEL_COLORS[level] ?? ''}${name}\x1b[0m` : name;
  const ctx = color ? `\x1b[90m${where}\x1b[0m` : where;
  return `${time} ${head} ${ctx}  ${msg}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}${stack}`;
}
