import type { Command } from 'commander';
import { parseAttributes } from '../../core/attributes.js';
import { CanopyError } from '../../core/errors.js';
import { parseSize } from '../../core/sizes.js';
import { makeConfig, DEFAULTS } from '../../node/config.js';
import { loadConfigFile, type FileConfig } from '../../node/config-file.js';
import { CanopyNode } from '../../node/node.js';
import { parseAddress } from '../../wire/transport.js';
import { action, printJson } from '../output.js';

interface NodeOptions {
  config?: string;
  root?: boolean;
  join?: string;
  name?: string;
  data?: string;
  attr: string[];
  host?: string;
  peerPort?: string;
  apiPort?: string;
  httpPort?: string;
  volume: string[];
  blockSize?: string;
}

const DEFAULT_DATA = '.canopy/node';

const collect = (v: string, prev: string[]) => [...prev, v];

function port(key: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new CanopyError('ERR_USAGE', `${key}: "${text}" is not a port number`);
  return Number(text);
}

/** Settings given as flags; a flag left out is undefined so the file's value (or the default) applies. */
function flagConfig(opts: NodeOptions): FileConfig {
  const join = opts.join === undefined ? undefined : parseAddress(opts.join);
  if (opts.join !== undefined && !join) throw new CanopyError('ERR_USAGE', `--join: "${opts.join}" is not host:port`);
  const out: FileConfig = {
    isRoot: opts.root,
    join: join ?? undefined,
    name: opts.name,
    dataDir: opts.data,
    attrs: opts.attr.length > 0 ? parseAttributes(opts.attr) : undefined,
    host: opts.host,
    peerPort: port('--peer-port', opts.peerPort),
    apiPort: port('--api-port', opts.apiPort),
    httpPort: port('--http-port', opts.httpPort),
    volumes: opts.volume.length > 0 ? opts.volume.map((p) => ({ path: p })) : undefined,
    blockSize: opts.blockSize === undefined ? undefined : parseSize(opts.blockSize),
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as FileConfig;
}

export function registerNode(program: Command): void {
  program
    .command('node')
    .description('run a Canopy node (or the root with --root) until SIGINT/SIGTERM')
    .option('--config <file>', 'YAML configuration file (docs/CONFIGURATION.md); flags override its values')
    .option('--root', 'run as the root of the network (authority and catalog)')
    .option('--join <host:port>', 'peer address of the root to join')
    .option('--name <name>', 'display name of this node (default: the data directory name)')
    .option('--data <dir>', `data directory (index and default volume; default ${DEFAULT_DATA})`)
    .option('--attr <key=value>', 'node attribute, repeatable (e.g. --attr region=eu --attr tier=edge)', collect, [])
    .option('--host <ip>', `address to bind every port to (default ${DEFAULTS.host})`)
    .option('--peer-port <n>', `node-to-node port (0 = any free port; default ${DEFAULTS.peerPort})`)
    .option('--api-port <n>', `admin API port (0 = any free port; default ${DEFAULTS.apiPort})`)
    .option('--http-port <n>', `HTTP streaming port (0 = any free port; default ${DEFAULTS.httpPort})`)
    .option('--volume <dir>', 'a block volume directory, repeatable (default: <data>/volumes/v0)', collect, [])
    .option('--block-size <size>', 'block size for contents published here (default 4MiB)')
    .action(
      action(async (opts: NodeOptions) => {
        const file = opts.config === undefined ? {} : loadConfigFile(opts.config);
        const merged = { ...file, ...flagConfig(opts) };
        const config = makeConfig({ ...merged, dataDir: merged.dataDir ?? DEFAULT_DATA });
        const node = new CanopyNode(config);
        try {
          await node.start();
        } catch (err) {
          await node.stop().catch(() => undefined);
          throw err;
        }
        printJson({ event: 'ready', nodeId: node.identity.nodeId, name: config.name, ...node.addresses() });
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await node.stop();
      }),
    );
}
