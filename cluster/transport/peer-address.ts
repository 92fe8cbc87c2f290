/**
 * Parsing of peer addresses (`"host:port"`, `"[v6]:port"`) and node ids, shared by option
 * validation and the runtime peer-set methods so both reject the same inputs.
 */

/** A peer's dial target. */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** Longest node id, the same bound as Raft's `NODE_ID_LENGTH_MAX`: bounds handshake frames and map keys. */
export const NODE_ID_LENGTH_MAX = 256;

/** Longest host name: DNS names are at most 253 characters; 255 leaves room for `[v6]`. */
const HOST_LENGTH_MAX = 255;

/**
 * Checks a node id: a non-empty string of at most 256 UTF-16 units.
 * @throws TypeError naming `what` and the value.
 * @example
 * ```ts
 * checkNodeId('n1', "Cannot create transport: 'nodeId'"); // 'n1'
 * ```
 */
export function checkNodeId(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > NODE_ID_LENGTH_MAX) {
    throw new TypeError(`${what} must be a non-empty string of at most ${NODE_ID_LENGTH_MAX} characters (got ${JSON.stringify(value) ?? String(value)})`);
  }
  return value;
}

/**
 * Parses `"host:port"` or `"[ipv6]:port"`; the port must be in [1, 65535].
 * @throws TypeError naming `what` and the value.
 * @example
 * ```ts
 * parsePeerAddress('127.0.0.1:7001', 'peer n2'); // { host: '127.0.0.1', port: 7001 }
 * parsePeerAddress('[::1]:7001', 'peer n2');     // { host: '::1', port: 7001 }
 * ```
 */
export function parsePeerAddress(value: unknown, what: string): PeerAddress {
  const fail = (): never => {
    throw new TypeError(`${what} must be "host:port" with a port in [1, 65535] (got ${JSON.stringify(value) ?? String(value)})`);
  };
  if (typeof value !== 'string') return fail();
  const colon = value.lastIndexOf(':');
  if (colon <= 0) return fail();
  let host = value.slice(0, colon);
  const portText = value.slice(colon + 1);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  else if (host.includes(':')) return fail(); // a bare IPv6 address is ambiguous: require brackets
  if (host.length === 0 || host.length > HOST_LENGTH_MAX || /\s/.test(host)) return fail();
  if (!/^[0-9]{1,5}$/.test(portText)) return fail();
  const port = Number(portText);
  if (port < 1 || port > 65535) return fail();
  return { host, port };
}
