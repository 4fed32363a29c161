import type { Command } from 'commander';
import { parseAttributes } from '../../core/attributes.js';
import { parseScopes } from '../../api/api-tokens.js';
import { parseTtl } from '../../security/join-token.js';
import { ApiClient, DEFAULT_API } from '../../client/api-client.js';
import { findApiToken } from '../../client/api-token.js';
import { action, printJson } from '../output.js';

interface TokenOptions {
  attrs: string;
  ttl: string;
  to: string;
  apiTokenFile?: string;
  json?: boolean;
}

interface ApiTokenOptions {
  scopes: string;
  label: string;
  to: string;
  apiTokenFile?: string;
  json?: boolean;
}

/** `canopy token create`: a single-use join token carrying the attributes the node will be attested with. */
export function registerToken(program: Command): void {
  const token = program.command('token').description('join tokens for new nodes');
  token
    .command('create')
    .description('make a single-use join token (needs an admin API token for the root)')
    .option('--attrs <list>', 'attributes the joining node gets, e.g. region=eu,tier=edge', '')
    .option('--ttl <duration>', 'how long the token is valid (30m, 1h, 7d)', '1h')
    .option('--to <url>', 'admin API of the root', DEFAULT_API)
    .option('--api-token-file <file>', 'file with the admin API token')
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (opts: TokenOptions) => {
        const attrs = parseAttributes(opts.attrs);
        parseTtl(opts.ttl);
        const api = new ApiClient(opts.to, findApiToken(opts.apiTokenFile));
        const result = await api.postJson<{ token: string; id: string; expiresAt: number }>('/api/join-tokens', { attrs, ttl: opts.ttl });
        if (opts.json) printJson({ ...result, attrs });
        else process.stdout.write(`${result.token}\nsingle use, expires ${new Date(result.expiresAt).toISOString()}; join with: canopy node --join <root-host:peer-port> --token <token>\n`);
      }),
    );
}

/** `canopy api-token create`: a bearer token for the admin/publish API with chosen scopes. */
export function registerApiToken(program: Command): void {
  const cmd = program.command('api-token').description('bearer tokens for a node API');
  cmd
    .command('create')
    .description('make an API token with scopes read, publish and/or admin')
    .option('--scopes <list>', 'comma-separated scopes', 'read')
    .option('--label <text>', 'what the token is for', 'cli')
    .option('--to <url>', 'admin API of the node', DEFAULT_API)
    .option('--api-token-file <file>', 'file with an admin API token')
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (opts: ApiTokenOptions) => {
        const scopes = parseScopes(opts.scopes);
        const api = new ApiClient(opts.to, findApiToken(opts.apiTokenFile));
        const result = await api.postJson<{ token: string; scopes: string[] }>('/api/api-tokens', { scopes: scopes.join(','), label: opts.label });
        if (opts.json) printJson(result);
        else process.stdout.write(`${result.token}\nscopes: ${result.scopes.join(', ')}\n`);
      }),
    );
  cmd
    .command('list')
    .description('list the API tokens of a node (ids, scopes, labels; never secrets)')
    .option('--to <url>', 'admin API of the node', DEFAULT_API)
    .option('--api-token-file <file>', 'file with an admin API token')
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (opts: Omit<ApiTokenOptions, 'scopes' | 'label'>) => {
        const { tokens } = await new ApiClient(opts.to, findApiToken(opts.apiTokenFile)).get<{ tokens: { id: string; scopes: string[]; label: string; createdAt: string }[] }>('/api/api-tokens');
        if (opts.json) printJson({ tokens });
        else for (const t of tokens) process.stdout.write(`${t.id}  ${t.scopes.join(',')}  ${t.label}  ${t.createdAt}\n`);
      }),
    );
  cmd
    .command('revoke <id>')
    .description('revoke an API token by id (see api-token list)')
    .option('--to <url>', 'admin API of the node', DEFAULT_API)
    .option('--api-token-file <file>', 'file with an admin API token')
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (id: string, opts: Omit<ApiTokenOptions, 'scopes' | 'label'>) => {
        const result = await new ApiClient(opts.to, findApiToken(opts.apiTokenFile)).postJson<{ id: string; revoked: boolean }>(`/api/api-tokens/${encodeURIComponent(id)}/revoke`, {});
        if (opts.json) printJson(result);
        else process.stdout.write(`revoked API token ${result.id}\n`);
      }),
    );
}
