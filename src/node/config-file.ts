/**
 * Reads a node's YAML configuration file (`canopy node --config FILE`) into the same
 * partial settings the command-line flags produce, so both go through `makeConfig`. Every
 * problem is reported with the key path (`volumes[1].weight`) and what is wrong with it;
 * unknown keys are errors, because a misspelt key silently ignored is a node that runs with
 * the wrong settings. docs/CONFIGURATION.md lists the keys.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import { isValidKey, parseAttributes, type Attributes } from '../core/attributes.js';
import { CanopyError } from '../core/errors.js';
import { parseRate, parseSize } from '../core/sizes.js';
import { parseDuration } from '../core/expiry.js';
import type { VolumeConfig } from '../store/block-store.js';
import { EVICTION_POLICIES, type EvictionPolicy } from '../store/eviction.js';
import { parseAddressList, type PeerAddress } from '../wire/transport.js';
import type { LogLevel } from '../core/logger.js';
import { makeConfig, NO_HTTPS, type HttpsConfig, type NodeConfig } from './config.js';
import { checkPullThroughConfig, type PullThroughConfig } from '../registry/pull-through-config.js';
import { parseUserSpec, readUsersFile, type FtpUserSpec } from '../edge/ftp/ftp-users.js';

/** What a file may set; anything left out falls back to a flag or the default. */
export interface FileConfig {
  name?: string;
  dataDir?: string;
  isRoot?: boolean;
  join?: PeerAddress;
  /** Every root address given (`join` is the first). */
  roots?: PeerAddress[];
  attrs?: Attributes;
  host?: string;
  /** Address the admin API binds to (loopback by default); the API always needs a bearer token. */
  apiHost?: string;
  apiTokenFile?: string;
  /** Root: where its state lives, `postgres://...`; left out, the embedded files. */
  state?: string;
  /** Root on PostgreSQL: file with the key that seals the CA key in the database. */
  stateKeyFile?: string;
  /** Root: publisher keys or key files authorised at every start. */
  authorisePublishers?: string[];
  /** Join token for a node's first start: from --token or CANOPY_JOIN_TOKEN only, never a file key. */
  token?: string;
  peerPort?: number;
  apiPort?: number;
  httpPort?: number;
  ftpPort?: number;
  s3Port?: number;
  s3Domain?: string;
  ftp?: FileFtpConfig;
  https?: Partial<HttpsConfig>;
  volumes?: VolumeConfig[];
  blockSize?: number;
  downloadConcurrency?: number;
  /** Bytes per second; 0 = no cap. */
  uploadCap?: number;
  downloadCap?: number;
  prefetch?: boolean;
  logLevel?: LogLevel;
  quota?: number;
  evictionPolicy?: EvictionPolicy;
  fanout?: number;
  heartbeatMs?: number;
  /** How long records of withdrawn and expired contents are kept (`keepHistory: 7d` in the file). */
  keepHistoryMs?: number;
  /** Root: pull-through upstreams and repository rules. */
  registry?: PullThroughConfig;
}

export interface FileFtpConfig {
  users?: FtpUserSpec[];
  anonymous?: boolean;
  requireTls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
}

export const CONFIG_KEYS = ['name', 'data', 'root', 'join', 'attrs', 'host', 'apiHost', 'apiTokenFile', 'peerPort', 'apiPort', 'httpPort', 'ftpPort', 's3Port', 's3Domain', 'ftp', 'https', 'volumes', 'blockSize', 'downloadConcurrency', 'uploadCap', 'downloadCap', 'prefetch', 'logLevel', 'fanout', 'heartbeatMs', 'keepHistory', 'quota', 'evict', 'authorisePublishers', 'state', 'stateKeyFile', 'registry'] as const;
const FTP_KEYS = ['users', 'usersFile', 'anonymous', 'requireTls', 'tlsCert', 'tlsKey'] as const;
const HTTPS_KEYS = ['api', 'edge', 'cert', 'key', 'names'] as const;
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const MAX_FILE_BYTES = 1 << 20;

function bad(key: string, problem: string): CanopyError {
  return new CanopyError('ERR_CONFIG_INVALID', `${key}: ${problem}`, { details: { key } });
}

/** Shows a user value in a message without throwing on odd shapes. */
function show(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return JSON.stringify(v)?.slice(0, 60) ?? typeof v;
}

function str(key: string, v: unknown, max = 4096): string {
  if (typeof v !== 'string' || v.length === 0) throw bad(key, `expected a non-empty string, got ${show(v)}`);
  if (v.length > max) throw bad(key, `longer than ${max} characters`);
  return v;
}

function int(key: string, v: unknown, min: number, max: number, hint = ''): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw bad(key, `expected an integer, got ${show(v)}`);
  if (v < min || v > max) throw bad(key, `${v} is out of range (${min}..${max}${hint})`);
  return v;
}

function size(key: string, v: unknown): number {
  if (typeof v === 'number') return int(key, v, 0, Number.MAX_SAFE_INTEGER);
  if (typeof v !== 'string') throw bad(key, `expected a size such as 4MiB or 4194304, got ${show(v)}`);
  try {
    return parseSize(v);
  } catch (err) {
    throw bad(key, (err as Error).message);
  }
}

/**
 * A non-negative number as it is, or text read by `parse` (a duration, a rate); anything else,
 * or text `parse` refuses, is reported with the key and what was `expected`.
 */
function numberOrText(key: string, v: unknown, parse: (text: string) => number, expected: string): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  if (typeof v === 'string') {
    try {
      return parse(v);
    } catch {
      // Reported below with the key.
    }
  }
  throw bad(key, `expected ${expected}, got ${show(v)}`);
}

/** A duration: milliseconds as a number, or text such as 90s, 12h, 7d (range checked by makeConfig). */
const duration = (key: string, v: unknown): number => numberOrText(key, v, parseDuration, 'a duration such as 7d, 12h or 30m');

function attrs(key: string, v: unknown): Attributes {
  let items: string[];
  if (typeof v === 'string') items = [v];
  else if (Array.isArray(v)) {
    items = v.map((x, i) => {
      const item = str(`${key}[${i}]`, x, 256);
      if (/[\s,]/.test(item)) throw bad(`${key}[${i}]`, `"${item}" holds more than one attribute; give one key=value per item`);
      return item;
    });
  }
  else if (typeof v === 'object' && v !== null) {
    items = Object.entries(v).map(([k, x]) => {
      if (!isValidKey(k)) throw bad(`${key}.${k}`, 'not a valid attribute key (letters, digits, _ . -; starting with a letter or _)');
      if (x === null || x === true || x === '') return k;
      if (typeof x !== 'string' && typeof x !== 'number') throw bad(`${key}.${k}`, `expected a string value, got ${show(x)}`);
      return `${k}=${x}`;
    });
  } else throw bad(key, `expected a mapping (region: eu), a list (- region=eu) or a string, got ${show(v)}`);
  try {
    return parseAttributes(items);
  } catch (err) {
    throw bad(key, (err as Error).message);
  }
}

function volumes(key: string, v: unknown): VolumeConfig[] {
  if (!Array.isArray(v)) throw bad(key, `expected a list of directories, got ${show(v)}`);
  return v.map((item, i) => {
    const k = `${key}[${i}]`;
    if (typeof item === 'string') return { path: str(k, item) };
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw bad(k, `expected a directory or { path, weight, capacity }, got ${show(item)}`);
    const o = item as Record<string, unknown>;
    const extra = Object.keys(o).filter((x) => x !== 'path' && x !== 'weight' && x !== 'capacity');
    if (extra.length > 0) throw bad(`${k}.${extra[0]}`, 'unknown key (a volume has path, weight and capacity)');
    const path = str(`${k}.path`, o.path);
    const capacity = o.capacity === undefined ? undefined : size(`${k}.capacity`, o.capacity);
    if (capacity === 0) throw bad(`${k}.capacity`, 'must be above 0');
    return { path, ...(o.weight === undefined ? {} : { weight: int(`${k}.weight`, o.weight, 1, 1000) }), ...(capacity === undefined ? {} : { capacity }) };
  });
}

function bool(key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw bad(key, `expected true or false, got ${show(v)}`);
  return v;
}

/** Rethrows a check that names its own place (an FTP user spec) with the key path in front. */
function under<T>(key: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw bad(key, (err as Error).message);
  }
}

function ftp(key: string, v: unknown): FileFtpConfig {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(key, `expected a mapping (users, usersFile, anonymous, requireTls, tlsCert, tlsKey), got ${show(v)}`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!(FTP_KEYS as readonly string[]).includes(k)) throw bad(`${key}.${k}`, `unknown key (known keys: ${FTP_KEYS.join(', ')})`);
  const out: FileFtpConfig = {};
  const users: FtpUserSpec[] = [];
  if (o.users !== undefined) {
    if (!Array.isArray(o.users)) throw bad(`${key}.users`, `expected a list of name:password, got ${show(o.users)}`);
    o.users.forEach((u, i) => users.push(under(`${key}.users[${i}]`, () => parseUserSpec(str(`${key}.users[${i}]`, u, 300), 'account'))));
  }
  if (o.usersFile !== undefined) {
    const file = str(`${key}.usersFile`, o.usersFile);
    users.push(...under(`${key}.usersFile`, () => readUsersFile(file)));
  }
  if (users.length > 0) out.users = users;
  if (o.anonymous !== undefined) out.anonymous = bool(`${key}.anonymous`, o.anonymous);
  if (o.requireTls !== undefined) out.requireTls = bool(`${key}.requireTls`, o.requireTls);
  if (o.tlsCert !== undefined) out.tlsCert = str(`${key}.tlsCert`, o.tlsCert);
  if (o.tlsKey !== undefined) out.tlsKey = str(`${key}.tlsKey`, o.tlsKey);
  return out;
}

function https(key: string, v: unknown): Partial<HttpsConfig> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(key, `expected a mapping (${HTTPS_KEYS.join(', ')}), got ${show(v)}`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!(HTTPS_KEYS as readonly string[]).includes(k)) throw bad(`${key}.${k}`, `unknown key (known keys: ${HTTPS_KEYS.join(', ')})`);
  const out: { -readonly [K in keyof HttpsConfig]?: HttpsConfig[K] } = {};
  if (o.api !== undefined) out.api = bool(`${key}.api`, o.api);
  if (o.edge !== undefined) out.edge = bool(`${key}.edge`, o.edge);
  if (o.cert !== undefined) out.cert = str(`${key}.cert`, o.cert);
  if (o.key !== undefined) out.key = str(`${key}.key`, o.key);
  if (o.names !== undefined) {
    if (!Array.isArray(o.names)) throw bad(`${key}.names`, `expected a list of DNS names or IP addresses, got ${show(o.names)}`);
    out.names = o.names.map((n, i) => str(`${key}.names[${i}]`, n, 253));
  }
  return out;
}

function join(key: string, v: unknown): PeerAddress[] {
  const text = str(key, v, 2000);
  const list = parseAddressList(text);
  if (!list) throw bad(key, `"${text.slice(0, 300)}" is not host:port (or a comma-separated list of the roots' host:port)`);
  return list;
}

let loaded: typeof Yaml | undefined;

/** The YAML parser, loaded when a file is first read: most nodes start from flags alone (~8 MiB of RSS). */
function yaml(): typeof Yaml {
  loaded ??= createRequire(import.meta.url)('yaml') as typeof Yaml;
  return loaded;
}

/** Checks one parsed YAML value (the whole document) and returns the settings it holds. */
export function checkFileConfig(doc: unknown): FileConfig {
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw bad('(top level)', `expected a mapping of keys, got ${show(doc)}`);
  const o = doc as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(k)) throw bad(k, `unknown key (known keys: ${CONFIG_KEYS.join(', ')})`);
  }
  const out: FileConfig = {};
  if (o.name !== undefined) out.name = str('name', o.name, 128);
  if (o.data !== undefined) out.dataDir = str('data', o.data);
  if (o.root !== undefined) out.isRoot = bool('root', o.root);
  if (o.join !== undefined) {
    const roots = join('join', o.join);
    out.join = roots[0];
    out.roots = roots;
  }
  if (o.attrs !== undefined) out.attrs = attrs('attrs', o.attrs);
  if (o.host !== undefined) out.host = str('host', o.host, 255);
  if (o.apiHost !== undefined) out.apiHost = str('apiHost', o.apiHost, 255);
  if (o.apiTokenFile !== undefined) out.apiTokenFile = str('apiTokenFile', o.apiTokenFile);
  if (o.state !== undefined) out.state = str('state', o.state, 2048);
  if (o.stateKeyFile !== undefined) out.stateKeyFile = str('stateKeyFile', o.stateKeyFile);
  if (o.authorisePublishers !== undefined) {
    const list = o.authorisePublishers;
    if (!Array.isArray(list) || list.length > 1000) throw bad('authorisePublishers', `expected a list of at most 1000 publisher keys or key files, got ${show(list)}`);
    out.authorisePublishers = list.map((v, i) => str(`authorisePublishers[${i}]`, v));
  }
  if (o.registry !== undefined) out.registry = checkPullThroughConfig('registry', o.registry);
  if (o.s3Domain !== undefined) out.s3Domain = str('s3Domain', o.s3Domain, 253);
  for (const k of ['peerPort', 'apiPort', 'httpPort', 'ftpPort', 's3Port'] as const) {
    if (o[k] !== undefined) out[k] = int(k, o[k], 0, 65535, '; 0 picks a free port');
  }
  if (o.ftp !== undefined) out.ftp = ftp('ftp', o.ftp);
  if (o.https !== undefined) out.https = https('https', o.https);
  if (o.prefetch !== undefined) out.prefetch = bool('prefetch', o.prefetch);
  if (o.volumes !== undefined) out.volumes = volumes('volumes', o.volumes);
  if (o.blockSize !== undefined) out.blockSize = size('blockSize', o.blockSize);
  if (o.downloadConcurrency !== undefined) out.downloadConcurrency = int('downloadConcurrency', o.downloadConcurrency, 1, 256);
  for (const k of ['uploadCap', 'downloadCap'] as const) if (o[k] !== undefined) out[k] = rate(k, o[k]);
  if (o.quota !== undefined) out.quota = size('quota', o.quota);
  if (o.evict !== undefined) {
    if (!EVICTION_POLICIES.includes(o.evict as EvictionPolicy)) throw bad('evict', `expected one of ${EVICTION_POLICIES.join(', ')}, got ${show(o.evict)}`);
    out.evictionPolicy = o.evict as EvictionPolicy;
  }
  if (o.fanout !== undefined) out.fanout = int('fanout', o.fanout, 1, 1024);
  if (o.heartbeatMs !== undefined) out.heartbeatMs = int('heartbeatMs', o.heartbeatMs, 50, 60_000);
  if (o.keepHistory !== undefined) out.keepHistoryMs = duration('keepHistory', o.keepHistory);
  if (o.logLevel !== undefined) {
    if (!LOG_LEVELS.includes(o.logLevel as LogLevel)) throw bad('logLevel', `expected one of ${LOG_LEVELS.join(', ')}, got ${show(o.logLevel)}`);
    out.logLevel = o.logLevel as LogLevel;
  }
  return out;
}

/** A rate: bytes per second as a number, or text such as "100mbit" or "10MiB/s". */
const rate = (key: string, v: unknown): number => numberOrText(key, v, parseRate, 'bytes per second or a rate such as 100mbit or 10MiB/s');

/** Parses YAML text; syntax errors name the line and column. */
export function parseConfigText(text: string, source = 'config'): FileConfig {
  const doc = yaml().parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const pos = first.linePos?.[0];
    throw new CanopyError('ERR_CONFIG_INVALID', `${source}${pos ? `:${pos.line}:${pos.col}` : ''}: YAML syntax: ${first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // Aliases to missing anchors and alias bombs surface only when the document is built.
    throw new CanopyError('ERR_CONFIG_INVALID', `${source}: YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return checkFileConfig(value);
}

export function loadConfigFile(file: string): FileConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CanopyError('ERR_FILE_NOT_FOUND', `config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (text.length > MAX_FILE_BYTES) throw new CanopyError('ERR_CONFIG_INVALID', `config file ${file} is larger than 1 MiB`);
  return parseConfigText(text, file);
}

/** The node's settings from merged file and flag values, with the defaults for the rest. */
export function nodeConfigFrom(input: FileConfig, defaultDataDir: string): NodeConfig {
  const ftp = input.ftp ?? {};
  return makeConfig({
    ...input,
    dataDir: input.dataDir ?? defaultDataDir,
    ftp: { users: ftp.users ?? [], anonymous: ftp.anonymous ?? false, requireTls: ftp.requireTls ?? false, tlsCert: ftp.tlsCert, tlsKey: ftp.tlsKey },
    https: { ...NO_HTTPS, ...input.https },
  });
}
