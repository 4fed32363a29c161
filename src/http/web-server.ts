/**
 * One constructor for the node's HTTP servers (admin API, HTTP edge) whether they speak
 * plain HTTP or HTTPS: an HTTPS server is made without key and certificate, which are set
 * with `setSecureContext` before it listens and again when they are renewed
 * (src/node/https-setup.ts). Both kinds share http.Server's interface (timeouts,
 * closeAllConnections, 'request'), so the code around them does not care which it has.
 */
import http from 'node:http';
import https from 'node:https';

export function createWebServer(tls: boolean, options: http.ServerOptions, listener: http.RequestListener): http.Server {
  return tls ? https.createServer(options, listener) : http.createServer(options, listener);
}

/** Whether a server made by createWebServer speaks HTTPS. */
export function isHttps(server: http.Server): server is http.Server & https.Server {
  return server instanceof https.Server;
}
