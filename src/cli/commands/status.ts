import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { formatAttributes } from '../../core/attributes.js';
import { formatBytes } from '../../core/sizes.js';
import { ApiClient, DEFAULT_API } from '../api-client.js';
import { action, printJson } from '../output.js';
import { renderBar } from '../progress.js';

import type { ContentStatusView, NodeStatusRow } from '../../node/content-status.js';

export type NodeStatus = NodeStatusRow;
export type ContentStatus = ContentStatusView;

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

const WATCH_INTERVAL_MS = 500;

function formatEta(seconds: number | null): string {
  if (seconds === null) return 'ETA unknown (nothing moving)';
  if (seconds < 120) return `ETA ${seconds} s`;
  return seconds < 7200 ? `ETA ${Math.round(seconds / 60)} min` : `ETA ${(seconds / 3600).toFixed(1)} h`;
}

function formatPrefetch(p: ContentStatus['prefetch']): string {
  if (!p) return '';
  return `  prefetch${p.window ? ` ${p.window} local` : ''}${p.rate ? ` at ${formatBytes(p.rate)}/s` : ''}`;
}

export function formatStatus(s: ContentStatus): string {
  const c = s.convergence;
  const state = s.state === 'live' ? '' : `  [${s.state.toUpperCase()}${s.withdrawnAt ? ` ${s.withdrawnAt}` : ''}]`;
  const lines = [`${s.contentId}  ${s.name}  v${s.version}/${s.versions}  ${formatBytes(s.size)}  criteria "${s.criteria}"${s.expires ? `  expires ${s.expires}` : ''}${formatPrefetch(s.prefetch)}${state}`];
  const moved = s.previous ? `  moved ${formatBytes(s.movedBytes)} (changed ${formatBytes(s.changedBytes)} since v${s.version - 1})` : `  moved ${formatBytes(s.movedBytes)}`;
  const speed = c.converged ? 'converged' : `${formatBytes(c.rateBps)}/s  ${formatEta(c.etaSeconds)}`;
  lines.push(`  ${c.complete}/${c.qualified} qualified nodes hold all, ${c.partial} part, ${c.none} none  ${speed}${moved}`);
  for (const n of s.nodes) {
    const label = `${n.name}${n.qualified ? '' : ' (not qualified)'}${n.online ? '' : ' (offline)'}`;
    const note = `${formatAttributes(n.attrs)}${n.fetchedBytes > 0 ? `  fetched ${formatBytes(n.fetchedBytes)} (${((100 * n.fetchedBytes) / Math.max(1, s.size)).toFixed(1)} %)` : ''}${n.complete && n.url ? `  ${n.url}` : ''}`;
    lines.push(`  ${renderBar({ label, done: n.haveBytes, total: s.size, note })}`);
  }
  for (const st of c.stuck) lines.push(`  stuck: ${st.name}: ${st.reason}${st.detail ? ` (${st.detail})` : ''}`);
  return lines.join('\n');
}

/** Redraws the status of one content in place until every qualified node holds it. */
async function watch(api: ApiClient, content: string, out: NodeJS.WriteStream): Promise<ContentStatus> {
  let drawn = 0;
  for (;;) {
    const status = await api.get<ContentStatus>(`/api/contents/${encodeURIComponent(content)}/status`);
    const text = formatStatus(status);
    if (out.isTTY) {
      out.write(`${drawn > 0 ? `\x1b[${drawn}A` : ''}${text.split('\n').map((l) => `\x1b[2K${l}`).join('\n')}\n`);
      drawn = text.split('\n').length;
    }
    if (status.convergence.converged || status.state !== 'live') {
      if (!out.isTTY) out.write(`${text}\n`);
      return status;
    }
    await sleep(WATCH_INTERVAL_MS);
  }
}

export function registerStatus(program: Command): void {
  program
    .command('status [content]')
    .description('which nodes hold how much of a content, convergence, ETA and stuck nodes (all contents when none is named)')
    .option('--to <url>', 'admin API of the root', DEFAULT_API)
    .option('--watch', 'with a content: redraw live until every qualified node holds it')
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (content: string | undefined, opts: { to: string; json?: boolean; watch?: boolean }) => {
        const api = new ApiClient(opts.to);
        if (content && opts.watch) {
          const final = await watch(api, content, opts.json ? ({ isTTY: false, write: () => true } as unknown as NodeJS.WriteStream) : process.stdout);
          if (opts.json) printJson(final);
          return;
        }
        const ids = content ? [content] : (await api.get<{ contents: ContentSummary[] }>('/api/contents')).contents.map((c) => c.contentId);
        const statuses = await Promise.all(ids.map((id) => api.get<ContentStatus>(`/api/contents/${encodeURIComponent(id)}/status`)));
        if (opts.json) printJson(content ? statuses[0] : { contents: statuses });
        else process.stdout.write(statuses.length === 0 ? 'no contents published yet\n' : `${statuses.map(formatStatus).join('\n\n')}\n`);
      }),
    );
}

export function registerLs(program: Command): void {
  program
    .command('ls')
    .description('list the contents published to the network')
    .option('--to <url>', 'admin API of the root', DEFAULT_API)
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (opts: { to: string; json?: boolean }) => {
        const { contents } = await new ApiClient(opts.to).get<{ contents: ContentSummary[] }>('/api/contents');
        if (opts.json) return printJson({ contents });
        if (contents.length === 0) return void process.stdout.write('no contents published yet\n');
        for (const c of contents) {
          const version = c.version ? `v${c.version}`.padStart(4) : '';
          const state = c.state && c.state !== 'live' ? `  ${c.state.toUpperCase()}` : '';
          process.stdout.write(`${c.contentId.slice(0, 16)}  ${formatBytes(c.size).padStart(10)}  ${String(c.blocks).padStart(6)} blocks  ${c.createdAt}  ${version}  ${c.name}  [${c.criteria}]${state}\n`);
        }
      }),
    );
}
