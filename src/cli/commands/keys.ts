import type { Command } from 'commander';
import { createKeyFile, defaultKeyPath, loadKeyFile } from '../../ingest/publisher-key.js';
import { action, printJson } from '../output.js';

interface KeysOptions {
  out?: string;
  force?: boolean;
  json?: boolean;
}

/** `canopy keys create|show`: the publisher's Ed25519 key that signs manifests. */
export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('publisher keys (Ed25519) that sign manifests');
  keys
    .command('create')
    .description('create a publisher key file (mode 0600) and print its public key')
    .option('--out <file>', 'where to write it (default: $CANOPY_KEY or ~/.config/canopy/publisher-key.json)')
    .option('--force', 'replace an existing key file')
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (opts: KeysOptions) => {
        const key = createKeyFile(opts.out ?? defaultKeyPath(), opts.force === true);
        if (opts.json) printJson({ path: key.path, publicKey: key.publicKey });
        else process.stdout.write(`${key.publicKey}\nwrote ${key.path}\n`);
      }),
    );
  keys
    .command('show')
    .description('print the public key of a key file')
    .option('--key <file>', 'key file (default: $CANOPY_KEY or ~/.config/canopy/publisher-key.json)')
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (opts: KeysOptions & { key?: string }) => {
        const key = loadKeyFile(opts.key ?? defaultKeyPath());
        if (opts.json) printJson({ path: key.path, publicKey: key.publicKey });
        else process.stdout.write(`${key.publicKey}\n`);
      }),
    );
}
