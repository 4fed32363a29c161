/**
 * The admin and publishing API (JSON over HTTP, bound to loopback by default), used by the
 * CLI and the web app. Routes live in small modules (content-, ops-, criteria-, publish-,
 * overview-, web-routes); this file joins them into one server. `GET /openapi.json`
 * describes every route.
 */
import http from 'node:http';
import { CanopyError } from '../core/errors.js';
import { contentRoutes, type ContentRoutesDeps } from './content-routes.js';
import { sendError } from './http-util.js';
import { opsRoutes } from './ops-routes.js';
import { dispatch, type Route } from './router.js';
import type { MetricFamily } from '../ops/metrics.js';

export { contentSummary, type PublishRequest, type RootApi } from './content-routes.js';

export interface AdminApiDeps extends ContentRoutesDeps {
  /** Families for /metrics; none when left out. */
  metrics?: () => MetricFamily[];
  /** Route modules besides the content and operations routes. */
  routes?: readonly Route[];
}

export const API_VERSION = '1';

export function adminRoutes(deps: AdminApiDeps): Route[] {
  const routes: Route[] = [];
  routes.push(...opsRoutes({ metrics: deps.metrics ?? (() => []), routes: () => routes, version: API_VERSION }), ...contentRoutes(deps), ...(deps.routes ?? []));
  return routes;
}

export function createAdminApi(deps: AdminApiDeps): http.Server {
  const routes = adminRoutes(deps);
  return http.createServer((req, res) => {
    dispatch(routes, req, res).catch((err: unknown) => {
      if (!(err instanceof CanopyError)) deps.log.error('api request failed', { url: req.url, err: err as Error });
      sendError(res, err);
    });
  });
}
