/**
 * What every HTTP edge response carries, and what every request must be, before any
 * content is looked up (docs/EDGE.md, docs/SECURITY.md):
 *   - `X-Content-Type-Options: nosniff` and a Content-Security-Policy with `sandbox`: a
 *     published file is served under the node's host, the same site as its admin API, so a
 *     published .html or .svg must not run script there (the browser renders it in an opaque
 *     origin with scripts off; images, media and inline styles still show).
 *   - exactly one Host header (RFC 9112 §3.2: 400 otherwise), and HTTP/1.x on the request
 *     line (505 for any other major version; Node's parser accepts `HTTP/2.0` as text).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CanopyError } from '../../core/errors.js';

export const EDGE_CSP = "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; sandbox";

export function setSafetyHeaders(res: ServerResponse): void {
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('content-security-policy', EDGE_CSP);
}

export function checkRequest(req: IncomingMessage): void {
  if (req.httpVersionMajor !== 1) throw new CanopyError('ERR_HTTP_VERSION', `HTTP/${req.httpVersion} is not supported here; use HTTP/1.1`);
  let hosts = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'host') hosts++;
  if (hosts > 1) throw new CanopyError('ERR_HTTP_REQUEST', `the request has ${hosts} Host headers; exactly one is allowed`);
}
