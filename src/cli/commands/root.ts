import type { Command } from 'commander';
import { parseAttributes } from '../../core/attributes.js';
import { initRoot } from '../../security/credentials.js';
import { fingerprint } from '../../security/x509.js';
import { action, printJson } from '../output.js';
import { readStateKey } from '../../root/state/ca-key-box.js';
import { importEmbeddedRoot } from '../../root/state/import-embedded.js';
import { PostgresRootState, redact } from '../../root/state/postgres-state.js';
import { checkState } from '../../node/config.js';

interface RootInitOptions {
  data: string;
  attr: string[];
  cluster: string;
  json?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** `canopy root init`: creates the cluster CA (ECDSA P-256) and the root's own certificate. */
export function registerRoot(program: Command): void {
  const root = program.command('root').description('cluster authority operations');
  root
    .command('init')
    .description("create the cluster CA and the root's certificate in <data>/security (the root also does this on its first start)")
    .option('--data <dir>', 'data directory of the root node', '.canopy/node')
    .option('--attr <key=value>', "the root's own attributes, repeatable", collect, [])
    .option('--cluster <name>', 'name written in the CA certificate', 'canopy cluster CA')
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (opts: RootInitOptions) => {
        const creds = await initRoot(opts.data, { attrs: parseAttributes(opts.attr), clusterName: opts.cluster });
        const result = { rootId: creds.nodeId, caFingerprint: fingerprint(creds.caCertPem), dir: `${opts.data}/security` };
        if (opts.json) printJson(result);
        else process.stdout.write(`cluster CA created in ${result.dir}\nroot node id ${result.rootId}\nCA fingerprint sha256:${result.caFingerprint}\nstart the root with: canopy node --root --data ${opts.data}\n`);
      }),
    );
  root
    .command('migrate')
    .description('bring a PostgreSQL state database to this version\'s schema (roots also do it at start); with --from, move an embedded root\'s state into it')
    .requiredOption('--state <url>', 'the state database, postgres://USER@HOST[:PORT]/DB')
    .requiredOption('--state-key <file>', 'file with the key (64 hex digits) that seals the CA key in the database')
    .option('--from <dir>', 'data directory of a root that ran on its embedded files (stop it first)')
    .option('--json', 'print machine-readable JSON')
    .action(action(migrate));
}

interface RootMigrateOptions {
  state: string;
  stateKey: string;
  from?: string;
  json?: boolean;
}

/** `canopy root migrate`: migrations, then (with --from) the embedded root's state. */
async function migrate(opts: RootMigrateOptions): Promise<void> {
  checkState(true, opts.state, opts.stateKey);
  const state = await PostgresRootState.open({ url: opts.state, stateKey: readStateKey(opts.stateKey) });
  try {
    const result = { database: redact(opts.state), schemaVersion: await state.schemaVersion(), imported: opts.from === undefined ? null : await importEmbeddedRoot(opts.from, state) };
    if (opts.json) return printJson(result);
    process.stdout.write(`${result.database}: schema version ${result.schemaVersion}\n`);
    const i = result.imported;
    if (i) process.stdout.write(`moved from ${opts.from}: CA sha256:${i.caFingerprint.slice(0, 16)}…, ${i.contents} contents, ${i.withdrawals} withdrawals, ${i.members} member records, ${i.publishers} publisher keys\nstart the root with: canopy node --root --data ${opts.from} --state URL --state-key ${opts.stateKey} (the same URL as here)\n`);
  } finally {
    await state.close();
  }
}
