/**
 * One call for the dashboard (root): the members with their attributes, health and store
 * usage (asked of each member over its link to the root, briefly, in parallel), every content's status (the
 * answer of GET /api/contents/<ref>/status: spread, version, state, convergence and stuck
 * nodes), and uploads in progress. The page derives transfer rates from successive calls.
 */
import { requireRoot } from './content-routes.js';
import type { Route } from './router.js';
import { Overview } from './schemas.js';
import { DEFAULT_HISTORY, historyLimit, MAX_HISTORY } from '../catalog/catalog-views.js';

export interface OverviewSource {
  self: () => Record<string, unknown>;
  members: () => { nodeId: string; name: string; attrs: Record<string, string>; api: string; http: string; joinedAt: string; parent?: string }[];
  /** Status of every live content. */
  contents: () => unknown[];
  /** Statuses of a page of out-of-service contents, newest first. */
  history?: (limit: number, cursor: string | null) => { contents: unknown[]; next: string | null; total: number };
  uploads: () => unknown[];
  /**
   * A member's own figures (its store), asked over the member's mutually authenticated link
   * to the root, so the root sees every member without their admin API tokens or ports.
   * Undefined when the member does not answer in time.
   */
  memberInfo: (nodeId: string) => Promise<{ store?: unknown } | undefined>;
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
        const infos = await Promise.all(members.map((m) => s.memberInfo(m.nodeId)));
        const nodes = members.map((m, i) => ({ ...m, parent: m.parent ?? self.nodeId, health: infos[i] ? 'up' : 'unreachable', store: infos[i]?.store ?? null }));
        const history = s.history?.(historyLimit(url.searchParams.get('limit')), url.searchParams.get('cursor')) ?? { contents: [], next: null, total: 0 };
        return { at: Date.now(), root: self, nodes, contents: [...s.contents(), ...history.contents], history: { next: history.next, total: history.total }, uploads: s.uploads() };
      },
    },
  ];
}
