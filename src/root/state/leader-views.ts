/**
 * What only the leader knows lives in its memory: which members are connected, how much of
 * each content each one reports holding, the control tree. So that a hot standby can answer
 * `canopy status`, `canopy nodes` and the tree view too, the leader writes the answers of
 * those read routes into `canopy_views` every few seconds, each only when it changed
 * (the catalog itself a standby reads from the catalog tables, never from here).
 * A standby's answer from a view is at most a round (2 s) plus its own refresh (1 s) old for
 * what events change (a report, a join), and at most VIEW_STALE_MS (10 s) for what moves with
 * the clock alone; the views of a dead leader stay until the next leader rewrites them, in its
 * first round. Only the views whose inputs changed are recomputed (view-schedule.ts), one per
 * turn of the event loop, and the rounds are spaced by their own cost, so that the views
 * never hold the loop long enough to starve the lease renewal (issue 18: at 10,000 members
 * recomputing every status every 2 s held it for seconds and the leader lost its lease).
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { RootApi } from '../../api/content-routes.js';
import type { Catalog } from '../../catalog/catalog.js';
import type { RootRegistry } from '../root-registry.js';
import { nextRoundDelay, ViewSchedule } from './view-schedule.js';
import { DEFAULT_HISTORY, historyPage, liveContents } from '../../catalog/catalog-views.js';

/** How often the leader rewrites its changed views (at most: a costly round spaces the next one out). */
export const VIEWS_EVERY_MS = 2_000;

/** The read answers the leader shares, by name: `nodes`, `tree`, `status:<contentId>`. */
export interface LeaderViewSource {
  nodes(): unknown;
  tree(): unknown;
  /** Contents whose status a standby may be asked (live ones and the recent history). */
  contents(): string[];
  status(contentId: string): unknown;
  /** Tells `changed` of what a view depends on: a content (its status) or, undefined, everything (the member list). */
  watch(changed: (contentId: string | undefined) => void): void;
}

/** The leader's sources: its root API (members, statuses), its registry and catalog (what changed), its tree link. */
export function rootViewSource(catalog: Catalog, root: { service: { api(): Pick<RootApi, 'nodes' | 'status'> }; registry: Pick<RootRegistry, 'onChange'> }, tree: () => unknown): LeaderViewSource {
  const api = root.service.api();
  return {
    nodes: () => ({ nodes: api.nodes() }),
    tree,
    contents: () => [...liveContents(catalog), ...historyPage(catalog, DEFAULT_HISTORY, null).entries].map((c) => c.contentId),
    status: (id) => api.status(id),
    watch: (changed) => {
      root.registry.onChange(changed);
      catalog.onRecord((r) => changed(r.kind === 'withdrawal' ? r.withdrawal.contentId : r.contentId));
    },
  };
}

/** The name of a content's status view. */
export const statusView = (contentId: string) => `status:${contentId}`;

/** Every view the leader shares now, by name: nodes, tree, then one status per content listed. */
export function viewNames(source: Pick<LeaderViewSource, 'contents'>): string[] {
  return ['nodes', 'tree', ...source.contents().map(statusView)];
}

/** One view's answer; undefined for a status that throws (its content forgotten meanwhile: no view, as for any content out of the list). */
export function viewValue(source: LeaderViewSource, name: string): unknown {
  if (name === 'nodes') return source.nodes();
  if (name === 'tree') return source.tree();
  try {
    return source.status(name.slice('status:'.length));
  } catch {
    return undefined;
  }
}

/** One view's JSON text (undefined as above). */
export function computeView(source: LeaderViewSource, name: string): string | undefined {
  const value = viewValue(source, name);
  return value === undefined ? undefined : JSON.stringify(value);
}

/** The views as name -> JSON text, every one computed now. */
export function collectViews(source: LeaderViewSource): Map<string, string> {
  const views = new Map<string, string>();
  for (const name of viewNames(source)) {
    const json = computeView(source, name);
    if (json !== undefined) views.set(name, json);
  }
  return views;
}

/** What to write after `last`: views new or changed, and names no longer there. */
export function viewChanges(last: ReadonlyMap<string, string>, now: ReadonlyMap<string, string>): { changed: [string, string][]; gone: string[] } {
  return { changed: [...now].filter(([name, json]) => last.get(name) !== json), gone: [...last.keys()].filter((name) => !now.has(name)) };
}

/** Where the views go (PostgresRootState; an array in tests). */
export interface ViewSink {
  putViews(changed: [string, string][], gone: string[]): void;
  clearViewsExcept(names: string[]): void;
}

const digest = (json: string) => createHash('sha1').update(json).digest('base64');

/**
 * The leader's views writer: each round recomputes the views due (view-schedule.ts), one per
 * turn of the event loop, writes those whose text changed (compared by digest: the last
 * texts of 10,000-row statuses are not kept) and deletes those gone.
 */
export class LeaderViews {
  private readonly schedule = new ViewSchedule();
  /** Digest of each view as last written. */
  private written = new Map<string, string>();
  private first = true;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  /** The last round's event-loop time, ms (for the bench and the logs). */
  lastBusyMs = 0;

  constructor(
    private readonly sink: ViewSink,
    private readonly source: LeaderViewSource,
    private readonly leads: () => boolean,
    private readonly now: () => number = Date.now,
  ) {
    source.watch((contentId) => this.schedule.touch(contentId === undefined ? undefined : statusView(contentId)));
  }

  /** One round; resolves with the views written and deleted. */
  async round(): Promise<{ changed: string[]; gone: string[] }> {
    if (!this.leads()) return { changed: [], gone: [] };
    let busy = 0;
    let t = performance.now();
    // Each step of each view on a turn of its own (a 10,000-row status, its 3 MB of JSON, its
    // digest: each ~50-100 ms): the lease's timers run in between.
    const yieldTurn = async () => {
      busy += performance.now() - t;
      await nextTurn();
      t = performance.now();
      return this.stopped || !this.leads();
    };
    const names = viewNames(this.source);
    const listed = new Set(names);
    const changed: [name: string, json: string, digest: string][] = [];
    for (const name of this.schedule.due(names, this.now())) {
      const value = viewValue(this.source, name);
      this.schedule.done(name, this.now());
      let quit = await yieldTurn();
      const json = quit || value === undefined ? undefined : JSON.stringify(value);
      quit ||= await yieldTurn();
      if (quit) {
        // Computed, not written: due again in the next round that leads.
        this.schedule.touch();
        return { changed: [], gone: [] };
      }
      if (json === undefined) listed.delete(name);
      else {
        const d = digest(json);
        if (this.written.get(name) !== d) changed.push([name, json, d]);
      }
    }
    const gone = [...this.written.keys()].filter((name) => !listed.has(name));
    // The first round also clears the previous leader's views of contents retired since.
    if (this.first) this.sink.clearViewsExcept([...listed]);
    this.first = false;
    if (changed.length > 0 || gone.length > 0) this.sink.putViews(changed.map(([name, json]) => [name, json]), gone);
    for (const [name, , d] of changed) this.written.set(name, d);
    for (const name of gone) this.written.delete(name);
    this.schedule.keepOnly(listed);
    this.lastBusyMs = busy + performance.now() - t;
    return { changed: changed.map(([name]) => name), gone };
  }

  /** Rounds from now on, each VIEWS_EVERY_MS (or more, after a costly one) after the last ended. */
  start(): void {
    const loop = async () => {
      // A view that cannot be computed must not end the rounds (nor crash the root).
      await this.round().catch(() => this.schedule.touch());
      if (this.stopped) return;
      this.timer = setTimeout(() => void loop(), nextRoundDelay(VIEWS_EVERY_MS, this.lastBusyMs));
      this.timer.unref();
    };
    void loop();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}

/** Starts writing the views; returns the stop function. */
export function startLeaderViews(state: ViewSink, source: LeaderViewSource, leads: () => boolean): () => void {
  const views = new LeaderViews(state, source, leads);
  views.start();
  return () => views.stop();
}
