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
import { DEFAULT_HISTORY, historyLimit, MAX_HISTORY } from '../catalog/catalog-views.js';

const MEMBER_TIMEOUT_MS = 1_500;

export interface OverviewSource {
  self: () => Record<string, unknown>;
  members: () => { nodeId: string; name: string; attrs: Record<string, string>; api: string; http: string; joinedAt: string; parent?: string }[];
  /** Status of every live content. */
  contents: () => unknown[];
  /** Statuses of a page of out-of-service contents, newest first. */
  history?: (limit: number, cursor: string | null) => { contents: unknown[]; next: string | null; total: number };
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
      summary: 'Everything the dashboard shows: tree, health, volumes, status and convergence of each live content and of the most recent withdrawn or expired ones, uploads (root)',
      query: { limit: `out-of-service contents included (default ${DEFAULT_HISTORY}, at most ${MAX_HISTORY})`, cursor: 'the `history.next` of the previous answer' },
      response: Overview,
      handler: async ({ url }) => {
        const s = requireRoot(source);
        const self = s.self();
        const members = s.members();
        const token = s.memberToken?.();
        const infos = await Promise.all(members.map((m) => memberNode(m.api, token)));
        const nodes = members.map((m, i) => ({ ...m, parent: m.parent ?? self.nodeId, health: infos[i] ? 'up' : 'unreachable', store: infos[i]?.store ?? null }));
        const history = s.history?.(historyLimit(url.searchParams.get('limit')), url.searchParams.get('cursor')) ?? { contents: [], next: null, total: 0 };
        return { at: Date.now(), root: self, nodes, contents: [...s.contents(), ...history.contents], history: { next: history.next, total: history.total }, uploads: s.uploads() };
      },
    },
  ];
}
