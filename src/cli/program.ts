/** The `canopy` command tree: one file per subcommand under ./commands; main.ts runs it. */
import { Command } from 'commander';
import { registerCriteria } from './commands/criteria.js';
import { registerDemo } from './commands/demo.js';
import { registerIngest } from './commands/ingest.js';
import { registerKeys } from './commands/keys.js';
import { registerNode } from './commands/node.js';
import { registerNodes } from './commands/nodes.js';
import { registerRoot } from './commands/root.js';
import { registerUrl } from './commands/url.js';
import { registerApiToken, registerToken } from './commands/token.js';
import { registerPublish } from './commands/publish.js';
import { registerPublishers } from './commands/publishers.js';
import { registerSim } from './commands/sim.js';
import { registerLs, registerStatus } from './commands/status.js';
import { registerStore } from './commands/store.js';
import { registerTop } from './commands/top.js';
import { registerWithdraw } from './commands/withdraw.js';

/** The whole `canopy` command tree, built without running it (docs/DEPLOY.md's commands are checked against it). */
export function buildProgram(): Command {
  const program = new Command();
  program.name('canopy').description('Canopy: attribute-targeted, verified distribution of large payloads').version('0.1.0').exitOverride();
  program.option('--ca <file>', 'CA certificate that a node\'s https:// API must be issued by: the cluster CA, <data>/security/ca.crt on any node (also CANOPY_CA_FILE)');
  program.option('--insecure-http', 'allow sending the API token over plain http:// to a host that is not loopback (also CANOPY_INSECURE_HTTP=1)');
  // Read where the API client is made, deep in each command: the flag becomes the variable.
  program.hook('preAction', () => {
    const global = program.opts<{ insecureHttp?: boolean; ca?: string }>();
    if (global.insecureHttp) process.env.CANOPY_INSECURE_HTTP = '1';
    if (global.ca) process.env.CANOPY_CA_FILE = global.ca;
  });
  program.configureOutput({ outputError: (text, write) => write(`canopy: ${text.replace(/^error: /, 'error [ERR_USAGE]: ')}`) });
  registerNode(program);
  registerPublish(program);
  registerIngest(program);
  registerKeys(program);
  registerStatus(program);
  registerLs(program);
  registerWithdraw(program);
  registerTop(program);
  registerDemo(program);
  registerStore(program);
  registerRoot(program);
  registerToken(program);
  registerApiToken(program);
  registerNodes(program);
  registerPublishers(program);
  registerUrl(program);
  registerSim(program);
  registerCriteria(program);
  return program;
}
