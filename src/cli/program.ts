/**
 * The `canopy` command tree: one file per subcommand under ./commands; main.ts runs it.
 * Each command's module is loaded only when that command runs (or for help, where all are):
 * loading them all cost about 1.1 CPU-s per start, most of it the node that `canopy status`
 * never uses, against about 0.4 s for one command.
 */
import { Command } from 'commander';

type Register = (program: Command) => void;

/** Top-level command names, in help order, with the loader of their register functions. */
const COMMANDS: [string, () => Promise<Register[]>][] = [
  ['node', async () => [(await import('./commands/node.js')).registerNode]],
  ['publish', async () => [(await import('./commands/publish.js')).registerPublish]],
  ['ingest', async () => [(await import('./commands/ingest.js')).registerIngest]],
  ['keys', async () => [(await import('./commands/keys.js')).registerKeys]],
  ['status', async () => [(await import('./commands/status.js')).registerStatus]],
  ['ls', async () => [(await import('./commands/status.js')).registerLs]],
  ['withdraw', async () => [(await import('./commands/withdraw.js')).registerWithdraw]],
  ['top', async () => [(await import('./commands/top.js')).registerTop]],
  ['demo', async () => [(await import('./commands/demo.js')).registerDemo]],
  ['store', async () => [(await import('./commands/store.js')).registerStore]],
  ['root', async () => [(await import('./commands/root.js')).registerRoot]],
  ['token', async () => [(await import('./commands/token.js')).registerToken]],
  ['api-token', async () => [(await import('./commands/token.js')).registerApiToken]],
  ['nodes', async () => [(await import('./commands/nodes.js')).registerNodes]],
  ['publishers', async () => [(await import('./commands/publishers.js')).registerPublishers]],
  ['url', async () => [(await import('./commands/url.js')).registerUrl]],
  ['sim', async () => [(await import('./commands/sim.js')).registerSim]],
  ['criteria', async () => [(await import('./commands/criteria.js')).registerCriteria]],
];

/**
 * The command an argument list runs: its first word that is not an option or an option's
 * value (the global options that take one are read from the program itself), if that is a
 * command's name; otherwise undefined (help, a typo: every command is then loaded, so
 * commander lists them or suggests one).
 */
export function commandOf(args: readonly string[]): string | undefined {
  const takesValue = new Set(globalOptions(new Command()).options.filter((o) => o.required || o.optional).map((o) => o.long));
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (takesValue.has(a)) i++;
    else if (!a.startsWith('-')) return COMMANDS.some(([name]) => name === a) ? a : undefined;
  }
  return undefined;
}

/** The options every command takes (before its name). */
function globalOptions(program: Command): Command {
  program.option('--ca <file>', 'CA certificate that a node\'s https:// API must be issued by: the cluster CA, <data>/security/ca.crt on any node (also CANOPY_CA_FILE)');
  program.option('--insecure-http', 'allow sending the API token over plain http:// to a host that is not loopback (also CANOPY_INSECURE_HTTP=1)');
  return program;
}

/** The `canopy` command tree, built without running it: `only` loads just that command (docs/DEPLOY.md's commands are checked against the whole tree). */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command();
  program.name('canopy').description('Canopy: attribute-targeted, verified distribution of large payloads').version('0.1.0').exitOverride();
  globalOptions(program);
  // Read where the API client is made, deep in each command: the flag becomes the variable.
  program.hook('preAction', () => {
    const global = program.opts<{ insecureHttp?: boolean; ca?: string }>();
    if (global.insecureHttp) process.env.CANOPY_INSECURE_HTTP = '1';
    if (global.ca) process.env.CANOPY_CA_FILE = global.ca;
  });
  program.configureOutput({ outputError: (text, write) => write(`canopy: ${text.replace(/^error: /, 'error [ERR_USAGE]: ')}`) });
  const chosen = COMMANDS.filter(([name]) => only === undefined || name === only);
  for (const registers of await Promise.all(chosen.map(([, load]) => load()))) for (const register of registers) register(program);
  return program;
}
