import type { Command } from 'commander';
import { parseTtl } from '../../security/join-token.js';
import { ApiClient, DEFAULT_API } from '../../client/api-client.js';
import { findApiToken } from '../../client/api-token.js';
import { action, printJson } from '../output.js';
import type { ContentStatus } from './status.js';

interface UrlOptions {
  ttl: string;
  base?: string;
  to: string;
  apiTokenFile?: string;
  json?: boolean;
}

/** `canopy url`: a signed, expiring URL for a content whose access mode is `signed` (works on every node). */
export function registerUrl(program: Command): void {
  program
    .command('url <content>')
    .description('make a signed URL with an expiry for a content (needs the publish scope on the root)')
    .option('--ttl <duration>', 'how long the URL works (30m, 1h, 7d)', '1h')
    .option('--base <url>', 'HTTP edge of one node, e.g. http://10.0.0.5:7402 (default: every node that holds the content)')
    .option('--to <url>', 'admin API of the root', DEFAULT_API)
    .option('--api-token-file <file>', 'file with an API token')
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (content: string, opts: UrlOptions) => {
        parseTtl(opts.ttl);
        const api = new ApiClient(opts.to, findApiToken(opts.apiTokenFile));
        const signed = await api.postJson<{ contentId: string; expiresAt: number; path: string }>(`/api/contents/${encodeURIComponent(content)}/signed-url`, { ttl: opts.ttl });
        let bases = opts.base ? [opts.base.replace(/\/$/, '')] : [];
        if (bases.length === 0) {
          const status = await api.get<ContentStatus>(`/api/contents/${signed.contentId}/status`);
          bases = status.nodes.flatMap((n) => (n.complete && n.url ? [new URL(n.url).origin] : []));
        }
        const urls = bases.map((b) => `${b}${signed.path}`);
        if (opts.json) printJson({ ...signed, urls });
        else process.stdout.write(`${urls.join('\n')}\nexpires ${new Date(signed.expiresAt).toISOString()}\n`);
      }),
    );
}
