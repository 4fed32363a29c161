import type { Command } from 'commander';
import { formatBytes } from '../../core/sizes.js';
import { ApiClient, DEFAULT_API } from '../../client/api-client.js';
import { action, printJson } from '../output.js';

export interface WithdrawResult {
  contentId: string;
  freedBytes: number;
  state: string;
  reason: string;
}

export function registerWithdraw(program: Command): void {
  program
    .command('withdraw <content>')
    .description('take a content out of service on every node now (nodes that are down learn it when they rejoin)')
    .option('--reason <text>', 'why, shown in status and logs', 'withdrawn by the publisher')
    .option('--to <url>', 'admin API of the root', DEFAULT_API)
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (content: string, opts: { reason: string; to: string; json?: boolean }) => {
        const params = new URLSearchParams({ reason: opts.reason });
        const result = await new ApiClient(opts.to).post<WithdrawResult>(`/api/contents/${encodeURIComponent(content)}/withdraw?${params}`);
        if (opts.json) printJson(result);
        else process.stdout.write(`${result.contentId}\nwithdrawn (${result.reason}); the root freed ${formatBytes(result.freedBytes)}, every node stops serving it now\n`);
      }),
    );
}
