/**
 * The timeouts every HTTP server of Canopy sets (admin API, HTTP edge, S3 edge, standby
 * API), so a client that stalls cannot hold a socket, and the block buffers of the answer
 * it stopped reading, forever (notes/issue-25.md):
 * - headers: a request's headers must arrive within `headersMs` (a half-sent request is
 *   answered 408 and closed; Node checks every `connectionsCheckingInterval`, 30 s by default);
 * - idle: a socket on which nothing moves, no byte read and no write completed, for
 *   `idleMs` is destroyed: a reader that stopped reading, or vanished without a FIN;
 * - no overall request limit: a slow download or a large upload that keeps moving is
 *   legitimate however long it takes, and each write the client takes resets the idle clock;
 * - keep-alive: an idle kept-alive connection is closed after `keepAliveMs`.
 */
import type http from 'node:http';

export interface ServerTimeouts {
  idleMs: number;
  headersMs: number;
  keepAliveMs: number;
}

export const DEFAULT_TIMEOUTS: ServerTimeouts = { idleMs: 120_000, headersMs: 10_000, keepAliveMs: 5_000 };

export function applyTimeouts(server: http.Server, timeouts: ServerTimeouts = DEFAULT_TIMEOUTS): http.Server {
  server.headersTimeout = timeouts.headersMs;
  server.requestTimeout = 0;
  server.keepAliveTimeout = timeouts.keepAliveMs;
  server.setTimeout(timeouts.idleMs, (socket) => socket.destroy());
  return server;
}
