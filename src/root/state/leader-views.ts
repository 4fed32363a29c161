/**
 * What only the leader knows lives in its memory: which members are connected, how much of
 * each content each one reports holding, the control tree. So that a hot standby can answer
 * `canopy status`, `canopy nodes` and the tree view too, the leader writes the answers of
 * those read routes into `canopy_views` every few seconds, each only when it changed
 * (the catalog itself a standby reads from the catalog tables, never from here).
 * A standby's answer from a view is at most a round (2 s) plus its own refresh (1 s) old; the
 * views of a dead leader stay until the next leader rewrites them, in its first round.
 */
import type { RootApi } from '../../api/content-routes.js';
import type { Catalog } from '../../catalog/catalog.js';
import { DEFAULT_HISTORY, historyPage, liveContents } from '../../catalog/catalog-views.js';
import type { PostgresRootState } from './postgres-state.js';

/** How often the leader rewrites its changed views. */
export const VIEWS_EVERY_MS = 2_000;

/** The read answers the leader shares, by name: `nodes`, `tree`, `status:<contentId>`. */
export interface LeaderViewSource {
  nodes(): unknown;
  tree(): unknown;
  /** Contents whose status a standby may be asked (live ones and the recent history). */
  contents(): string[];
  status(contentId: string): unknown;
}

/** The leader's sources: its root API (members, statuses), its catalog (which contents), its tree link. */
export function rootViewSource(catalog: Catalog, api: Pick<RootApi, 'nodes' | 'status'>, tree: () => unknown): LeaderViewSource {
  return {
    nodes: () => ({ nodes: api.nodes() }),
    tree,
    contents: () => [...liveContents(catalog), ...historyPage(catalog, DEFAULT_HISTORY, null).entries].map((c) => c.contentId),
    status: (id) => api.status(id),
  };
}

/** The views as name -> JSON text; a status that throws (content forgotten meanwhile) is left out. */
export function collectViews(source: LeaderViewSource): Map<string, string> {
  const views = new Map<string, string>([
    ['nodes', JSON.stringify(source.nodes())],
    ['tree', JSON.stringify(source.tree())],
  ]);
  for (const id of source.contents()) {
    try {
      views.set(`status:${id}`, JSON.stringify(source.status(id)));
    } catch {
      // Retired between the listing and the status: no view, as for any content out of the list.
    }
  }
  return views;
}

/** What to write after `last`: views new or changed, and names no longer there. */
export function viewChanges(last: ReadonlyMap<string, string>, now: ReadonlyMap<string, string>): { changed: [string, string][]; gone: string[] } {
  return { changed: [...now].filter(([name, json]) => last.get(name) !== json), gone: [...last.keys()].filter((name) => !now.has(name)) };
}

/** Starts writing the views; returns the stop function. */
export function startLeaderViews(state: PostgresRootState, source: LeaderViewSource, leads: () => boolean): () => void {
  let last = new Map<string, string>();
  let first = true;
  const round = () => {
    if (!leads()) return;
    const now = collectViews(source);
    const { changed, gone } = viewChanges(last, now);
    // The first round also clears the previous leader's views of contents retired since.
    if (first) state.clearViewsExcept([...now.keys()]);
    first = false;
    if (changed.length > 0 || gone.length > 0) state.putViews(changed, gone);
    last = now;
  };
  round();
  const timer = setInterval(round, VIEWS_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
