/**
 * The admin routes of adaptive limits (docs/adaptive.md). Both need `Authorization:
 * Bearer <admin token>` like every admin route.
 *
 *   GET  /v1/adaptive                        every adaptive resource: settings, factor, frozen, why, signals;
 *                                            the controller's last decisions (on the meta leader); the
 *                                            factor changes this node applied, with their meta index
 *   POST /v1/adaptive/:resource/freeze       { "frozen": true } (default) pins the factor; false releases it
 *
 * `GET /v1/config/explain` (admin-routes.ts) shows the same per-resource record for one check.
 */
import type uws from 'uWebSockets.js';
import { RateLimiterError } from '../../protocol/errors.js';
import { checkBearer } from '../meta/auth.js';
import { STATUS, readBody, sendJson, toWireError, type ApiLogger, type RouteModule } from './http.js';

/** What the routes need from the node (MetaService and AdaptiveService together). */
export interface AdaptiveAdminApi {
  view(): unknown;
  freezeFactor(resource: string, frozen: boolean): Promise<unknown>;
}

export interface AdaptiveRoutesDeps {
  readonly adaptive: AdaptiveAdminApi;
  /** Undefined: the routes answer 403 to everyone. */
  readonly adminToken: string | undefined;
  readonly logger: ApiLogger | null;
}

/** A freeze body is `{}` or `{ "frozen": bool }`: 1 KiB is plenty. */
const BODY_BYTES_MAX = 1024;

function fail(res: uws.HttpResponse, err: unknown, logger: ApiLogger | null): void {
  const wire = toWireError(err, logger);
  const status = STATUS[wire.code];
  sendJson(res, status, { error: wire }, status.startsWith('503') ? { 'Retry-After': '1' } : {});
}

function safeDecode(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

export function adaptiveRoutes(deps: AdaptiveRoutesDeps): RouteModule {
  const authorized = (res: uws.HttpResponse, req: uws.HttpRequest): boolean => {
    const err = checkBearer(req.getHeader('authorization'), deps.adminToken, 'admin');
    if (err === null) return true;
    fail(res, err, deps.logger);
    return false;
  };

  return (app: uws.TemplatedApp): void => {
    app.get('/v1/adaptive', (res, req) => {
      if (!authorized(res, req)) return;
      try {
        sendJson(res, '200 OK', deps.adaptive.view());
      } catch (err) {
        fail(res, err, deps.logger);
      }
    });

    app.post('/v1/adaptive/:resource/freeze', (res, req) => {
      if (!authorized(res, req)) return;
      const resource = safeDecode(req.getParameter(0) ?? '');
      readBody(res, BODY_BYTES_MAX, (raw, live) => {
        let frozen: unknown = true;
        const text = raw.toString('utf8').trim();
        if (text !== '') {
          try {
            const body = JSON.parse(text) as unknown;
            if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
            frozen = (body as { frozen?: unknown }).frozen ?? true;
          } catch {
            frozen = undefined;
          }
        }
        if (typeof frozen !== 'boolean') {
          if (!live.aborted) fail(res, new RateLimiterError('RL_ERR_BAD_REQUEST', 'body must be empty or { "frozen": true | false }'), deps.logger);
          return;
        }
        let out: Promise<unknown>;
        try {
          out = deps.adaptive.freezeFactor(resource, frozen);
        } catch (err) {
          out = Promise.reject(err instanceof Error ? err : new Error(String(err)));
        }
        out.then(
          (body) => {
            if (!live.aborted) res.cork(() => sendJson(res, '200 OK', body));
          },
          (err: unknown) => {
            if (!live.aborted) res.cork(() => fail(res, err, deps.logger));
          },
        );
      });
    });
  };
}
