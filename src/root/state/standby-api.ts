/**
 * What a standby root answers on its admin API port while another root leads: every request
 * gets ERR_NOT_LEADER (503) naming the leader's addresses, so a client (the CLI, a script,
 * a load balancer's health check) learns at once where to go; `GET /api/leader` answers 200
 * with the same view, for `canopy status`. No route of the real API runs here: a standby
 * has not loaded the state, so it can neither write nor answer reads it might have wrong.
 * The leader's addresses are what every member is told anyway; nothing else is said.
 */
import http from 'node:http';
import { sendError, sendJson, requestUrl } from '../../http/http-util.js';
import { listenOn } from '../../wire/tcp-transport.js';
import { notLeader, type LeaderView } from './leadership.js';

export async function serveStandbyApi(address: { host: string; port: number }, view: () => LeaderView): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const v = view();
    if (requestUrl(req).pathname === '/api/leader' && req.method === 'GET') return sendJson(res, 200, v);
    req.resume();
    sendError(res, notLeader(v.leader));
  });
  await listenOn(server, address, 'API');
  return server;
}

export function closeStandbyApi(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
