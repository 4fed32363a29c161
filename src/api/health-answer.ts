/**
 * `/healthz` and `/readyz` answered first thing in the API's request listener: no URL
 * parsing, token check or routing, no body read, nothing awaited. A supervisor probing a
 * node that serves many downloads waits for the event loop to reach the request and for no
 * more (issue 16, item 10; the figures are in notes/issue-16.md). The routes in
 * ./ops-routes.ts describe them in the OpenAPI document and answer the same bodies.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

const LIVE = JSON.stringify({ ok: true });

export function writeHealth(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

/** Answers a plain `GET /healthz` or `GET /readyz` and returns true; anything else is left to the router. */
export function answerHealth(req: IncomingMessage, res: ServerResponse, ready: () => { ready: boolean }): boolean {
  if (req.method !== 'GET') return false;
  if (req.url === '/healthz') {
    writeHealth(res, 200, LIVE);
    return true;
  }
  if (req.url === '/readyz') {
    const r = ready();
    writeHealth(res, r.ready ? 200 : 503, JSON.stringify(r));
    return true;
  }
  return false;
}
