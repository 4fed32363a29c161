/**
 * A node's settings, with the embedded defaults that let `canopy node` run with no file.
 * Every value is checked here and a bad one gets an error naming the key.
 */
import type { PullThroughConfig } from '../registry/pull-through-config.js';
import path from 'node:path';
import type { Attributes } from '../core/attributes.js';
import { CanopyError } from '../core/errors.js';
import type { FtpUserSpec } from '../edge/ftp/ftp-users.js';
import type { VolumeConfig } from '../store/block-store.js';
import { EVICTION_POLICIES, type EvictionPolicy } from '../store/eviction.js';
import type { PeerAddress } from '../wire/transport.js';
import type { LogLevel } from '../core/logger.js';
import { checkServerNames } from '../security/server-names.js';
import { decodeJoinToken, tokenRoots } from '../security/join-token.js';
import { mergeRoots, readKnownRoots } from './known-roots.js';
import { HISTORY_KEEP_MS } from '../catalog/history-retention.js';

export interface NodeConfig {
  readonly name: string;
  readonly dataDir: string;
  readonly isRoot: boolean;
  /** Peer address of the root; required unless this node is the root. */
  readonly join: PeerAddress | undefined;
  /** Every root address given (`--join a:1,b:2`; `join` is the first): a member follows whichever root leads. */
  readonly roots: readonly PeerAddress[];
  readonly attrs: Attributes;
  readonly host: string;
  /** Where the admin API listens: loopback unless configured otherwise (it always requires a bearer token). */
  readonly apiHost: string;
  /** File holding the admin API token (created if absent); default `<data>/api-token`. */
  readonly apiTokenFile: string;
  /** Root: `postgres://...` to keep its state in PostgreSQL; undefined = the embedded files. */
  readonly state: string | undefined;
  /** Root on PostgreSQL: file with the 32-byte key (hex) sealing the CA key (docs/SECURITY.md). */
  readonly stateKeyFile: string | undefined;
  /**
   * Root: publisher keys (public keys, or key files) added to the authorised set at every
   * start, e.g. the key of whoever started a local or demo network. Production adds keys
   * with `canopy publishers add` instead.
   */
  readonly authorisePublishers: readonly string[];
  /** Root: upstream registries and repository rules for pull-through (docs/REGISTRY.md); undefined = none. */
  readonly registry?: PullThroughConfig | undefined;
  /** Single-use join token for the first start of a non-root node. */
  readonly token: string | undefined;
  readonly peerPort: number;
  readonly apiPort: number;
  readonly httpPort: number;
  readonly ftpPort: number;
  /** The S3-compatible read API (src/edge/s3/). */
  readonly s3Port: number;
  /** Virtual-host style S3 requests name the bucket as `<bucket>.<s3Domain>` in Host. */
  readonly s3Domain: string;
  readonly ftp: FtpConfig;
  /** HTTPS for the admin API and the HTTP edge (./https-setup.ts). */
  readonly https: HttpsConfig;
  readonly volumes: readonly VolumeConfig[];
  /** Block size for contents the root ingests itself; undefined = chosen per content. */
  readonly blockSize: number | undefined;
  readonly downloadConcurrency: number;
  /** Upload cap in bytes per second (0: none). */
  readonly uploadCap: number;
  /** Download cap in bytes per second (0: none). */
  readonly downloadCap: number;
  /** Most bytes of blocks kept over all volumes; unpinned contents are evicted past it. */
  readonly quota: number | undefined;
  readonly evictionPolicy: EvictionPolicy;
  /** Most children this node takes in the control tree. */
  readonly fanout: number;
  /** Control-tree heartbeat period; a parent or child silent for 3.5 periods is dead. */
  readonly heartbeatMs: number;
  /** Whether qualified contents are downloaded in the background; false = only what edge clients read (an on-demand cache). */
  readonly prefetch: boolean;
  /** How long the records of withdrawn and expired contents are kept after they left service (../catalog/history-retention.ts). */
  readonly keepHistoryMs: number;
  readonly logLevel: LogLevel;
}

export interface FtpConfig {
  readonly users: readonly FtpUserSpec[];
  /** Lets `anonymous` log in with any password. */
  readonly anonymous: boolean;
  /** Refuses USER before AUTH TLS. */
  readonly requireTls: boolean;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
}

export interface HttpsConfig {
  /** Serve the admin API over HTTPS. */
  readonly api: boolean;
  /** Serve the HTTP edge over HTTPS. */
  readonly edge: boolean;
  /** The operator's certificate and key (PEM files); absent, the cluster CA issues one for `names`. */
  readonly cert: string | undefined;
  readonly key: string | undefined;
  /** Names for the cluster-issued certificate besides the node's addresses and localhost. */
  readonly names: readonly string[];
}

export const NO_HTTPS: HttpsConfig = { api: false, edge: false, cert: undefined, key: undefined, names: [] };

/** Cert and key come together, as absolute paths; the extra names are checked here, not when the root is asked. */
function checkHttps(h: HttpsConfig): HttpsConfig {
  if ((h.cert === undefined) !== (h.key === undefined)) throw new CanopyError('ERR_CONFIG_INVALID', `https: ${h.cert === undefined ? 'key' : 'cert'} needs ${h.cert === undefined ? 'cert' : 'key'} too (both PEM files), or neither for a certificate from the cluster CA`);
  if ((h.cert !== undefined || h.names.length > 0) && !h.api && !h.edge) throw new CanopyError('ERR_CONFIG_INVALID', 'https: a certificate or names are given but neither api nor edge is served over HTTPS (set https.api or https.edge)');
  return { ...h, cert: h.cert && path.resolve(h.cert), key: h.key && path.resolve(h.key), names: h.names.length > 0 ? checkServerNames(h.names) : [] };
}

export const DEFAULTS = {
  host: '127.0.0.1',
  apiHost: '127.0.0.1',
  peerPort: 7400,
  apiPort: 7401,
  httpPort: 7402,
  ftpPort: 7403,
  s3Port: 7404,
  s3Domain: 'localhost',
  downloadConcurrency: 16,
  uploadCap: 0,
  downloadCap: 0,
  fanout: 16,
  heartbeatMs: 1000,
  keepHistoryMs: HISTORY_KEEP_MS,
  logLevel: 'info',
} as const;

/** The shortest and longest retention of out-of-service records a node accepts. */
export const KEEP_HISTORY_RANGE_MS = { min: 60_000, max: 3650 * 86_400_000 } as const;

export function checkPort(key: string, port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CanopyError('ERR_CONFIG_INVALID', `${key}: ${port} is not a port (0..65535; 0 picks a free one)`);
  return port;
}

function checkDomain(domain: string): string {
  if (!/^[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*$/.test(domain)) throw new CanopyError('ERR_CONFIG_INVALID', `s3Domain: "${domain.slice(0, 80)}" is not a DNS name`);
  return domain.toLowerCase();
}

function checkRate(key: string, rate: number): number {
  if (!Number.isFinite(rate) || rate < 0) throw new CanopyError('ERR_CONFIG_INVALID', `${key}: ${rate} must be bytes per second, 0 for no cap`);
  return rate;
}

function checkRange(key: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new CanopyError('ERR_CONFIG_INVALID', `${key}: ${value} must be an integer from ${min} to ${max}`);
  return value;
}

function checkKeepHistory(ms: number): number {
  const { min, max } = KEEP_HISTORY_RANGE_MS;
  if (!Number.isFinite(ms) || ms < min || ms > max) throw new CanopyError('ERR_CONFIG_INVALID', `keepHistory: ${ms} ms must be from 1 minute (60000) to 3650 days`);
  return Math.round(ms);
}

/** Only a root has a state store; PostgreSQL is the one store besides the embedded files, and it needs its key file. */
export function checkState(isRoot: boolean, state: string | undefined, keyFile: string | undefined): void {
  if (state === undefined) {
    if (keyFile !== undefined) throw new CanopyError('ERR_CONFIG_INVALID', 'stateKeyFile: only a root on PostgreSQL (--state postgres://...) uses a state key file');
    return;
  }
  if (!isRoot) throw new CanopyError('ERR_CONFIG_INVALID', 'state: only the root keeps the network state (use it with --root)');
  if (!/^postgres(ql)?:\/\/[^\s]+$/.test(state)) throw new CanopyError('ERR_CONFIG_INVALID', `state: "${state.slice(0, 80)}" must be a PostgreSQL URL, postgres://USER@HOST[:PORT]/DB`);
  if (keyFile === undefined) throw new CanopyError('ERR_CONFIG_INVALID', 'stateKeyFile: a root on PostgreSQL needs the file with the key that seals the CA key (--state-key FILE; make one with "openssl rand -hex 32")');
}

export function makeConfig(input: Partial<NodeConfig> & { dataDir: string }): NodeConfig {
  const isRoot = input.isRoot ?? false;
  // No --join: a join token minted by a recent root carries every root's address, and a member keeps those it learned (known-roots.ts).
  const fromToken = !isRoot && !input.join ? mergeRoots(input.token ? tokenRoots(decodeJoinToken(input.token)) : [], readKnownRoots(path.resolve(input.dataDir))) : [];
  const join = input.join ?? fromToken[0];
  if (!isRoot && !join) throw new CanopyError('ERR_CONFIG_INVALID', 'join: a node that is not the root needs the root address (--join host:port), or a join token that carries it (made by a root of this version), or the roots it saved at an earlier start (roots.json in its data directory)');
  if (!isRoot && (input.authorisePublishers?.length ?? 0) > 0) throw new CanopyError('ERR_CONFIG_INVALID', 'authorisePublishers: only the root authorises publisher keys');
  checkState(isRoot, input.state, input.stateKeyFile);
  if (!isRoot && input.registry !== undefined) throw new CanopyError('ERR_CONFIG_INVALID', 'registry: only the root pulls through from upstream registries (members ask the root)');
  const blockSize = input.blockSize;
  if (blockSize !== undefined && (!Number.isInteger(blockSize) || blockSize < 4096 || blockSize > 64 * 2 ** 20)) throw new CanopyError('ERR_CONFIG_INVALID', `blockSize: ${blockSize} must be between 4 KiB and 64 MiB`);
  const dataDir = path.resolve(input.dataDir);
  const quota = input.quota;
  if (quota !== undefined && (!Number.isSafeInteger(quota) || quota <= 0)) throw new CanopyError('ERR_CONFIG_INVALID', `quota: ${quota} must be a positive number of bytes`);
  const evictionPolicy = input.evictionPolicy ?? 'lru';
  if (!EVICTION_POLICIES.includes(evictionPolicy)) throw new CanopyError('ERR_CONFIG_INVALID', `evictionPolicy: "${evictionPolicy}" must be one of ${EVICTION_POLICIES.join(', ')}`);
  return {
    name: input.name ?? path.basename(dataDir),
    dataDir,
    isRoot,
    join,
    roots: input.roots ?? (input.join ? [input.join] : fromToken),
    attrs: input.attrs ?? {},
    host: input.host ?? DEFAULTS.host,
    apiHost: input.apiHost ?? DEFAULTS.apiHost,
    token: input.token,
    authorisePublishers: input.authorisePublishers ?? [],
    registry: input.registry,
    state: input.state,
    stateKeyFile: input.stateKeyFile === undefined ? undefined : path.resolve(input.stateKeyFile),
    apiTokenFile: path.resolve(input.apiTokenFile ?? path.join(dataDir, 'api-token')),
    peerPort: checkPort('peerPort', input.peerPort ?? DEFAULTS.peerPort),
    apiPort: checkPort('apiPort', input.apiPort ?? DEFAULTS.apiPort),
    httpPort: checkPort('httpPort', input.httpPort ?? DEFAULTS.httpPort),
    ftpPort: checkPort('ftpPort', input.ftpPort ?? DEFAULTS.ftpPort),
    s3Port: checkPort('s3Port', input.s3Port ?? DEFAULTS.s3Port),
    s3Domain: checkDomain(input.s3Domain ?? DEFAULTS.s3Domain),
    ftp: input.ftp ?? { users: [], anonymous: false, requireTls: false },
    https: checkHttps(input.https ?? NO_HTTPS),
    volumes: input.volumes && input.volumes.length > 0 ? input.volumes : [{ path: path.join(dataDir, 'volumes', 'v0') }],
    blockSize,
    downloadConcurrency: input.downloadConcurrency ?? DEFAULTS.downloadConcurrency,
    uploadCap: checkRate('uploadCap', input.uploadCap ?? DEFAULTS.uploadCap),
    downloadCap: checkRate('downloadCap', input.downloadCap ?? DEFAULTS.downloadCap),
    quota,
    evictionPolicy,
    fanout: checkRange('fanout', input.fanout ?? DEFAULTS.fanout, 1, 1024),
    heartbeatMs: checkRange('heartbeatMs', input.heartbeatMs ?? DEFAULTS.heartbeatMs, 50, 60_000),
    prefetch: input.prefetch ?? true,
    keepHistoryMs: checkKeepHistory(input.keepHistoryMs ?? DEFAULTS.keepHistoryMs),
    logLevel: input.logLevel ?? DEFAULTS.logLevel,
  };
}
