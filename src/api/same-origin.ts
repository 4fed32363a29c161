/**
 * Cross-site request forgery defence for requests the browser authenticates with the
 * `canopy_token` cookie. SameSite=Strict is not enough: every port of the same host is the
 * same site, so a page served by an HTTP edge (a published .html, say) would otherwise send
 * the admin's cookie with a form or a `no-cors` fetch. A state-changing request (anything
 * but GET, HEAD and OPTIONS) authenticated by the cookie must therefore:
 *   - carry an `Origin` equal to the API's own origin (browsers send it on every such
 *     request; a missing one is refused too, and `Sec-Fetch-Site`, when present, must say
 *     `same-origin`), and
 *   - send JSON as `application/json`, a type no form and no simple request can carry
 *     (the tus upload routes are exempt: they need `Tus-Resumable`, a header that forces a
 *     CORS preflight, which this API never answers with permission).
 * Bearer-token requests (the CLI, scripts) are not affected: a page cannot attach them.
 */
import type { IncomingMessage } from 'node:http';
import { CanopyError } from '../core/errors.js';
import { UPLOAD_PATH } from './publish-routes.js';
import type { Route } from './router.js';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export function checkCookieWrite(req: IncomingMessage, route: Route): void {
  if (SAFE.has(req.method ?? 'GET')) return;
  const origin = req.headers.origin;
  const host = req.headers.host;
  const own = host === undefined ? [] : [`http://${host}`, `https://${host}`];
  if (origin === undefined || !own.includes(origin)) {
    throw new CanopyError('ERR_CROSS_ORIGIN', `a ${req.method} authenticated by the browser cookie must come from this origin (Origin ${origin === undefined ? 'missing' : JSON.stringify(origin.slice(0, 100))})`);
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') throw new CanopyError('ERR_CROSS_ORIGIN', `a ${req.method} authenticated by the browser cookie must be same-origin (Sec-Fetch-Site: ${String(site).slice(0, 40)})`);
  if (route.path.startsWith(UPLOAD_PATH)) return;
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new CanopyError('ERR_CROSS_ORIGIN', `a ${req.method} authenticated by the browser cookie must send application/json (got ${JSON.stringify(type.slice(0, 60) || 'no content type')})`);
}
