/**
 * One proxy of the built-in Toxiproxy-compatible server: listens on `listen`, connects
 * every accepted connection to `upstream`, and carries the bytes through a `Link` with
 * this proxy's toxics. Disabling closes the listener and every open connection (as
 * Toxiproxy does); enabling listens again on the same address.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { Link } from './link.js';
import { toxicJson, type Toxic, type ToxicStream } from './toxics.js';

/** Open connections per proxy: a chaos cluster needs a handful per link. */
const CONNECTIONS_MAX = 1024;
/** Toxics per proxy. */
export const TOXICS_MAX = 64;

export function splitHostPort(address: string): { host: string; port: number } | null {
  const i = address.lastIndexOf(':');
  if (i < 0) return null;
  const port = Number(address.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) return null;
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  return { host: host === '' || host === 'localhost' ? '127.0.0.1' : host, port };
}

export class TcpProxy {
  private server: Server | null = null;
  private readonly links = new Set<Link>();
  readonly toxics: Toxic[] = [];
  enabled = false;

  constructor(
    readonly name: string,
    /** As given, until listening resolves port 0 to the real port. */
    public listen: string,
    public upstream: string,
  ) {}

  json(): Record<string, unknown> {
    return { name: this.name, listen: this.listen, upstream: this.upstream, enabled: this.enabled, toxics: this.toxics.map(toxicJson) };
  }

  async enable(): Promise<void> {
    if (this.enabled) return;
    const addr = splitHostPort(this.listen);
    if (addr === null) throw new RangeError(`proxy ${this.name}: listen must be host:port (got ${JSON.stringify(this.listen)})`);
    const server = createServer({ allowHalfOpen: true }, (client) => this.accept(client));
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(addr.port, addr.host, () => {
        server.off('error', rej);
        res();
      });
    });
    const bound = server.address();
    if (typeof bound === 'object' && bound !== null) this.listen = `${addr.host}:${bound.port}`;
    this.server = server;
    this.enabled = true;
  }

  async disable(): Promise<void> {
    if (!this.enabled) return;
    this.enabled = false;
    const server = this.server;
    this.server = null;
    for (const l of [...this.links]) l.close(false);
    if (server !== null) await new Promise<void>((r) => server.close(() => r()));
  }

  /** Closes open connections (after a change of upstream). */
  dropConnections(): void {
    for (const l of [...this.links]) l.close(false);
  }

  private accept(client: Socket): void {
    const up = splitHostPort(this.upstream);
    if (up === null || this.links.size >= CONNECTIONS_MAX) {
      client.destroy();
      return;
    }
    const server = createConnection({ host: up.host, port: up.port, allowHalfOpen: true });
    const link = new Link(client, server, (stream: ToxicStream) => this.toxics.filter((t) => t.stream === stream), (l) => this.links.delete(l));
    this.links.add(link);
  }
}
