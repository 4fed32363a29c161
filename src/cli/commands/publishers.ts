import type { Command } from 'commander';
import { CanopyError } from '../../core/errors.js';
import { publicKeyOf } from '../../ingest/publisher-key.js';
import { ApiClient, DEFAULT_API } from '../../client/api-client.js';
import { findApiToken } from '../../client/api-token.js';
import { action, printJson } from '../output.js';

interface PublishersOptions {
  to: string;
  apiTokenFile?: string;
  json?: boolean;
  key?: string;
  name?: string;
}

interface Publisher {
  key: string;
  name: string;
  addedAt: string;
}

const common = (c: Command) =>
  c
    .option('--to <url>', 'admin API of the root', DEFAULT_API)
    .option('--api-token-file <file>', 'file with an admin API token')
    .option('--json', 'print machine-readable JSON');

const client = (opts: PublishersOptions) => new ApiClient(opts.to, findApiToken(opts.apiTokenFile));

/**
 * `canopy publishers add|list|remove`: the publisher keys the root has authorised (root
 * operations, admin scope). Manifests signed by any other key are refused at publish and
 * dropped by every node.
 */
export function registerPublishers(program: Command): void {
  const publishers = program.command('publishers').description('publisher keys the root has authorised to publish (root operations)');
  common(publishers.command('add [pubkey]').description('authorise a publisher key: give it, or --key FILE (a key file; only its public part is sent)'))
    .option('--key <file>', 'publisher key file whose public key to authorise')
    .option('--name <label>', 'who or what publishes with this key')
    .action(
      action(async (pubkey: string | undefined, opts: PublishersOptions) => {
        if ((pubkey === undefined) === (opts.key === undefined)) throw new CanopyError('ERR_USAGE', 'give either a public key or --key FILE');
        const key = publicKeyOf(pubkey ?? opts.key!);
        const result = await client(opts).postJson<{ key: string; name: string; serial: number }>('/api/publishers', { key, name: opts.name ?? '' });
        if (opts.json) printJson(result);
        else process.stdout.write(`authorised ${result.key}${result.name ? ` (${result.name})` : ''}; list ${result.serial} sent to every node\n`);
      }),
    );
  common(publishers.command('list').description('list the authorised publisher keys')).action(
    action(async (opts: PublishersOptions) => {
      const result = await client(opts).get<{ serial: number; publishers: Publisher[] }>('/api/publishers');
      if (opts.json) printJson(result);
      else for (const p of result.publishers) process.stdout.write(`${p.key}  ${p.name || '-'}  ${p.addedAt}\n`);
    }),
  );
  common(publishers.command('remove <pubkey>').description('withdraw a key: new publishes and announcements signed with it are refused; its published contents stay')).action(
    action(async (pubkey: string, opts: PublishersOptions) => {
      const key = publicKeyOf(pubkey);
      const result = await client(opts).postJson<{ key: string; serial: number }>(`/api/publishers/${encodeURIComponent(key)}/remove`, {});
      if (opts.json) printJson(result);
      else process.stdout.write(`removed ${result.key}; list ${result.serial} sent to every node\n`);
    }),
  );
}
