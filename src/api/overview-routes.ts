/**
 * One call for the dashboard (root): the members with their attributes, health and store
 * usage (asked of each member's own API, briefly, in parallel), every content's status (the
 * answer of GET /api/contents/<ref>/status: spread, version, state, convergence and stuck
 * nodes), and uploads in progress. The page derives transfer rates from successive calls.
 */
import { request } from 'undici';
import { requireRoot } from './content-routes.js';
import type { Route } from './router.js';
import { Overview } from './schemas.js';

const MEMBER_TIMEOUT_MS = 1_500;

export interface OverviewSource {
  self: () => Record<string, unknown>;
  members: () => { nodeId: string; name: string; attrs: Record<string, string>; api: string; http: string; joinedAt: string; parent?: string }[];
  contents: () => unknown[];
  uploads: () => unknown[];
  /**
   * The bearer token to show members' APIs (this node's admin token: it works where members
   * share it, as in a local network). Members' APIs are loopback-only by default, so across
   * hosts their store figures need the API opened to the root, or a report over the peer wire.
   */
  memberToken?: () => string | undefined;
}

async function memberNode(api: string, token: string | undefined): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await request(`${api}/api/node`, { headers: token ? { authorization: `Bearer ${token}` } : {}, headersTimeout: MEMBER_TIMEOUT_MS, bodyTimeout: MEMBER_TIMEOUT_MS });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return undefined;
    }
    return (await res.body.json()) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export function overviewRoutes(source: OverviewSource | undefined): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/overview',
      tag: 'nodes',
      summary: 'Everything the dashboard shows: tree, health, volumes, status and convergence of each content, uploads (root)',
      response: Overview,
      handler: async () => {
        const s = requireRoot(source);
        const self = s.self();
        const members = s.members();
        const token = s.memberToken?.();
        const infos = await Promise.all(members.map((m) => memberNode(m.api, token)));
        const nodes = members.map((m, i) => ({ ...m, parent: m.parent ?? self.nodeId, health: infos[i] ? 'up' : 'unreachable', store: infos[i]?.store ?? null }));
        return { at: Date.now(), root: self, nodes, contents: s.contents(), uploads: s.uploads() };
      },
    },
  ];
}
