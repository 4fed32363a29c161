/**
 * Who may call which admin API route. Every `/api` route and `/metrics` need a bearer token
 * (checked before the path is even routed, so an unauthenticated caller learns nothing about
 * routes); each route then needs a scope:
 *   none     /healthz, /readyz, /openapi.json and the web app's static files (no data in them)
 *   read     GET and HEAD, /metrics, POST /api/criteria/match (a question, not a change)
 *   publish  POST /api/contents, withdrawals, signed URLs, the browser publishing routes (drafts, tus)
 *   admin    everything else: join tokens, attributes, revocation, API tokens and publisher keys (listing too), renewal
 * A browser carries the token in an HttpOnly, SameSite=Strict cookie: opening any page with
 * `?token=cat1…` sets it (the demo prints such a dashboard URL). SameSite does not stop
 * another port of the same host (a page on an HTTP edge) from sending it, so a write that
 * is authenticated by the cookie alone must also come from this origin (./same-origin.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CanopyError } from '../core/errors.js';
import { grants, type ApiTokens, type Scope } from './api-tokens.js';
import type { Guard, Route } from './router.js';
import { checkCookieWrite } from './same-origin.js';

const OPEN = new Set(['/healthz', '/readyz', '/openapi.json', '/', '/publish', '/assets/*']);
export const TOKEN_COOKIE = 'canopy_token';

export function scopeOf(route: Route, method: string): Scope | undefined {
  if (OPEN.has(route.path)) return undefined;
  if (route.path.startsWith('/api/publish/') || route.path.startsWith('/api/uploads') || (route.path === '/api/contents' && method === 'POST') || route.path.endsWith('/signed-url') || route.path.endsWith('/withdraw')) return 'publish';
  if (route.path === '/api/api-tokens' || route.path.startsWith('/api/publishers')) return 'admin';
  if (route.path === '/metrics' || route.path === '/api/criteria/match') return 'read';
  return method === 'GET' || method === 'HEAD' ? 'read' : 'admin';
}

function bearerOf(req: IncomingMessage): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
}

function presented(req: IncomingMessage): string | undefined {
  const bearer = bearerOf(req);
  if (bearer) return bearer;
  const cookie = (req.headers.cookie ?? '').split(';').map((c) => c.trim()).find((c) => c.startsWith(`${TOKEN_COOKIE}=`));
  return cookie?.slice(TOKEN_COOKIE.length + 1);
}

export function apiGuard(tokens: ApiTokens): Guard {
  const scopesOf = (req: IncomingMessage) => {
    const token = presented(req);
    return token === undefined ? undefined : tokens.verify(token);
  };
  return {
    before(req: IncomingMessage, res: ServerResponse, url: URL) {
      const login = url.searchParams.get('token');
      if (login && !url.pathname.startsWith('/api/') && tokens.verify(login)) {
        res.setHeader('set-cookie', `${TOKEN_COOKIE}=${login}; HttpOnly; SameSite=Strict; Path=/`);
        req.headers.cookie = `${TOKEN_COOKIE}=${login}`;
      }
      if ((url.pathname.startsWith('/api/') || url.pathname === '/metrics') && !scopesOf(req)) {
        throw new CanopyError('ERR_AUTH_REQUIRED', 'this API needs a bearer token (Authorization: Bearer cat1...)');
      }
    },
    route(route: Route, req: IncomingMessage) {
      const needed = scopeOf(route, req.method ?? 'GET');
      if (!needed) return;
      const scopes = scopesOf(req);
      if (!scopes) throw new CanopyError('ERR_AUTH_REQUIRED', 'this API needs a bearer token (Authorization: Bearer cat1...)');
      if (!grants(scopes, needed)) throw new CanopyError('ERR_SCOPE', `this request needs the "${needed}" scope; the token has ${scopes.join(', ')}`);
      // A page cannot set Authorization on another origin without a CORS preflight we never grant; a cookie it can.
      if (bearerOf(req) === undefined) checkCookieWrite(req, route);
    },
  };
}
