import type { Command } from 'commander';
import { formatAttributes } from '../../core/attributes.js';
import { CanopyError } from '../../core/errors.js';
import { formatBytes } from '../../core/sizes.js';
import { ApiClient, DEFAULT_API } from '../api-client.js';
import { action, printJson } from '../output.js';
import { renderBar } from '../progress.js';
import { formatEta, RateTracker } from '../rates.js';
import { Screen } from '../screen.js';

export interface NodeStatus {
  nodeId: string;
  name: string;
  attrs: Record<string, string>;
  qualified: boolean;
  haveBlocks: number;
  haveBytes: number;
  complete: boolean;
  url: string;
}

export interface ContentStatus {
  contentId: string;
  name: string;
  size: number;
  /** Bytes a complete holder stores: size minus holes (older roots omit it). */
  storedBytes?: number;
  blocks: number;
  criteria: string;
  nodes: NodeStatus[];
}

interface ContentSummary {
  contentId: string;
  name: string;
  size: number;
  blocks: number;
  criteria: string;
  createdAt: string;
}

export function formatStatus(s: ContentStatus): string {
  const lines = [`${s.contentId}  ${s.name}  ${formatBytes(s.size)}  criteria "${s.criteria}"`];
  for (const n of s.nodes) {
    const label = `${n.name} ${n.qualified ? '' : '(not qualified)'}`.trim();
    lines.push(`  ${renderBar({ label, done: n.haveBytes, total: s.storedBytes ?? s.size, note: `${formatAttributes(n.attrs)}${n.complete ? `  ${n.url}` : ''}` })}`);
  }
  return lines.join('\n');
}

/** True when every qualified node holds the whole content. */
export function isSettled(s: ContentStatus): boolean {
  return s.nodes.every((n) => !n.qualified || n.complete);
}

/** The live view: a bar per node with its rate and estimated time to finish. */
export function formatLiveStatus(s: ContentStatus, rates: RateTracker, at: number): string[] {
  const q = s.nodes.filter((n) => n.qualified);
  const lines = [`${s.contentId.slice(0, 16)}  ${s.name}  ${formatBytes(s.size)}  "${s.criteria}"  ${q.filter((n) => n.complete).length}/${q.length} complete`];
  for (const n of s.nodes) {
    if (!n.qualified) {
      lines.push(`  ${n.name.padEnd(22)} not qualified${n.haveBytes > 0 ? ` (holds ${formatBytes(n.haveBytes)})` : ''}`);
      continue;
    }
    const rate = rates.update(`${s.contentId}:${n.nodeId}`, n.haveBytes, at);
    lines.push(`  ${renderBar({ label: n.name, done: n.haveBytes, total: s.size, note: `${formatBytes(rate).padStart(10)}/s  eta ${formatEta(s.size - n.haveBytes, rate)}` })}`);
  }
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
  let stop = false;
  const onSignal = () => (stop = true);
  process.once('SIGINT', onSignal);
  try {
    for (;;) {
      const statuses = await fetchStatuses(api, content);
      const at = Date.now();
      if (!json) screen.draw(statuses.length === 0 ? ['no contents published yet'] : statuses.flatMap((s) => formatLiveStatus(s, rates, at)), screen.tty ? undefined : stepKey(statuses));
      if (stop || statuses.every(isSettled)) {
        if (json) printJson(content ? statuses[0] : { contents: statuses });
        return;
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  } finally {
    process.off('SIGINT', onSignal);
  }
}

export function registerStatus(program: Command): void {
  program
    .command('status [content]')
    .description('which nodes hold how much of a content (all contents when none is named)')
    .option('--to <url>', 'admin API of the root', DEFAULT_API)
    .option('--watch', 'redraw live, with rates and estimates, until every qualified node holds it all (or Ctrl-C)')
    .option('--interval <ms>', 'refresh period of --watch', '1000')
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (content: string | undefined, opts: { to: string; json?: boolean; watch?: boolean; interval: string }) => {
        const api = new ApiClient(opts.to);
        if (opts.watch) {
          const interval = Number(opts.interval);
          if (!Number.isInteger(interval) || interval < 50) throw new CanopyError('ERR_USAGE', `--interval: "${opts.interval}" must be an integer of at least 50 (milliseconds)`);
          return watch(api, content, interval, opts.json === true);
        }
        const statuses = await fetchStatuses(api, content);
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
        for (const c of contents) process.stdout.write(`${c.contentId.slice(0, 16)}  ${formatBytes(c.size).padStart(10)}  ${String(c.blocks).padStart(6)} blocks  ${c.createdAt}  ${c.name}  [${c.criteria}]\n`);
      }),
    );
}
