/**
 * The admin and publishing API (JSON over HTTP, bound to loopback by default), used by the
 * CLI and the web app. Routes live in small modules (content-, ops-, criteria-, publish-,
 * overview-, web-routes); this file joins them into one server. `GET /openapi.json`
 * describes every route. Every /api route needs a bearer token with the right scope
 * (./api-guard.ts, ./api-tokens.ts); the security routes are in ./security-routes.ts.
 */
import type http from 'node:http';
import { createWebServer } from '../http/web-server.js';
import { applyTimeouts } from '../http/timeouts.js';
import { CanopyError } from '../core/errors.js';
import { contentRoutes, isSignedPublish, type ContentRoutesDeps } from './content-routes.js';
import { takeBodies } from '../http/taken-body.js';
import { sendError } from '../http/http-util.js';
import { opsRoutes } from './ops-routes.js';
import { answerHealth } from './health-answer.js';
import { dispatch, type Route } from './router.js';
import { apiGuard } from './api-guard.js';
import { securityRoutes, type SecurityRoutesDeps } from './security-routes.js';
import type { MetricFamily } from '../ops/metrics.js';

export { contentSummary, type PublishRequest, type RootApi } from './content-routes.js';
export type { AuthorityApi } from './security-routes.js';

export interface AdminApiDeps extends ContentRoutesDeps, SecurityRoutesDeps {
  /** Families for /metrics; none when left out. */
  metrics?: () => MetricFamily[];
  /** What /readyz answers; always ready when left out. */
  ready?: () => { ready: boolean };
  /** Route modules besides the content and operations routes. */
  routes?: readonly Route[];
}

export const API_VERSION = '1';

export function adminRoutes(deps: AdminApiDeps): Route[] {
  const routes: Route[] = [];
  routes.push(...opsRoutes({ metrics: deps.metrics ?? (() => []), ready: deps.ready ?? (() => ({ ready: true })), routes: () => routes, version: API_VERSION }), ...contentRoutes(deps), ...securityRoutes(deps), ...(deps.routes ?? []));
  return routes;
}

/** `tls`: an HTTPS server whose key and certificate are set before it listens (`setSecureContext`, src/node/https-setup.ts). */
export function createAdminApi(deps: AdminApiDeps, tls = false): http.Server {
  const routes = adminRoutes(deps);
  const guard = apiGuard(deps.tokens);
  const ready = deps.ready ?? (() => ({ ready: true }));
  const server = createWebServer(tls, { maxHeaderSize: 16 * 1024 }, (req, res) => {
    if (answerHealth(req, res, ready)) return;
    dispatch(routes, req, res, guard).catch((err: unknown) => {
      if (!(err instanceof CanopyError)) deps.log.error('api request failed', { url: req.url, err: err as Error });
      sendError(res, err);
    });
  });
  // A publish upload's bytes are read into one reused buffer, not a fresh one per read (http/taken-body.ts).
  takeBodies(server, isSignedPublish);
  // Against slow senders: headers within 10 s, and a socket idle for 2 minutes is closed.
  // No overall request limit: a publish upload of a large content legitimately takes long.
  return applyTimeouts(server);
}
