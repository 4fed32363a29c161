/**
 * The admin and publishing API (JSON over HTTP, bound to loopback by default), used by the
 * CLI and later the dashboard. Routes:
 *   GET  /healthz                      liveness
 *   GET  /api/node                     this node: id, attributes, addresses, store usage
 *   GET  /api/contents                 contents known here, with what this node holds
 *   GET  /api/contents/:ref            one content's manifest summary and local holding
 *   POST /api/contents?name=&criteria=[&blockSize=]   publish the request body (root)
 *   GET  /api/contents/:ref/status     which nodes qualify and hold how much (root)
 *   GET  /api/nodes                    members of the network (root)
 *   plus the admin routes of ./security-routes.ts
 * Every /api route needs a bearer token with the right scope (./api-tokens.ts):
 * GET → read, publish → publish, security routes → admin. /healthz is open.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { parseCriteria, type Criteria } from '../core/criteria.js';
import { CanopyError } from '../core/errors.js';
import { isValidContentName, type Manifest } from '../core/manifest.js';
import type { Catalog, Holding } from '../node/catalog.js';
import type { Logger } from '../node/logger.js';
import { authorise, type ApiTokens } from './api-tokens.js';
import { requestUrl, sendError, sendJson } from './http-util.js';
import { readJsonBody, securityRoutes, type AuthorityApi } from './security-routes.js';
import { parseAccessMode, type AccessMode } from '../security/content-access.js';
import { parseTtl } from '../security/join-token.js';

export interface PublishRequest {
  name: string;
  criteria: Criteria;
  blockSize: number | undefined;
  access: AccessMode;
}

export interface RootApi extends Omit<AuthorityApi, 'createJoinToken'> {
  publish(body: AsyncIterable<Buffer>, request: PublishRequest): Promise<{ contentId: string; manifest: Manifest }>;
  status(contentId: string): unknown;
  nodes(): unknown[];
  signedUrl(contentId: string, ttlSeconds: number): { expiresAt: number; query: string };
}

export interface AdminApiDeps {
  info: () => Record<string, unknown>;
  catalog: Catalog;
  root: RootApi | undefined;
  authority: AuthorityApi | undefined;
  tokens: ApiTokens;
  renewCertificate: () => Promise<{ nodeId: string; validTo: string }>;
  log: Logger;
}

export function contentSummary(contentId: string, manifest: Manifest, holding?: Holding): Record<string, unknown> {
  return {
    contentId,
    name: manifest.name,
    size: manifest.size,
    blockSize: manifest.blockSize,
    blocks: manifest.blocks.length,
    criteria: manifest.criteria,
    placement: manifest.placement,
    origin: manifest.origin,
    createdAt: manifest.createdAt,
    ...(holding ? { local: holding } : {}),
  };
}

export function createAdminApi(deps: AdminApiDeps): http.Server {
  const server = http.createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => {
    route(deps, req, res).catch((err: unknown) => {
      if (!(err instanceof CanopyError)) deps.log.error('api request failed', { url: req.url, err: err as Error });
      sendError(res, err);
    });
  });
  // Against slow senders: headers within 10 s, and a socket idle for 2 minutes is closed.
  // No overall request limit: a publish upload of a large content legitimately takes long.
  server.headersTimeout = 10_000;
  server.requestTimeout = 0;
  server.keepAliveTimeout = 5_000;
  server.setTimeout(120_000, (socket) => socket.destroy());
  return server;
}

function decodePart(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    throw new CanopyError('ERR_USAGE', 'malformed percent-encoding in the path');
  }
}

function requireRoot(deps: AdminApiDeps): RootApi {
  if (!deps.root) throw new CanopyError('ERR_USAGE', 'this node is not the root: send this request to the root node');
  return deps.root;
}

function findContent(deps: AdminApiDeps, ref: string): { contentId: string; manifest: Manifest } {
  const found = deps.catalog.resolve(ref);
  if (!found) throw new CanopyError('ERR_CONTENT_NOT_FOUND', `no content "${ref}" is known here`);
  return found;
}

async function route(deps: AdminApiDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = requestUrl(req);
  const raw = url.pathname.split('/').filter(Boolean);
  const method = req.method ?? 'GET';
  if (method === 'GET' && url.pathname === '/healthz') return sendJson(res, 200, { ok: true });
  if (raw[0] !== 'api') throw new CanopyError('ERR_CONTENT_NOT_FOUND', `no route ${method} ${url.pathname}`);
  // The token is checked before anything else of the request is parsed.
  const isPublish = method === 'POST' && raw[1] === 'contents' && (!raw[2] || raw[3] === 'signed-url');
  authorise(deps.tokens, req.headers.authorization, method === 'GET' || method === 'HEAD' ? 'read' : isPublish ? 'publish' : 'admin');
  const parts = raw.map(decodePart);
  const [, resource, ref, sub] = parts;
  if (await securityRoutes(req, res, parts, deps)) return;
  if (method === 'GET' && resource === 'node' && !ref) return sendJson(res, 200, deps.info());
  if (method === 'GET' && resource === 'api-tokens' && !ref) {
    authorise(deps.tokens, req.headers.authorization, 'admin');
    return sendJson(res, 200, { tokens: deps.tokens.list() });
  }
  if (method === 'GET' && resource === 'nodes' && !ref) return sendJson(res, 200, { nodes: requireRoot(deps).nodes() });
  if (resource === 'contents') {
    if (method === 'GET' && !ref) {
      return sendJson(res, 200, { contents: deps.catalog.list().map((c) => contentSummary(c.contentId, c.manifest, deps.catalog.holding(c.contentId))) });
    }
    if (method === 'POST' && !ref) return publish(deps, req, res, url);
    if (method === 'GET' && ref && !sub) {
      const c = findContent(deps, ref);
      return sendJson(res, 200, contentSummary(c.contentId, c.manifest, deps.catalog.holding(c.contentId)));
    }
    if (method === 'GET' && ref && sub === 'status') return sendJson(res, 200, requireRoot(deps).status(findContent(deps, ref).contentId));
    if (method === 'GET' && ref && sub === 'manifest') return sendJson(res, 200, findContent(deps, ref).manifest);
    if (method === 'POST' && ref && sub === 'signed-url') {
      const c = findContent(deps, ref);
      const ttl = parseTtl(String((await readJsonBody(req)).ttl ?? '1h'));
      const { expiresAt, query } = requireRoot(deps).signedUrl(c.contentId, Math.ceil(ttl / 1000));
      return sendJson(res, 201, { contentId: c.contentId, expiresAt, path: `/content/${c.contentId}/${encodeURIComponent(c.manifest.name)}?${query}` });
    }
  }
  throw new CanopyError('ERR_CONTENT_NOT_FOUND', `no route ${method} ${url.pathname}`);
}

async function publish(deps: AdminApiDeps, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const root = requireRoot(deps);
  const name = url.searchParams.get('name');
  if (!name || !isValidContentName(name)) throw new CanopyError('ERR_USAGE', 'publish needs ?name= of 1-255 characters without / \\ or NUL');
  const criteria = parseCriteria(url.searchParams.get('criteria') ?? '*');
  const bs = url.searchParams.get('blockSize');
  const blockSize = bs === null ? undefined : Number(bs);
  if (blockSize !== undefined && (!Number.isInteger(blockSize) || blockSize < 4096 || blockSize > 64 * 2 ** 20)) {
    throw new CanopyError('ERR_USAGE', `blockSize ${bs} must be an integer between 4096 and 67108864`);
  }
  const access = parseAccessMode(url.searchParams.get('access') ?? 'public');
  const result = await root.publish(req, { name, criteria, blockSize, access });
  deps.log.info('published', { contentId: result.contentId, name, size: result.manifest.size });
  sendJson(res, 201, contentSummary(result.contentId, result.manifest));
}
