/**
 * Admin routes of the cluster authority and of API access (scopes in ./api-guard.ts):
 *   POST /api/join-tokens            {attrs, ttl}    → {token, id, expiresAt}        (root)
 *   POST /api/nodes/:ref/attributes  {attrs}         → {nodeId, attrs, serial}       (root)
 *   POST /api/nodes/:ref/revoke                      → {nodeId, revoked}             (root)
 *   GET  /api/api-tokens                             → {tokens: [{id, scopes, label, createdAt}]}
 *   POST /api/api-tokens             {scopes, label} → {token, scopes}
 *   POST /api/api-tokens/:id/revoke                  → {id, revoked}
 *   POST /api/node/renew                             → {nodeId, validTo}             (any node: new key and certificate)
 */
import { parseAttributes, type Attributes } from '../core/attributes.js';
import { CanopyError } from '../core/errors.js';
import { parseTtl } from '../security/join-token.js';
import { parseScopes, type ApiTokens } from './api-tokens.js';
import { requireRoot } from './content-routes.js';
import { readJsonBody } from '../http/http-util.js';
import type { Route } from './router.js';

export interface AuthorityApi {
  createJoinToken(attrs: Attributes, ttlMs: number): { token: string; id: string; expiresAt: number };
  setAttributes(ref: string, attrs: Attributes): unknown;
  revoke(ref: string): unknown;
}

export interface SecurityRoutesDeps {
  authority: AuthorityApi | undefined;
  tokens: ApiTokens;
  renewCertificate: () => Promise<{ nodeId: string; validTo: string }>;
}

function attrsOf(body: Record<string, unknown>): Attributes {
  const a = body.attrs;
  if (typeof a === 'string') return parseAttributes(a);
  if (typeof a === 'object' && a !== null && !Array.isArray(a)) return parseAttributes(Object.entries(a).map(([k, v]) => (v === '' ? k : `${k}=${String(v)}`)));
  throw new CanopyError('ERR_USAGE', 'attrs: expected "key=value,..." or an object');
}

export function securityRoutes(deps: SecurityRoutesDeps): Route[] {
  const tag = 'security';
  const { tokens } = deps;
  return [
    {
      method: 'POST',
      path: '/api/join-tokens',
      tag,
      status: 201,
      summary: 'A single-use join token carrying the attributes the new node gets (root, admin)',
      body: '{"attrs": "region=eu,tier=edge", "ttl": "1h"}',
      handler: async ({ req, res }) => {
        const body = await readJsonBody(req);
        const ttl = parseTtl(typeof body.ttl === 'string' ? body.ttl : '1h');
        res.statusCode = 201;
        return requireRoot(deps.authority).createJoinToken(attrsOf(body), ttl);
      },
    },
    {
      method: 'POST',
      path: '/api/nodes/:ref/attributes',
      tag,
      summary: "Re-sign a node's attributes; every holder applies them at once (root, admin)",
      body: '{"attrs": "region=us,tier=edge"}',
      handler: async ({ req, params }) => requireRoot(deps.authority).setAttributes(params.ref!, attrsOf(await readJsonBody(req))),
    },
    { method: 'POST', path: '/api/nodes/:ref/revoke', tag, summary: 'Remove a node: every member cuts it off (root, admin)', handler: ({ params }) => requireRoot(deps.authority).revoke(params.ref!) },
    { method: 'POST', path: '/api/node/renew', tag, summary: "Renew this node's certificate: new key, same node id (admin)", handler: () => deps.renewCertificate() },
    { method: 'GET', path: '/api/api-tokens', tag, summary: 'API tokens of this node: ids, scopes, labels, never secrets (admin)', handler: () => ({ tokens: tokens.list() }) },
    {
      method: 'POST',
      path: '/api/api-tokens',
      tag,
      status: 201,
      summary: 'A new API token with scopes read, publish and/or admin (admin)',
      body: '{"scopes": "read,publish", "label": "ci"}',
      handler: async ({ req, res }) => {
        const body = await readJsonBody(req);
        const scopes = parseScopes(typeof body.scopes === 'string' ? body.scopes : 'read');
        res.statusCode = 201;
        return { token: tokens.create(scopes, typeof body.label === 'string' ? body.label : ''), scopes };
      },
    },
    {
      method: 'POST',
      path: '/api/api-tokens/:id/revoke',
      tag,
      summary: 'Revoke an API token at once (admin)',
      handler: ({ params }) => {
        if (!tokens.revoke(params.id!)) throw new CanopyError('ERR_CONTENT_NOT_FOUND', `no API token with id ${params.id}`);
        return { id: params.id, revoked: true };
      },
    },
  ];

}
