/**
 * The admin HTTP API of a node: read, validate, write and explain the replicated
 * configuration, and move group leadership. Every route needs `Authorization: Bearer
 * <admin token>` (401 without one, 403 when wrong or when the node runs without an admin
 * token). Writes go through the meta group and answer once applied on this node.
 *
 *   GET  /v1/config                         current version and document (ETag: "<version>")
 *   PUT  /v1/config                         YAML or JSON body; optional If-Match: "<version>"
 *   POST /v1/config/validate                dry run: every issue, or what would change
 *   GET  /v1/config/explain?key=&resource=&tier=
 *   POST /v1/admin/leader-transfer          { "group": 3, "node": "n2" }
 *   GET  /v1/admin/nodes                    members, their state, and the moves in progress
 *   POST /v1/admin/nodes                    { "id": "n4", "peerAddress": "h:p", "apiAddress": "h:p", "zone": "z" } (join; zone optional)
 *   POST /v1/admin/nodes/:id/drain          { "draining": true } (default) or false to undo
 *   DELETE /v1/admin/nodes/:id              remove a drained node
 *   POST /v1/admin/groups/:id/split         split a shard group now (docs/scale.md, "Group split")
 */
import type uws from 'uWebSockets.js';
import type { ConfigDocument, ConfigFormat } from '../../../cluster/meta/index.js';
import type { CompiledConfig, ConfigIssue, Explanation } from '../../config/index.js';
import { RateLimiterError } from '../../protocol/errors.js';
import { checkBearer } from '../meta/auth.js';
import type { ApplyResult, TransferResult, ValidateResult } from '../meta/meta-service.js';
import { STATUS, readBody, sendJson, toWireError, type ApiLogger, type Liveness, type RouteModule } from './http.js';

/** What the admin routes need from the node (MetaService implements it). */
export interface AdminApi {
  served(): { readonly version: number; readonly config: CompiledConfig };
  document(): ConfigDocument | null;
  validate(text: string, format: ConfigFormat): ValidateResult;
  applyConfig(text: string, format: ConfigFormat, ifMatch: number | null): Promise<ApplyResult>;
  explain(key: string, resource: string, tier: string | undefined): { version: number; explanation: Explanation; text: string };
  transferLeader(groupId: number, to: string): Promise<TransferResult>;
}

/** Membership admin (MetaService implements it); see docs/scale.md. */
export interface NodeAdminApi {
  joinNode(node: { readonly id: string; readonly peerAddress: string; readonly apiAddress: string | null; readonly zone?: string }): Promise<{ nodes: readonly unknown[]; mapVersion: number; groups: number }>;
  drainNode(nodeId: string, draining: boolean): Promise<{ nodeId: string; draining: boolean; mapVersion: number }>;
  removeNode(nodeId: string): Promise<{ nodeId: string; mapVersion: number }>;
  /** Members and moves as `GET /v1/admin/nodes` answers them. */
  nodesView(): unknown;
}

/** Shard group admin (the split driver implements it). */
export interface GroupAdminApi {
  /** Begins a split of `groupId`; resolves with the split once group 0 applied it. */
  splitGroup(groupId: number): Promise<unknown>;
}

export interface AdminRoutesDeps {
  readonly admin: AdminApi;
  /** Group routes; undefined: they answer 503. */
  readonly groups?: GroupAdminApi;
  /** Membership routes; undefined: they answer 503. */
  readonly nodes?: NodeAdminApi;
  /** Undefined: the admin API answers 403 to everyone. */
  readonly adminToken: string | undefined;
  readonly logger: ApiLogger | null;
  /**
   * Largest configuration body. 1 MiB holds ~10,000 client overrides; the meta group
   * itself accepts up to 4 MiB (CONFIG_TEXT_BYTES_MAX). [1 MiB]
   */
  readonly configBytesMax?: number;
}

/** Answers an error with its status and, where they help, its details (issues, current version). */
function sendFailure(res: uws.HttpResponse, err: unknown, logger: ApiLogger | null): void {
  const wire = toWireError(err, logger);
  const extra: Record<string, unknown> = {};
  if (err instanceof RateLimiterError) {
    const issues = err.details?.['issues'];
    if (Array.isArray(issues)) extra['issues'] = (issues as ConfigIssue[]).map((i) => ({ path: i.path, message: i.message }));
    const currentVersion = err.details?.['currentVersion'];
    if (typeof currentVersion === 'number') extra['currentVersion'] = currentVersion;
  }
  const status = STATUS[wire.code];
  sendJson(res, status, { error: { ...wire, ...extra } }, status.startsWith('503') ? { 'Retry-After': '1' } : {});
}

/** `"3"`, `3`, `W/"3"` → 3; `*` → null (any version); anything else → undefined (bad header). */
export function parseIfMatch(header: string): number | null | undefined {
  const h = header.trim();
  if (h === '') return null;
  if (h === '*') return null;
  const m = /^(?:W\/)?"?(\d{1,15})"?$/.exec(h);
  return m === null ? undefined : Number(m[1]);
}

function formatOf(contentType: string): ConfigFormat {
  return /\bjson\b/i.test(contentType) ? 'json' : 'yaml';
}

/** A path parameter, percent-decoded; a malformed escape is kept as sent (it then names no node). */
function safeDecode(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function adminRoutes(deps: AdminRoutesDeps): RouteModule {
  const { admin, logger } = deps;
  const bodyMax = deps.configBytesMax ?? 1024 * 1024;

  /** Checks the token (synchronously: uWS request objects die with the handler); answers and returns false on failure. */
  const authorized = (res: uws.HttpResponse, req: uws.HttpRequest): boolean => {
    const err = checkBearer(req.getHeader('authorization'), deps.adminToken, 'admin');
    if (err === null) return true;
    sendFailure(res, err, logger);
    return false;
  };

  /** Reads a UTF-8 body, then runs `work` and answers with its result. */
  const withText = (res: uws.HttpResponse, work: (text: string, live: Liveness) => Promise<{ status: string; body: unknown }> | { status: string; body: unknown }): void => {
    readBody(res, bodyMax, (raw, live) => {
      let text: string;
      try {
        text = utf8.decode(raw);
      } catch {
        if (!live.aborted) sendFailure(res, new RateLimiterError('RL_ERR_BAD_REQUEST', 'body is not valid UTF-8'), logger);
        return;
      }
      let out: Promise<{ status: string; body: unknown }>;
      try {
        out = Promise.resolve(work(text, live));
      } catch (err) {
        out = Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      out.then(
        (r) => {
          if (!live.aborted) res.cork(() => sendJson(res, r.status, r.body));
        },
        (err: unknown) => {
          if (!live.aborted) res.cork(() => sendFailure(res, err, logger));
        },
      );
    });
  };

  return (app: uws.TemplatedApp): void => {
    app.get('/v1/config', (res, req) => {
      if (!authorized(res, req)) return;
      const doc = admin.document();
      if (doc === null) {
        sendFailure(res, new RateLimiterError('RL_ERR_UNAVAILABLE', 'this node has not applied a replicated configuration yet (group 0 is seeding or catching up)'), logger);
        return;
      }
      sendJson(res, '200 OK', { version: doc.version, format: doc.format, text: doc.text, index: doc.index, ruleCount: admin.served().config.rules.length }, { ETag: `"${doc.version}"` });
    });

    app.put('/v1/config', (res, req) => {
      if (!authorized(res, req)) return;
      const format = formatOf(req.getHeader('content-type'));
      const ifMatch = parseIfMatch(req.getHeader('if-match'));
      if (ifMatch === undefined) {
        sendFailure(res, new RateLimiterError('RL_ERR_BAD_REQUEST', `If-Match must be a configuration version such as "3" (got ${JSON.stringify(req.getHeader('if-match'))})`), logger);
        return;
      }
      withText(res, async (text) => {
        const r = await admin.applyConfig(text, format, ifMatch);
        return {
          status: '200 OK',
          body: { version: r.version, index: r.index, added: r.changes.added, removed: r.changes.removed, changed: r.changes.changed, resets: r.changes.resets },
        };
      });
    });

    app.post('/v1/config/validate', (res, req) => {
      if (!authorized(res, req)) return;
      const format = formatOf(req.getHeader('content-type'));
      withText(res, (text) => {
        const v = admin.validate(text, format);
        if (!v.ok) return { status: '200 OK', body: { valid: false, issues: v.issues.map((i) => ({ path: i.path, message: i.message })) } };
        const c = v.changes;
        return {
          status: '200 OK',
          body: { valid: true, ruleCount: v.ruleCount, currentVersion: admin.served().version, added: c.added, removed: c.removed, changed: c.changed, resets: c.resets },
        };
      });
    });

    app.get('/v1/config/explain', (res, req) => {
      if (!authorized(res, req)) return;
      const key = req.getQuery('key') ?? '';
      const resource = req.getQuery('resource') ?? '';
      const tierRaw = req.getQuery('tier');
      if (key === '' || resource === '') {
        sendFailure(res, new RateLimiterError('RL_ERR_BAD_REQUEST', 'explain needs ?key=<client key>&resource=<resource> (and optionally &tier=<tier>)'), logger);
        return;
      }
      try {
        const e = admin.explain(key, resource, tierRaw === undefined || tierRaw === '' ? undefined : tierRaw);
        sendJson(res, '200 OK', { version: e.version, ...e.explanation, text: e.text });
      } catch (err) {
        sendFailure(res, err, logger);
      }
    });

    app.post('/v1/admin/leader-transfer', (res, req) => {
      if (!authorized(res, req)) return;
      withText(res, async (text) => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          throw new RateLimiterError('RL_ERR_BAD_REQUEST', 'body is not valid JSON');
        }
        const b = body as { group?: unknown; node?: unknown } | null;
        if (typeof b !== 'object' || b === null || !Number.isSafeInteger(b.group) || (b.group as number) < 0 || typeof b.node !== 'string' || b.node === '') {
          throw new RateLimiterError('RL_ERR_BAD_REQUEST', 'body must be { "group": <group id, 0 for meta>, "node": "<node id>" }');
        }
        const r = await admin.transferLeader(b.group as number, b.node);
        return { status: '202 Accepted', body: r };
      });
    });

    const nodesApi = (): NodeAdminApi => {
      if (deps.nodes === undefined) throw new RateLimiterError('RL_ERR_UNAVAILABLE', 'membership admin is not available on this node');
      return deps.nodes;
    };
    const jsonBody = (text: string): Record<string, unknown> => {
      if (text.trim() === '') return {};
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new RateLimiterError('RL_ERR_BAD_REQUEST', 'body is not valid JSON');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RateLimiterError('RL_ERR_BAD_REQUEST', 'body must be a JSON object');
      return body as Record<string, unknown>;
    };

    app.get('/v1/admin/nodes', (res, req) => {
      if (!authorized(res, req)) return;
      try {
        sendJson(res, '200 OK', nodesApi().nodesView());
      } catch (err) {
        sendFailure(res, err, logger);
      }
    });

    app.post('/v1/admin/nodes', (res, req) => {
      if (!authorized(res, req)) return;
      withText(res, async (text) => {
        const b = jsonBody(text);
        const api = b['apiAddress'];
        const zone = b['zone'];
        if (typeof b['id'] !== 'string' || typeof b['peerAddress'] !== 'string' || (api !== undefined && api !== null && typeof api !== 'string') || (zone !== undefined && zone !== null && typeof zone !== 'string')) {
          throw new RateLimiterError('RL_ERR_BAD_REQUEST', 'body must be { "id": "<node id>", "peerAddress": "<host:port>", "apiAddress": "<host:port>", "zone": "<zone>" (optional) }');
        }
        const r = await nodesApi().joinNode({ id: b['id'], peerAddress: b['peerAddress'], apiAddress: typeof api === 'string' ? api : null, ...(typeof zone === 'string' ? { zone } : {}) });
        return { status: '200 OK', body: r };
      });
    });

    app.post('/v1/admin/nodes/:id/drain', (res, req) => {
      if (!authorized(res, req)) return;
      const id = safeDecode(req.getParameter(0) ?? '');
      withText(res, async (text) => {
        const b = jsonBody(text);
        const draining = b['draining'] ?? true;
        if (typeof draining !== 'boolean') throw new RateLimiterError('RL_ERR_BAD_REQUEST', 'draining must be true or false');
        return { status: '200 OK', body: await nodesApi().drainNode(id, draining) };
      });
    });

    app.del('/v1/admin/nodes/:id', (res, req) => {
      if (!authorized(res, req)) return;
      const id = safeDecode(req.getParameter(0) ?? '');
      withText(res, async () => ({ status: '200 OK', body: await nodesApi().removeNode(id) }));
    });

    app.post('/v1/admin/groups/:id/split', (res, req) => {
      if (!authorized(res, req)) return;
      const raw = req.getParameter(0) ?? '';
      withText(res, async () => {
        const groupId = Number(raw);
        if (!/^\d{1,5}$/.test(raw) || groupId < 1) throw new RateLimiterError('RL_ERR_BAD_REQUEST', `the group must be a shard group id (1 or more; got ${JSON.stringify(raw)})`);
        if (deps.groups === undefined) throw new RateLimiterError('RL_ERR_UNAVAILABLE', 'group admin is not available on this node');
        return { status: '202 Accepted', body: { split: await deps.groups.splitGroup(groupId) } };
      });
    });
  };
}
