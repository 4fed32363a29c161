import type { Command } from 'commander';
import { formatAttributes } from '../../core/attributes.js';
import { CanopyError } from '../../core/errors.js';
import { formatBytes } from '../../core/sizes.js';
import type { ApiClient } from '../../client/api-client.js';
import { action, printJson } from '../output.js';
import { liveLoop } from '../live-loop.js';
import { renderBar } from '../../client/progress.js';
import { formatEta, RateTracker } from '../rates.js';
import { Screen } from '../screen.js';

import type { ContentStatusView, NodeStatusRow } from '../../root/content-status.js';
import { apiClient, apiTokenFileOption, apiUrlOption } from '../api-options.js';
import { formatRoots } from '../roots-line.js';
import type { LeaderView } from '../../root/state/leadership.js';

export type NodeStatus = NodeStatusRow;
/** `storedBytes` is what a complete holder stores: size minus holes. */
export type ContentStatus = ContentStatusView;

/** What the live view needs; the lifecycle fields (version, convergence, stuck...) are shown when present. */
export type LiveStatus = Pick<ContentStatus, 'contentId' | 'name' | 'size' | 'criteria'> &
  Partial<Omit<ContentStatus, 'nodes'>> & { nodes: (Pick<NodeStatus, 'nodeId' | 'name' | 'qualified' | 'haveBytes' | 'complete'> & Partial<NodeStatus>)[] };

interface ContentSummary {
  contentId: string;
  name: string;
  size: number;
  blocks: number;
  criteria: string;
  createdAt: string;
  state?: string;
  version?: number;
  versions?: number;
}

function formatFleetEta(seconds: number | null): string {
  if (seconds === null) return 'ETA unknown (nothing moving)';
  if (seconds < 120) return `ETA ${seconds} s`;
  return seconds < 7200 ? `ETA ${Math.round(seconds / 60)} min` : `ETA ${(seconds / 3600).toFixed(1)} h`;
}

/** All/part/none among qualified nodes, the fleet's rate and ETA, and what this version moved. */
function convergenceLine(s: ContentStatus): string {
  const c = s.convergence;
  const moved = s.previous ? `  moved ${formatBytes(s.movedBytes)} (changed ${formatBytes(s.changedBytes)} since v${s.version - 1})` : `  moved ${formatBytes(s.movedBytes)}`;
  const speed = c.converged ? 'converged' : `${formatBytes(Math.round(c.rateBps))}/s  ${formatFleetEta(c.etaSeconds)}`;
  return `${c.complete}/${c.qualified} qualified nodes hold all, ${c.partial} part, ${c.none} none  ${speed}${moved}`;
}

function formatPrefetch(p: ContentStatus['prefetch']): string {
  if (!p) return '';
  return `  prefetch${p.window ? ` ${p.window} local` : ''}${p.rate ? ` at ${formatBytes(p.rate)}/s` : ''}`;
}

export function formatStatus(s: ContentStatus): string {
  const c = s.convergence;
  const state = s.state === 'live' ? '' : `  [${s.state.toUpperCase()}${s.withdrawnAt ? ` ${s.withdrawnAt}` : ''}${s.withdrawnReason ? `: ${s.withdrawnReason}` : ''}]`;
  const lines = [`${s.contentId}  ${s.name}  v${s.version}/${s.versions}  ${formatBytes(s.size)}  criteria "${s.criteria}"${s.expires ? `  expires ${s.expires}` : ''}${formatPrefetch(s.prefetch)}${state}`];
  lines.push(`  ${convergenceLine(s)}`);
  for (const n of s.nodes) {
    const label = `${n.name}${n.qualified ? '' : ' (not qualified)'}${n.online ? '' : ' (offline)'}`;
    const note = `${formatAttributes(n.attrs)}${n.fetchedBytes > 0 ? `  fetched ${formatBytes(n.fetchedBytes)} (${((100 * n.fetchedBytes) / Math.max(1, s.size)).toFixed(1)} %)` : ''}${n.complete && n.url ? `  ${n.url}` : ''}`;
    lines.push(`  ${renderBar({ label, done: n.haveBytes, total: s.storedBytes ?? s.size, note })}`);
  }
  for (const st of c.stuck) lines.push(`  stuck: ${st.name}: ${st.reason}${st.detail ? ` (${st.detail})` : ''}`);
  return lines.join('\n');
}

/** True when every qualified node holds the whole content, or it is out of service. */
export function isSettled(s: LiveStatus): boolean {
  return (s.state !== undefined && s.state !== 'live') || s.nodes.every((n) => !n.qualified || n.complete);
}

/** The live view: convergence, a bar per node with its rate and estimated time to finish, and who is stuck. */
export function formatLiveStatus(s: LiveStatus, rates: RateTracker, at: number): string[] {
  const q = s.nodes.filter((n) => n.qualified);
  const state = s.state && s.state !== 'live' ? `  [${s.state.toUpperCase()}]` : '';
  const version = s.version ? `  v${s.version}/${s.versions}` : '';
  // The convergence counts departed qualified nodes too; the header says the same numbers.
  const complete = s.convergence ? `${s.convergence.complete}/${s.convergence.qualified}` : `${q.filter((n) => n.complete).length}/${q.length}`;
  const lines = [`${s.contentId.slice(0, 16)}  ${s.name}${version}  ${formatBytes(s.size)}  "${s.criteria}"  ${complete} complete${state}`];
  for (const n of s.nodes) {
    if (!n.qualified) {
      lines.push(`  ${n.name.padEnd(22)} not qualified${n.haveBytes > 0 ? ` (holds ${formatBytes(n.haveBytes)})` : ''}`);
      continue;
    }
    const rate = rates.update(`${s.contentId}:${n.nodeId}`, n.haveBytes, at);
    const fetched = n.fetchedBytes ? `  fetched ${formatBytes(n.fetchedBytes)}` : '';
    const total = s.storedBytes ?? s.size;
    lines.push(`  ${renderBar({ label: `${n.name}${n.online === false ? ' (offline)' : ''}`, done: n.haveBytes, total, note: `${formatBytes(Math.round(rate)).padStart(10)}/s  eta ${formatEta(total - n.haveBytes, rate)}${fetched}` })}`);
  }
  // A qualified node that left has no row in `nodes`, but it counts: it gets a bar, marked offline.
  const listed = new Set(s.nodes.map((n) => n.nodeId));
  for (const st of s.convergence?.stuck ?? []) {
    if (st.reason !== 'offline' || listed.has(st.nodeId)) continue;
    lines.push(`  ${renderBar({ label: `${st.name} (offline)`, done: 0, total: s.storedBytes ?? s.size, note: 'offline' })}`);
  }
  // Convergence and stuck nodes come under the bars, so each bar stays under its content's title.
  if (s.convergence) lines.push(`  ${convergenceLine(s as ContentStatus)}`);
  for (const st of s.convergence?.stuck ?? []) lines.push(`  stuck: ${st.name}: ${st.reason}${st.detail ? ` (${st.detail})` : ''}`);
  return lines;
}

/** On a pipe, a frame is printed when some node crosses a 10 % step. */
function stepKey(statuses: ContentStatus[]): string {
  return statuses.map((s) => s.nodes.map((n) => (s.size > 0 ? Math.floor((n.haveBytes / s.size) * 10) : 10)).join(',')).join(';');
}

async function fetchStatuses(api: ApiClient, content: string | undefined): Promise<ContentStatus[]> {
  const ids = content ? [content] : (await api.get<{ contents: ContentSummary[] }>('/api/contents')).contents.map((c) => c.contentId);
  return Promise.all(ids.map((id) => api.get<ContentStatus>(`/api/contents/${encodeURIComponent(id)}/status`)));
}

async function watch(api: ApiClient, content: string | undefined, intervalMs: number, json: boolean): Promise<void> {
  const screen = new Screen();
  const rates = new RateTracker();
  await liveLoop(intervalMs, async (interrupted) => {
    const statuses = await fetchStatuses(api, content);
    const at = Date.now();
    if (!json) screen.draw(statuses.length === 0 ? ['no contents published yet'] : statuses.flatMap((s) => formatLiveStatus(s, rates, at)), screen.tty ? undefined : stepKey(statuses));
    if (!interrupted && !statuses.every(isSettled)) return false;
    if (json) printJson(content ? statuses[0] : { contents: statuses });
    return true;
  });
}

export function registerStatus(program: Command): void {
  program
    .command('status [content]')
    .description('which nodes hold how much of a content, convergence, ETA and stuck nodes (all contents when none is named)')
    .addOption(apiUrlOption())
    .addOption(apiTokenFileOption())
    .option('--watch', 'redraw live, with rates, estimates and stuck nodes, until every qualified node holds it all (or Ctrl-C)')
    .option('--interval <ms>', 'refresh period of --watch', '1000')
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (content: string | undefined, opts: { to: string; json?: boolean; watch?: boolean; interval: string }) => {
        const api = apiClient(opts);
        if (opts.watch) {
          const interval = Number(opts.interval);
          if (!Number.isInteger(interval) || interval < 50) throw new CanopyError('ERR_USAGE', `--interval: "${opts.interval}" must be an integer of at least 50 (milliseconds)`);
          return watch(api, content, interval, opts.json === true);
        }
        const statuses = await fetchStatuses(api, content);
        if (opts.json) return printJson(content ? statuses[0] : { contents: statuses });
        // Several roots on PostgreSQL: which leads comes first (a node that says nothing of a lease prints nothing).
        const lease = (await api.get<{ leader?: LeaderView }>('/api/node')).leader;
        if (lease) process.stdout.write(`${formatRoots(lease)}\n`);
        process.stdout.write(statuses.length === 0 ? 'no contents published yet\n' : `${statuses.map(formatStatus).join('\n\n')}\n`);
      }),
    );
}

export function registerLs(program: Command): void {
  program
    .command('ls')
    .description('list the contents published to the network')
    .addOption(apiUrlOption())
    .addOption(apiTokenFileOption())
    .option('--history', 'list only withdrawn and expired contents, newest first, a page at a time')
    .option('--limit <n>', 'withdrawn and expired contents per page (0-100)', '10')
    .option('--cursor <cursor>', 'the page after this one (printed at the end of the previous page)')
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (opts: { to: string; json?: boolean; history?: boolean; limit: string; cursor?: string }) => {
        const query = new URLSearchParams({ limit: opts.limit, ...(opts.history ? { state: 'history' } : {}), ...(opts.cursor ? { cursor: opts.cursor } : {}) });
        const { contents, history } = await apiClient(opts).get<{ contents: ContentSummary[]; history?: { next: string | null; total: number } }>(`/api/contents?${query}`);
        if (opts.json) return printJson({ contents, ...(history ? { history } : {}) });
        if (contents.length === 0) return void process.stdout.write(opts.history ? 'no withdrawn or expired contents are on record\n' : 'no contents published yet\n');
        for (const c of contents) {
          const version = c.version ? `v${c.version}`.padStart(4) : '';
          const state = c.state && c.state !== 'live' ? `  ${c.state.toUpperCase()}` : '';
          process.stdout.write(`${c.contentId.slice(0, 16)}  ${formatBytes(c.size).padStart(10)}  ${String(c.blocks).padStart(6)} blocks  ${c.createdAt}  ${version}  ${c.name}  [${c.criteria}]${state}\n`);
        }
        if (history?.next) process.stdout.write(`older withdrawn or expired contents (${history.total} on record): canopy ls --history --cursor ${history.next}\n`);
      }),
    );
}
