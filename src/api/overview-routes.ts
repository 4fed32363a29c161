/**
 * One call for the dashboard (root): the members with their attributes, health and store
 * usage (asked of each member over its link to the root, briefly, in parallel), every content's status (the
 * answer of GET /api/contents/<ref>/status: spread, version, state, convergence and stuck
 * nodes), and uploads in progress. The page derives transfer rates from successive calls.
 */
import { requireRoot } from './content-routes.js';
import type { Route } from './router.js';
import { Overview } from './schemas.js';

export interface OverviewSource {
  self: () => Record<string, unknown>;
  members: () => { nodeId: string; name: string; attrs: Record<string, string>; api: string; http: string; joinedAt: string; parent?: string }[];
  contents: () => unknown[];
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
      summary: 'Everything the dashboard shows: tree, health, volumes, status and convergence of each content, uploads (root)',
      response: Overview,
      handler: async () => {
        const s = requireRoot(source);
        const self = s.self();
        const members = s.members();
        const infos = await Promise.all(members.map((m) => s.memberInfo(m.nodeId)));
        const nodes = members.map((m, i) => ({ ...m, parent: m.parent ?? self.nodeId, health: infos[i] ? 'up' : 'unreachable', store: infos[i]?.store ?? null }));
        return { at: Date.now(), root: self, nodes, contents: s.contents(), uploads: s.uploads() };
      },
    },
  ];
}
