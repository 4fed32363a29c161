/**
 * One constructor for the node's HTTP servers (admin API, HTTP edge) whether they speak
 * plain HTTP or HTTPS: an HTTPS server is made without key and certificate, which are set
 * with `setSecureContext` before it listens and again when they are renewed
 * (src/node/https-setup.ts). Both kinds share http.Server's interface (timeouts,
 * closeAllConnections, 'request'), so the code around them does not care which it has.
 */
import type http from 'node:http';
import { nodeHttp } from './node-http.js';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { BULK_FRAME_BYTES } from '../wire/peer-connection.js';
import { keepBulkWritesApart } from '../wire/tls-writes.js';

export function createWebServer(tls: boolean, options: http.ServerOptions, listener: http.RequestListener): http.Server {
  if (!tls) return nodeHttp.createServer(options, listener);
  const server = https.createServer(options, listener);
  // Block slices go to each TLS socket in pieces, each encrypted from where it lies (wire/tls-writes.ts).
  server.on('secureConnection', (socket: Duplex) => keepBulkWritesApart(socket, BULK_FRAME_BYTES));
  return server;
}

/** Whether a server made by createWebServer speaks HTTPS. */
export function isHttps(server: http.Server): server is http.Server & https.Server {
  return server instanceof https.Server;
}
