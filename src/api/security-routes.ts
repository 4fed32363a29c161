/**
 * Admin routes of the cluster authority and of API access (all need the `admin` scope):
 *   POST /api/join-tokens            {attrs, ttl}   → {token, id, expiresAt}        (root)
 *   POST /api/nodes/:ref/attributes  {attrs}        → {nodeId, attrs, serial}       (root)
 *   POST /api/nodes/:ref/revoke                     → {nodeId, revoked}             (root)
 *   POST /api/api-tokens             {scopes, label} → {token, scopes}
 *   POST /api/api-tokens/:id/revoke                 → {id, revoked}
 *   POST /api/node/renew                            → {nodeId, validTo}             (any node: new key and certificate)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseAttributes, type Attributes } from '../core/attributes.js';
import { CanopyError } from '../core/errors.js';
import { parseTtl } from '../security/join-token.js';
import { parseScopes, type ApiTokens } from './api-tokens.js';
import { sendJson } from './http-util.js';

export const MAX_JSON_BODY = 64 * 1024;

export interface AuthorityApi {
  createJoinToken(attrs: Attributes, ttlMs: number): { token: string; id: string; expiresAt: number };
  setAttributes(ref: string, attrs: Attributes): unknown;
  revoke(ref: string): unknown;
}

/** Reads a small JSON body; a body past the limit is refused without buffering it. */
export async function readJsonBody(req: IncomingMessage, limit = MAX_JSON_BODY): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new CanopyError('ERR_USAGE', `request body of ${declared} bytes exceeds ${limit}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new CanopyError('ERR_USAGE', `request body exceeds ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new CanopyError('ERR_USAGE', 'request body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CanopyError('ERR_USAGE', 'request body must be a JSON object');
  return value as Record<string, unknown>;
}

function attrsOf(body: Record<string, unknown>): Attributes {
  const a = body.attrs;
  if (typeof a === 'string') return parseAttributes(a);
  if (typeof a === 'object' && a !== null && !Array.isArray(a)) return parseAttributes(Object.entries(a).map(([k, v]) => (v === '' ? k : `${k}=${String(v)}`)));
  throw new CanopyError('ERR_USAGE', 'attrs: expected "key=value,..." or an object');
}

/** Handles the route if it is one of these; returns false otherwise. Scope checks are the caller's. */
export async function securityRoutes(
  req: IncomingMessage,
  res: ServerResponse,
  parts: string[],
  deps: { authority: AuthorityApi | undefined; tokens: ApiTokens; renewCertificate: () => Promise<{ nodeId: string; validTo: string }> },
): Promise<boolean> {
  const { authority, tokens } = deps;
  if (req.method !== 'POST') return false;
  const [, resource, ref, action] = parts;
  const root = () => {
    if (!authority) throw new CanopyError('ERR_USAGE', 'this node is not the root: send this request to the root node');
    return authority;
  };
  if (resource === 'join-tokens' && !ref) {
    const body = await readJsonBody(req);
    const ttl = parseTtl(typeof body.ttl === 'string' ? body.ttl : '1h');
    sendJson(res, 201, root().createJoinToken(attrsOf(body), ttl));
    return true;
  }
  if (resource === 'nodes' && ref && action === 'attributes') {
    sendJson(res, 200, root().setAttributes(ref, attrsOf(await readJsonBody(req))));
    return true;
  }
  if (resource === 'nodes' && ref && action === 'revoke') {
    sendJson(res, 200, root().revoke(ref));
    return true;
  }
  if (resource === 'node' && ref === 'renew' && !action) {
    sendJson(res, 200, await deps.renewCertificate());
    return true;
  }
  if (resource === 'api-tokens' && ref && action === 'revoke') {
    if (!tokens.revoke(ref)) throw new CanopyError('ERR_CONTENT_NOT_FOUND', `no API token with id ${ref}`);
    sendJson(res, 200, { id: ref, revoked: true });
    return true;
  }
  if (resource === 'api-tokens' && !ref) {
    const body = await readJsonBody(req);
    const scopes = parseScopes(typeof body.scopes === 'string' ? body.scopes : 'read');
    sendJson(res, 201, { token: tokens.create(scopes, typeof body.label === 'string' ? body.label : ''), scopes });
    return true;
  }
  return false;
}
