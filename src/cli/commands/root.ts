import type { Command } from 'commander';
import { parseAttributes } from '../../core/attributes.js';
import { initRoot } from '../../security/credentials.js';
import { fingerprint } from '../../security/x509.js';
import { action, printJson } from '../output.js';

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
}
