/**
 * What a standby root answers on its admin API port while another root leads (a hot
 * standby): the read routes whose answers the shared database holds, with the same code and
 * tokens as on the leader: the catalog (`canopy ls`, a content, its manifest), and from the
 * leader's views (leader-views.ts) a content's status, the members and the tree. Every
 * other request, and every write, gets ERR_NOT_LEADER (503) naming the leader's addresses,
 * so a client (the CLI, a script, a load balancer) learns at once where to go;
 * `GET /api/leader` answers 200 with the lease view. The peer port stays closed: members
 * talk to the leader only.
 */
import type http from 'node:http';
import { nodeHttp } from '../../http/node-http.js';
import { applyTimeouts } from '../../http/timeouts.js';
import { sendError, sendJson, requestUrl } from '../../http/http-util.js';
import { listenOn } from '../../wire/tcp-transport.js';
import { CanopyError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { contentRoutes, type RootApi } from '../../api/content-routes.js';
import { apiGuard } from '../../api/api-guard.js';
import { answerHealth } from '../../api/health-answer.js';
import { dispatch, findRoute, type Route } from '../../api/router.js';
import { notLeader, type LeaderView } from './leadership.js';
import type { StandbyMirror } from './standby-mirror.js';

/** The leader's view `name`, or ERR_NOT_LEADER when the leader has not written it (yet). */
function leaderView(mirror: StandbyMirror, view: () => LeaderView, name: string): unknown {
  const v = mirror.view(name);
  if (!v) throw notLeader(view().leader, `only the leader knows ${name.startsWith('status:') ? "this content's status" : name} now`);
  return v.view;
}

/** The read routes a standby answers; `RootApi` writes are never reached (writes are refused before routing). */
export function standbyRoutes(mirror: StandbyMirror, view: () => LeaderView): Route[] {
  const refuse = (): never => {
    throw notLeader(view().leader);
  };
  const root: RootApi = {
    publish: refuse,
    publishSigned: refuse,
    checkPublisher: refuse,
    holdsBlock: refuse,
    signedUrl: refuse,
    withdraw: refuse,
    status: (contentId) => leaderView(mirror, view, `status:${contentId}`),
    nodes: () => (leaderView(mirror, view, 'nodes') as { nodes?: unknown[] }).nodes ?? [],
  };
  const info = () => ({ root: true, standby: true, leader: view() });
  const reads = contentRoutes({ info, catalog: mirror.catalog, root, log: createLogger({ component: 'standby-api' }) }).filter((r) => r.method === 'GET');
  return [
    ...reads,
    { method: 'GET', path: '/api/tree', summary: "The leader's place in the control tree (as the leader last wrote it)", handler: () => leaderView(mirror, view, 'tree') },
    { method: 'GET', path: '/api/leader', summary: 'Which root leads, its fencing number, this root', handler: () => view() },
  ];
}

export async function serveStandbyApi(address: { host: string; port: number }, view: () => LeaderView, mirror: StandbyMirror): Promise<http.Server> {
  const routes = standbyRoutes(mirror, view);
  const server = nodeHttp.createServer((req, res) => {
    if (answerHealth(req, res, () => ({ ready: false }))) return;
    void answer(req, res, routes, mirror, view).catch((err: unknown) => sendError(res, err));
  });
  // Like the leader's API: a stalled client does not hold its socket (http/timeouts.ts).
  applyTimeouts(server);
  await listenOn(server, address, 'API');
  return server;
}

async function answer(req: http.IncomingMessage, res: http.ServerResponse, routes: Route[], mirror: StandbyMirror, view: () => LeaderView): Promise<void> {
  const url = requestUrl(req);
  const read = req.method === 'GET' || req.method === 'HEAD';
  // `/api/leader` needs no token: it says what every member is told anyway.
  if (read && url.pathname === '/api/leader') return sendJson(res, 200, view());
  if (!read || !findRoute(routes, req.method!, url.pathname)) {
    req.resume();
    throw notLeader(view().leader);
  }
  try {
    await mirror.fresh();
  } catch (err) {
    throw new CanopyError('ERR_STATE_UNAVAILABLE', `this standby cannot read the state database: ${(err as Error).message}`);
  }
  await dispatch(routes, req, res, apiGuard(mirror.tokens));
}

export function closeStandbyApi(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
