import type { Command } from 'commander';
import { parseAttributes } from '../../core/attributes.js';
import { CanopyError } from '../../core/errors.js';
import { parseSize } from '../../core/sizes.js';
import { makeConfig, DEFAULTS } from '../../node/config.js';
import { parseUserSpec, readUsersFile } from '../../edge/ftp/ftp-users.js';
import { CanopyNode } from '../../node/node.js';
import { parseAddress } from '../../wire/transport.js';
import { action, printJson } from '../output.js';

interface NodeOptions {
  root?: boolean;
  join?: string;
  name?: string;
  data: string;
  attr: string[];
  host: string;
  peerPort: string;
  apiPort: string;
  httpPort: string;
  ftpPort: string;
  ftpUser: string[];
  ftpUsers?: string;
  ftpAnonymous?: boolean;
  ftpRequireTls?: boolean;
  ftpTlsCert?: string;
  ftpTlsKey?: string;
  volume: string[];
  blockSize?: string;
  token?: string;
  apiHost: string;
  apiTokenFile?: string;
  prefetch: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

function port(key: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new CanopyError('ERR_USAGE', `${key}: "${text}" is not a port number`);
  return Number(text);
}

export function registerNode(program: Command): void {
  program
    .command('node')
    .description('run a Canopy node (or the root with --root) until SIGINT/SIGTERM')
    .option('--root', 'run as the root of the network (authority and catalog)')
    .option('--join <host:port>', 'peer address of the root to join')
    .option('--name <name>', 'display name of this node (default: the data directory name)')
    .option('--data <dir>', 'data directory (index and default volume)', '.canopy/node')
    .option('--attr <key=value>', "the root's own attributes, repeatable (other nodes get theirs from their join token)", collect, [])
    .option('--token <token>', 'single-use join token for the first start (canopy token create); also CANOPY_JOIN_TOKEN')
    .option('--api-host <ip>', 'address the admin API binds to (it always requires a bearer token)', DEFAULTS.apiHost)
    .option('--api-token-file <file>', 'file with the admin API token, created if absent (default: <data>/api-token)')
    .option('--host <ip>', 'address to bind every port to', DEFAULTS.host)
    .option('--peer-port <n>', 'node-to-node port (0 = any free port)', String(DEFAULTS.peerPort))
    .option('--api-port <n>', 'admin API port (0 = any free port)', String(DEFAULTS.apiPort))
    .option('--http-port <n>', 'HTTP streaming port (0 = any free port)', String(DEFAULTS.httpPort))
    .option('--ftp-port <n>', 'FTP port (0 = any free port)', String(DEFAULTS.ftpPort))
    .option('--ftp-user <name:password>', 'an FTP account, repeatable (prefer --ftp-users: arguments are visible to other local users)', collect, [])
    .option('--ftp-users <file>', 'file of FTP accounts, one name:password per line')
    .option('--ftp-anonymous', 'let "anonymous" log in to FTP with any password')
    .option('--ftp-require-tls', 'refuse FTP logins before AUTH TLS')
    .option('--ftp-tls-cert <pem>', 'certificate for FTP AUTH TLS (default: a self-signed one kept in the data directory)')
    .option('--ftp-tls-key <pem>', 'private key for --ftp-tls-cert')
    .option('--volume <dir>', 'a block volume directory, repeatable (default: <data>/volumes/v0)', collect, [])
    .option('--no-prefetch', 'do not download qualified contents in the background; fetch blocks only as edge clients read them')
    .option('--block-size <size>', 'block size for contents published here (default 4MiB)')
    .action(
      action(async (opts: NodeOptions) => {
        const join = opts.join === undefined ? undefined : parseAddress(opts.join);
        if (opts.join !== undefined && !join) throw new CanopyError('ERR_USAGE', `--join: "${opts.join}" is not host:port`);
        if (opts.root !== true && opts.attr.length > 0) {
          throw new CanopyError('ERR_USAGE', '--attr: attributes are attested by the root, not self-declared; put them in the join token (canopy token create --attrs ...) or change them with canopy nodes set-attrs');
        }
        const config = makeConfig({
          token: opts.token ?? process.env.CANOPY_JOIN_TOKEN,
          apiHost: opts.apiHost,
          apiTokenFile: opts.apiTokenFile,
          isRoot: opts.root === true,
          join: join ?? undefined,
          name: opts.name,
          dataDir: opts.data,
          attrs: parseAttributes(opts.attr),
          host: opts.host,
          peerPort: port('--peer-port', opts.peerPort),
          apiPort: port('--api-port', opts.apiPort),
          httpPort: port('--http-port', opts.httpPort),
          ftpPort: port('--ftp-port', opts.ftpPort),
          ftp: {
            users: [...opts.ftpUser.map((u) => parseUserSpec(u)), ...(opts.ftpUsers ? readUsersFile(opts.ftpUsers) : [])],
            anonymous: opts.ftpAnonymous === true,
            requireTls: opts.ftpRequireTls === true,
            tlsCert: opts.ftpTlsCert,
            tlsKey: opts.ftpTlsKey,
          },
          volumes: opts.volume.map((p) => ({ path: p })),
          prefetch: opts.prefetch,
          blockSize: opts.blockSize === undefined ? undefined : parseSize(opts.blockSize),
        });
        const node = await CanopyNode.open(config);
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
