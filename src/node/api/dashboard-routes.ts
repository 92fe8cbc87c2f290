/**
 * The live dashboard at `/`: a self-contained page (HTML, one plain-JS module, one
 * stylesheet, all under src/dashboard/) served from memory by every node. No CDN, no
 * build step: the files are read once when the routes are made and served as they are.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RouteModule } from './http.js';

interface Asset {
  readonly path: string;
  readonly file: string;
  readonly contentType: string;
}

/** Every file the page needs, and where it is served. */
const ASSETS: readonly Asset[] = [
  { path: '/', file: 'index.html', contentType: 'text/html; charset=utf-8' },
  { path: '/dashboard/app.js', file: 'app.js', contentType: 'text/javascript; charset=utf-8' },
  { path: '/dashboard/style.css', file: 'style.css', contentType: 'text/css; charset=utf-8' },
];

/**
 * Everything from this node; data from any node's `/v1/stats` (the page may gather the
 * cluster's stats from every node whose API address it learns).
 */
const CSP = "default-src 'self'; connect-src 'self' http: https: ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/** Folder the page's files are in. */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));

/**
 * Reads the page's files (throws with the path if one is missing: a broken checkout should
 * stop the node at start, not serve a half page) and returns the routes that serve them.
 *
 * @example
 * ```ts
 * const api = new ApiServer(options, { service, logger, routes: [dashboardRoutes()] });
 * ```
 */
export function dashboardRoutes(dir: string = DASHBOARD_DIR): RouteModule {
  const loaded = ASSETS.map((a) => {
    try {
      return { ...a, body: readFileSync(`${dir}${a.file}`) };
    } catch (err) {
      throw new Error(`Cannot load the dashboard: ${dir}${a.file} is missing or unreadable`, { cause: err });
    }
  });
  return (app) => {
    for (const a of loaded) {
      app.get(a.path, (res) => {
        res
          .writeStatus('200 OK')
          .writeHeader('Content-Type', a.contentType)
          .writeHeader('Cache-Control', 'no-cache')
          .writeHeader('X-Content-Type-Options', 'nosniff')
          .writeHeader('Content-Security-Policy', CSP)
          .end(a.body);
      });
    }
  };
}
