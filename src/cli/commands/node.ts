import type { Command } from 'commander';
import { parseAttributes } from '../../core/attributes.js';
import { routeProcessWarnings } from '../../ops/process-warnings.js';
import { CanopyError } from '../../core/errors.js';
import { parseRate, parseSize } from '../../core/sizes.js';
import { parseDuration } from '../../core/expiry.js';
import { DEFAULTS } from '../../node/config.js';
import { parseUserSpec, readUsersFile } from '../../edge/ftp/ftp-users.js';
import { loadConfigFile, nodeConfigFrom, type FileConfig } from '../../node/config-file.js';
import { CanopyNode } from '../../node/node.js';
import type { EvictionPolicy } from '../../store/eviction.js';
import { parseVolumeSpec } from '../../store/volume-spec.js';
import { parseAddressList } from '../../wire/transport.js';
import { action } from '../output.js';
import { serveUntilStopped } from '../node-lifecycle.js';

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
  ftpPort?: string;
  s3Port?: string;
  s3Domain?: string;
  ftpUser: string[];
  ftpUsers?: string;
  ftpAnonymous?: boolean;
  ftpRequireTls?: boolean;
  ftpTlsCert?: string;
  ftpTlsKey?: string;
  https?: boolean;
  httpsEdge?: boolean;
  httpsCert?: string;
  httpsKey?: string;
  httpsName: string[];
  volume: string[];
  blockSize?: string;
  uploadCap?: string;
  downloadCap?: string;
  concurrency?: string;
  quota?: string;
  evict?: string;
  prefetch: boolean;
  token?: string;
  apiHost?: string;
  apiTokenFile?: string;
  state?: string;
  stateKey?: string;
  authorisePublisher: string[];
  fanout?: string;
  heartbeat?: string;
  keepHistory?: string;
}

const DEFAULT_DATA = '.canopy/node';

const collect = (v: string, prev: string[]) => [...prev, v];

function port(key: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new CanopyError('ERR_USAGE', `${key}: "${text}" is not a port number`);
  return Number(text);
}

function whole(key: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new CanopyError('ERR_USAGE', `${key}: "${text}" is not a whole number`);
  return Number(text);
}

function keepHistory(text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new CanopyError('ERR_USAGE', `--keep-history: ${(err as Error).message}`);
  }
}

const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

/** Settings given as flags; a flag left out is undefined so the file's value (or the default) applies. */
function flagConfig(opts: NodeOptions): FileConfig {
  const roots = opts.join === undefined ? undefined : parseAddressList(opts.join);
  if (opts.join !== undefined && !roots) throw new CanopyError('ERR_USAGE', `--join: "${opts.join}" is not host:port (or a comma-separated list of the roots' host:port)`);
  const join = roots?.[0];
  const users = [...opts.ftpUser.map((u) => parseUserSpec(u)), ...(opts.ftpUsers ? readUsersFile(opts.ftpUsers) : [])];
  return defined({
    isRoot: opts.root,
    join: join ?? undefined,
    roots: roots ?? undefined,
    name: opts.name,
    dataDir: opts.data,
    attrs: opts.attr.length > 0 ? parseAttributes(opts.attr) : undefined,
    host: opts.host,
    apiHost: opts.apiHost,
    apiTokenFile: opts.apiTokenFile,
    state: opts.state,
    stateKeyFile: opts.stateKey,
    authorisePublishers: opts.authorisePublisher.length > 0 ? opts.authorisePublisher : undefined,
    token: opts.token ?? process.env.CANOPY_JOIN_TOKEN,
    peerPort: port('--peer-port', opts.peerPort),
    apiPort: port('--api-port', opts.apiPort),
    httpPort: port('--http-port', opts.httpPort),
    ftpPort: port('--ftp-port', opts.ftpPort),
    s3Port: port('--s3-port', opts.s3Port),
    s3Domain: opts.s3Domain,
    ftp: defined({
      users: users.length > 0 ? users : undefined,
      anonymous: opts.ftpAnonymous,
      requireTls: opts.ftpRequireTls,
      tlsCert: opts.ftpTlsCert,
      tlsKey: opts.ftpTlsKey,
    }),
    https: defined({ api: opts.https, edge: opts.httpsEdge, cert: opts.httpsCert, key: opts.httpsKey, names: opts.httpsName.length > 0 ? opts.httpsName : undefined }),
    volumes: opts.volume.length > 0 ? opts.volume.map(parseVolumeSpec) : undefined,
    quota: opts.quota === undefined ? undefined : parseSize(opts.quota),
    evictionPolicy: opts.evict as EvictionPolicy | undefined,
    // Commander gives true when --no-prefetch is absent: only an explicit "no" overrides the file.
    prefetch: opts.prefetch === false ? false : undefined,
    blockSize: opts.blockSize === undefined ? undefined : parseSize(opts.blockSize),
    uploadCap: opts.uploadCap === undefined ? undefined : parseRate(opts.uploadCap),
    downloadCap: opts.downloadCap === undefined ? undefined : parseRate(opts.downloadCap),
    downloadConcurrency: port('--concurrency', opts.concurrency),
    fanout: whole('--fanout', opts.fanout),
    heartbeatMs: whole('--heartbeat', opts.heartbeat),
    keepHistoryMs: opts.keepHistory === undefined ? undefined : keepHistory(opts.keepHistory),
  });
}

/** Flags over the file over the defaults, key by key (the FTP settings field by field). */
export function mergeConfig(file: FileConfig, flags: FileConfig): FileConfig {
  const ftp = { ...file.ftp, ...flags.ftp };
  const https = { ...file.https, ...flags.https };
  return { ...file, ...flags, ftp, https };
}

export function registerNode(program: Command): void {
  const cmd = program.command('node').description('run a Canopy node (or the root with --root) until SIGINT/SIGTERM');
  storeAndSwarmOptions(edgeOptions(networkOptions(cmd)))
    .action(
      action(async (opts: NodeOptions) => {
        // Read again on SIGHUP: the file and any --ftp-users file may have changed.
        const read = () => nodeConfigFrom(mergeConfig(opts.config === undefined ? {} : loadConfigFile(opts.config), flagConfig(opts)), DEFAULT_DATA);
        const config = read();
        if (!config.isRoot && Object.keys(config.attrs).length > 0) {
          throw new CanopyError('ERR_USAGE', 'attrs: attributes are attested by the root, not self-declared; put them in the join token (canopy token create --attrs ...) or change them with canopy nodes set-attrs');
        }
        const node = await CanopyNode.open(config);
        try {
          await node.start();
        } catch (err) {
          await node.stop().catch(() => undefined);
          throw err;
        }
        routeProcessWarnings(node.log);
        await serveUntilStopped(node, config, read);
      }),
    );
}

/** Who the node is, whom it joins, where its state and admin API live. */
function networkOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'YAML configuration file (docs/CONFIGURATION.md); flags override its values')
    .option('--root', 'run as the root of the network (authority and catalog)')
    .option('--join <host:port[,host:port]>', 'peer address of the root to join; several roots on one database: all their addresses, comma-separated (default: the addresses the join token carries)')
    .option('--name <name>', 'display name of this node (default: the data directory name)')
    .option('--data <dir>', `data directory (index and default volume; default ${DEFAULT_DATA})`)
    .option('--attr <key=value>', "the root's own attributes, repeatable (other nodes get theirs from their join token)", collect, [])
    .option('--token <token>', 'single-use join token for the first start (canopy token create); also CANOPY_JOIN_TOKEN')
    .option('--api-host <ip>', `address the admin API binds to; it always requires a bearer token (default ${DEFAULTS.apiHost})`)
    .option('--state <url>', 'root: keep the network state in PostgreSQL, postgres://USER@HOST[:PORT]/DB (default: embedded files in <data>)')
    .option('--state-key <file>', 'root on PostgreSQL: file with the key (64 hex digits) that seals the CA key in the database')
    .option('--api-token-file <file>', 'file with the admin API token, created if absent (default: <data>/api-token)')
    .option('--authorise-publisher <key|file>', 'root: authorise this publisher key (or key file) at every start, repeatable; otherwise use canopy publishers add', collect, [])
    .option('--host <ip>', `address to bind every port to (default ${DEFAULTS.host})`)
    .option('--peer-port <n>', `node-to-node port (0 = any free port; default ${DEFAULTS.peerPort})`)
    .option('--api-port <n>', `admin API port (0 = any free port; default ${DEFAULTS.apiPort})`);
}

/** The client-facing servers: HTTP, FTP, S3 and HTTPS. */
function edgeOptions(cmd: Command): Command {
  return cmd
    .option('--http-port <n>', `HTTP streaming port (0 = any free port; default ${DEFAULTS.httpPort})`)
    .option('--ftp-port <n>', `FTP port (0 = any free port; default ${DEFAULTS.ftpPort})`)
    .option('--s3-port <n>', `S3-compatible read API port (0 = any free port; default ${DEFAULTS.s3Port})`)
    .option('--s3-domain <name>', `virtual-host style S3 requests use <bucket>.<name> (default ${DEFAULTS.s3Domain})`)
    .option('--ftp-user <name:password>', 'an FTP account, repeatable (prefer --ftp-users: arguments are visible to other local users)', collect, [])
    .option('--ftp-users <file>', 'file of FTP accounts, one name:password per line')
    .option('--ftp-anonymous', 'let "anonymous" log in to FTP with any password')
    .option('--ftp-require-tls', 'refuse FTP logins before AUTH TLS')
    .option('--ftp-tls-cert <pem>', 'certificate for FTP AUTH TLS (default: a self-signed one kept in the data directory)')
    .option('--ftp-tls-key <pem>', 'private key for --ftp-tls-cert')
    .option('--https', 'serve the admin API over HTTPS (certificate from the cluster CA unless --https-cert)')
    .option('--https-edge', 'serve the HTTP edge over HTTPS too')
    .option('--https-cert <pem>', 'certificate to serve HTTPS with (default: one the cluster CA issues for this node)')
    .option('--https-key <pem>', 'private key for --https-cert')
    .option('--https-name <name>', 'a DNS name or IP address for the cluster-issued certificate besides --host, --api-host and localhost, repeatable', collect, []);
}

/** Volumes, quota and eviction, the control tree and the swarm. */
function storeAndSwarmOptions(cmd: Command): Command {
  return cmd
    .option('--fanout <n>', 'most children this node takes in the control tree (default 16)')
    .option('--heartbeat <ms>', 'control-tree heartbeat period in ms; dead after 3.5 periods (default 1000)')
    .option('--keep-history <duration>', 'how long records of withdrawn and expired contents are kept, e.g. 7d or 12h (default 7d)')
    .option('--no-prefetch', 'do not download qualified contents in the background; fetch blocks only as edge clients read them')
    .option('--volume <dir[,weight=W][,capacity=SIZE]>', 'a block volume (normally one per disk), repeatable; weight sets its share of blocks, capacity caps it (default: <data>/volumes/v0)', collect, [])
    .option('--quota <size>', 'most bytes of blocks this node keeps; past it unpinned contents are evicted (default: until the volumes are full)')
    .option('--evict <policy>', 'which unpinned content goes first when room is needed: lru or lfu (default lru)')
    .option('--block-size <size>', 'block size for contents published here (default 4MiB)')
    .option('--upload-cap <rate>', 'upload cap to peers, e.g. 100mbit or 10MiB/s (default: none)')
    .option('--download-cap <rate>', 'download cap from peers, e.g. 100mbit (default: none)')
    .option('--concurrency <n>', 'block requests in flight per content (default 16)');
}
