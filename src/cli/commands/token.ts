import type { Command } from 'commander';
import { parseAttributes } from '../../core/attributes.js';
import { parseScopes, s3Credentials } from '../../api/api-tokens.js';
import { CanopyError } from '../../core/errors.js';
import { parseTtl } from '../../security/join-token.js';
import { action, printJson } from '../output.js';
import { apiClient, apiTokenFileOption, apiUrlOption } from '../api-options.js';
import { findApiToken } from '../../client/api-token.js';

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
    .addOption(apiUrlOption())
    .addOption(apiTokenFileOption())
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (opts: TokenOptions) => {
        const attrs = parseAttributes(opts.attrs);
        parseTtl(opts.ttl);
        const api = apiClient(opts);
        const result = await api.postJson<{ token: string; id: string; expiresAt: number }>('/api/join-tokens', { attrs, ttl: opts.ttl });
        if (opts.json) printJson({ ...result, attrs });
        else process.stdout.write(`${result.token}\nsingle use, expires ${new Date(result.expiresAt).toISOString()}; join with: canopy node --join <root-host:peer-port> --token <token>\n`);
      }),
    );
}

/** `canopy api-token create`: a bearer token for the admin/publish API with chosen scopes. */
export function registerApiToken(program: Command): void {
  const cmd = program.command('api-token').description('bearer tokens for a node API');
  registerApiTokenCreate(cmd);
  registerApiTokenS3(cmd);
  registerApiTokenList(cmd);
  registerApiTokenRevoke(cmd);
}

function registerApiTokenCreate(cmd: Command): void {
  cmd
    .command('create')
    .description('make an API token with scopes read, publish and/or admin')
    .option('--scopes <list>', 'comma-separated scopes', 'read')
    .option('--label <text>', 'what the token is for', 'cli')
    .addOption(apiUrlOption('admin API of the node'))
    .addOption(apiTokenFileOption())
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (opts: ApiTokenOptions) => {
        const scopes = parseScopes(opts.scopes);
        const api = apiClient(opts);
        const result = await api.postJson<{ token: string; scopes: string[] }>('/api/api-tokens', { scopes: scopes.join(','), label: opts.label });
        const s3 = s3Credentials(result.token)!;
        if (opts.json) printJson({ ...result, s3 });
        else process.stdout.write(`${result.token}\nscopes: ${result.scopes.join(', ')}\nS3 access key id: ${s3.accessKeyId}\nS3 secret access key: ${s3.secretAccessKey}\n`);
      }),
    );
}

function registerApiTokenS3(cmd: Command): void {
  cmd
    .command('s3')
    .description("print the S3 access key pair of an API token (computed here from the token; works on the node that issued it)")
    .addOption(apiTokenFileOption())
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (opts: { apiTokenFile?: string; json?: boolean }) => {
        const s3 = s3Credentials(findApiToken(opts.apiTokenFile) ?? '');
        if (!s3) throw new CanopyError('ERR_USAGE', 'no API token found (give --api-token-file, or set CANOPY_API_TOKEN)');
        if (opts.json) printJson(s3);
        // Shell lines, so that `eval "$(canopy api-token s3)"` sets them for the AWS tools.
        else process.stdout.write(`export AWS_ACCESS_KEY_ID=${s3.accessKeyId}\nexport AWS_SECRET_ACCESS_KEY=${s3.secretAccessKey}\n`);
      }),
    );
}

function registerApiTokenList(cmd: Command): void {
  cmd
    .command('list')
    .description('list the API tokens of a node (ids, scopes, labels; never secrets)')
    .addOption(apiUrlOption('admin API of the node'))
    .addOption(apiTokenFileOption())
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (opts: Omit<ApiTokenOptions, 'scopes' | 'label'>) => {
        const { tokens } = await apiClient(opts).get<{ tokens: { id: string; scopes: string[]; label: string; createdAt: string }[] }>('/api/api-tokens');
        if (opts.json) printJson({ tokens });
        else for (const t of tokens) process.stdout.write(`${t.id}  ${t.scopes.join(',')}  ${t.label}  ${t.createdAt}\n`);
      }),
    );
}

function registerApiTokenRevoke(cmd: Command): void {
  cmd
    .command('revoke <id>')
    .description('revoke an API token by id (see api-token list)')
    .addOption(apiUrlOption('admin API of the node'))
    .addOption(apiTokenFileOption())
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (id: string, opts: Omit<ApiTokenOptions, 'scopes' | 'label'>) => {
        const result = await apiClient(opts).postJson<{ id: string; revoked: boolean }>(`/api/api-tokens/${encodeURIComponent(id)}/revoke`, {});
        if (opts.json) printJson(result);
        else process.stdout.write(`revoked API token ${result.id}\n`);
      }),
    );
}
