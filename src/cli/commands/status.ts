import type { Command } from 'commander';
import { formatAttributes } from '../../core/attributes.js';
import { formatBytes } from '../../core/sizes.js';
import { ApiClient, DEFAULT_API } from '../api-client.js';
import { action, printJson } from '../output.js';
import { renderBar } from '../progress.js';

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

export function registerStatus(program: Command): void {
  program
    .command('status [content]')
    .description('which nodes hold how much of a content (all contents when none is named)')
    .option('--to <url>', 'admin API of the root', DEFAULT_API)
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (content: string | undefined, opts: { to: string; json?: boolean }) => {
        const api = new ApiClient(opts.to);
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
        for (const c of contents) process.stdout.write(`${c.contentId.slice(0, 16)}  ${formatBytes(c.size).padStart(10)}  ${String(c.blocks).padStart(6)} blocks  ${c.createdAt}  ${c.name}  [${c.criteria}]\n`);
      }),
    );
}
