/**
 * A small route table for the admin API on node:http. Each route carries the summary and
 * parameters the OpenAPI description is built from, so the description cannot drift from
 * what the server answers. Route modules export arrays of routes; admin-api.ts joins them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CanopyError } from '../core/errors.js';
import { requestUrl, sendJson } from '../http/http-util.js';
import { ErrorBody, type JsonSchema } from './schemas.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
}

export interface Route {
  /** One method, or several for a handler that speaks a protocol of its own (tus). */
  method: Method | readonly Method[];
  /** `/api/contents/:ref/status`; a trailing `/*` matches the prefix and everything under it. */
  path: string;
  summary: string;
  tag?: string;
  query?: Readonly<Record<string, string>>;
  /** JSON Schemas of path parameters that are more than any string (a block hash); the handler still checks them. */
  paramSchemas?: Readonly<Record<string, JsonSchema>>;
  /** What the request body is, for the description. */
  body?: string;
  /** JSON Schema of a JSON request body. */
  bodySchema?: JsonSchema;
  /** JSON Schema of the success answer, and its status when not 200. */
  response?: JsonSchema;
  status?: number;
  /** Set for routes the OpenAPI document should not list (static files). */
  hidden?: boolean;
  /** Returns a JSON value to send with 200, or nothing once it has answered by itself. */
  handler: (ctx: RouteContext) => unknown;
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new CanopyError('ERR_USAGE', 'malformed percent-encoding in the path');
  }
}

export function matchPath(pattern: string, pathname: string): Record<string, string> | undefined {
  const wild = pattern.endsWith('/*');
  const want = (wild ? pattern.slice(0, -2) : pattern).split('/').filter(Boolean);
  const got = pathname.split('/').filter(Boolean);
  if (wild ? got.length < want.length : got.length !== want.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, w] of want.entries()) {
    const g = got[i]!;
    if (w.startsWith(':')) params[w.slice(1)] = decode(g);
    else if (w !== g) return undefined;
  }
  if (wild) params['*'] = got.slice(want.length).map(decode).join('/');
  return params;
}

function methods(r: Route): readonly Method[] {
  return typeof r.method === 'string' ? [r.method] : r.method;
}

export function findRoute(routes: readonly Route[], method: string, pathname: string): { route: Route; params: Record<string, string> } | undefined {
  let pathMatched = false;
  for (const route of routes) {
    const params = matchPath(route.path, pathname);
    if (!params) continue;
    pathMatched = true;
    const ms = methods(route);
    if (ms.includes(method as Method) || (method === 'HEAD' && ms.includes('GET'))) return { route, params };
  }
  if (pathMatched) throw new CanopyError('ERR_USAGE', `method ${method} is not allowed on ${pathname}`);
  return undefined;
}

/** Checked before routing (`before`) and before the handler runs (`route`): authentication lives there. */
export interface Guard {
  before(req: IncomingMessage, res: ServerResponse, url: URL): void;
  route(route: Route, req: IncomingMessage, url: URL): void;
}

export async function dispatch(routes: readonly Route[], req: IncomingMessage, res: ServerResponse, guard?: Guard): Promise<void> {
  const url = requestUrl(req);
  const method = req.method ?? 'GET';
  guard?.before(req, res, url);
  const found = findRoute(routes, method, url.pathname);
  if (!found) throw new CanopyError('ERR_CONTENT_NOT_FOUND', `no route ${method} ${url.pathname}`);
  guard?.route(found.route, req, url);
  const value = await found.route.handler({ req, res, url, params: found.params });
  if (!res.headersSent && !res.writableEnded) sendJson(res, 200, value ?? { ok: true });
}

/** The OpenAPI 3.1 description of a route table. */
export function openApiDocument(routes: readonly Route[], info: { title: string; version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    if (r.hidden) continue;
    const oaPath = r.path.replace(/:(\w+)/g, '{$1}').replace(/\/\*$/, '/{rest}');
    const pathParams = [...r.path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: r.paramSchemas?.[m[1]!] ?? { type: 'string' } }));
    if (r.path.endsWith('/*')) pathParams.push({ name: 'rest', in: 'path', required: true, schema: { type: 'string' } });
    const query = Object.entries(r.query ?? {}).map(([name, description]) => ({ name, in: 'query', required: false, description, schema: { type: 'string' } }));
    for (const m of methods(r)) {
      (paths[oaPath] ??= {})[m.toLowerCase()] = {
        summary: r.summary,
        ...(r.tag ? { tags: [r.tag] } : {}),
        parameters: [...pathParams, ...query],
        ...(r.body ? { requestBody: { description: r.body, content: r.bodySchema ? { 'application/json': { schema: r.bodySchema } } : { '*/*': {} } } } : {}),
        responses: {
          [String(r.status ?? 200)]: { description: 'success', ...(r.response ? { content: { 'application/json': { schema: r.response } } } : {}) },
          default: { description: 'error; codes in docs/ERRORS.md', content: { 'application/json': { schema: ErrorBody } } },
        },
      };
    }
  }
  return { openapi: '3.1.0', info, paths };
}
