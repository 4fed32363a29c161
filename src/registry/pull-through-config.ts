/**
 * The root's pull-through settings (YAML key `registry`, docs/REGISTRY.md): the upstream
 * registries it may fetch from, and per repository pattern who may pull through and how
 * the result is placed. Pure: checked once at start with messages naming the key path, then
 * asked which upstream and rule a `(registry, repository)` falls under.
 */
import { readFileSync } from 'node:fs';
import { parseCriteria } from '../core/criteria.js';
import { CanopyError } from '../core/errors.js';
import { isRegistryHost, isRepository, sameRegistry } from './reference.js';
import type { UpstreamOptions } from './registry-client.js';

export interface PullThroughConfig {
  /** How long a tag resolved upstream is trusted before it is asked again (seconds). */
  readonly tagCacheSeconds: number;
  /**
   * How many nodes the root relays one blob's first fetch to while it arrives (default 1).
   * Each relayed copy goes out of the root's uplink at the upstream's pace, so more than one
   * only pays when that uplink is several times faster than the upstream (a fast LAN behind
   * a slow internet registry); other askers follow the blob's content through the swarm.
   */
  readonly relayReaders: number;
  /** The first is the default: the registry of a pull that does not say (`ns=`) which one. */
  readonly upstreams: readonly UpstreamOptions[];
  readonly repositories: readonly RepositoryRule[];
}

export interface RepositoryRule {
  /** `HOST/path/*`: a registry host, then a repository name whose last component may be `*` (any depth below). */
  readonly pattern: string;
  /** Canonical criteria of what is pulled through under this rule (who may pull it, who may hold it). */
  readonly criteria: string;
  /** Placement of the published blobs: `on-demand` (default) or `full`. */
  readonly placement: string;
}

export const DEFAULT_TAG_CACHE_SECONDS = 60;
export const DEFAULT_RELAY_READERS = 1;
const UPSTREAM_KEYS = ['host', 'endpoint', 'insecure', 'caFile', 'skipTlsVerify', 'username', 'passwordFile', 'timeoutSeconds'];
const RULE_KEYS = ['pattern', 'criteria', 'placement'];

function bad(key: string, problem: string): CanopyError {
  return new CanopyError('ERR_CONFIG_INVALID', `${key}: ${problem}`, { details: { key } });
}

function mapping(key: string, v: unknown, keys: string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(key, `expected a mapping (${keys.join(', ')})`);
  for (const k of Object.keys(v)) if (!keys.includes(k)) throw bad(`${key}.${k}`, `unknown key (known keys: ${keys.join(', ')})`);
  return v as Record<string, unknown>;
}

function text(key: string, v: unknown, max = 4096): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw bad(key, `expected a non-empty string of at most ${max} characters`);
  return v;
}

function flag(key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw bad(key, 'expected true or false');
  return v;
}

function integer(key: string, v: unknown, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(key, `expected an integer ${min}..${max}`);
  return v;
}

function readText(key: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw bad(key, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Checks the `registry` mapping of a root's config file; files it names (CA, password) are read now. */
export function checkPullThroughConfig(key: string, v: unknown): PullThroughConfig {
  const o = mapping(key, v, ['tagCacheSeconds', 'relayReaders', 'upstreams', 'repositories']);
  const tagCacheSeconds = integer(`${key}.tagCacheSeconds`, o.tagCacheSeconds, 0, 86_400, DEFAULT_TAG_CACHE_SECONDS);
  const relayReaders = integer(`${key}.relayReaders`, o.relayReaders, 1, 1024, DEFAULT_RELAY_READERS);
  if (!Array.isArray(o.upstreams) || o.upstreams.length === 0 || o.upstreams.length > 64) throw bad(`${key}.upstreams`, 'expected a list of 1..64 upstream registries');
  const upstreams = o.upstreams.map((u, i) => upstream(`${key}.upstreams[${i}]`, u));
  const rulesIn = o.repositories ?? [{ pattern: `${upstreams[0]!.registry}/*` }];
  if (!Array.isArray(rulesIn) || rulesIn.length > 1000) throw bad(`${key}.repositories`, 'expected a list of at most 1000 repository rules');
  const repositories = rulesIn.map((r, i) => rule(`${key}.repositories[${i}]`, r, upstreams));
  return { tagCacheSeconds, relayReaders, upstreams, repositories };
}

function upstream(key: string, v: unknown): UpstreamOptions {
  const o = mapping(key, v, UPSTREAM_KEYS);
  const registry = text(`${key}.host`, o.host, 300);
  if (!isRegistryHost(registry)) throw bad(`${key}.host`, `"${registry}" is not host[:port]`);
  const out: { -readonly [K in keyof UpstreamOptions]: UpstreamOptions[K] } = { registry };
  if (o.insecure !== undefined) out.insecure = flag(`${key}.insecure`, o.insecure);
  if (o.endpoint !== undefined) out.endpoint = endpoint(`${key}.endpoint`, o.endpoint);
  if (o.skipTlsVerify !== undefined) out.skipTlsVerify = flag(`${key}.skipTlsVerify`, o.skipTlsVerify);
  if (o.caFile !== undefined) out.ca = readText(`${key}.caFile`, text(`${key}.caFile`, o.caFile));
  if ((o.username === undefined) !== (o.passwordFile === undefined)) throw bad(key, 'username and passwordFile go together');
  if (o.username !== undefined) out.credentials = { username: text(`${key}.username`, o.username, 256), password: readText(`${key}.passwordFile`, text(`${key}.passwordFile`, o.passwordFile)).trim() };
  if (o.timeoutSeconds !== undefined) {
    if (typeof o.timeoutSeconds !== 'number' || !(o.timeoutSeconds > 0) || o.timeoutSeconds > 3600) throw bad(`${key}.timeoutSeconds`, 'expected a number of seconds in (0, 3600]');
    out.timeoutMs = o.timeoutSeconds * 1000;
  }
  return out;
}

/** `http(s)://host[:port]`, nothing more: the Distribution API lives at /v2/ of that origin. */
function endpoint(key: string, v: unknown): string {
  const raw = text(key, v, 300);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw bad(key, `"${raw}" is not a URL`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
    throw bad(key, `"${raw}" must be http(s)://host[:port] without a path, credentials or query (credentials go in username and passwordFile)`);
  }
  return url.origin;
}

function rule(key: string, v: unknown, upstreams: readonly UpstreamOptions[]): RepositoryRule {
  const o = mapping(key, v, RULE_KEYS);
  const pattern = text(`${key}.pattern`, o.pattern, 600);
  const slash = pattern.indexOf('/');
  const host = slash < 0 ? pattern : pattern.slice(0, slash);
  const repo = slash < 0 ? '' : pattern.slice(slash + 1);
  const stem = repo === '*' ? '' : repo.endsWith('/*') ? repo.slice(0, -2) : repo;
  if (!isRegistryHost(host) || (stem !== '' && !isRepository(stem)) || repo === '') throw bad(`${key}.pattern`, `"${pattern}" is not HOST/repository or HOST/path/*`);
  if (!upstreams.some((u) => sameRegistry(u.registry, host))) throw bad(`${key}.pattern`, `${host} is not one of the upstreams`);
  let criteria = '*';
  if (o.criteria !== undefined) {
    criteria = text(`${key}.criteria`, o.criteria, 2000);
    try {
      parseCriteria(criteria);
    } catch (err) {
      throw bad(`${key}.criteria`, (err as Error).message);
    }
  }
  const placement = o.placement === undefined ? 'on-demand' : text(`${key}.placement`, o.placement, 32);
  if (placement !== 'on-demand' && placement !== 'full') throw bad(`${key}.placement`, 'expected on-demand or full');
  return { pattern, criteria, placement };
}

/** The upstream a pull names (`ns=`), or the default (first) one when it names none; undefined if it names one not configured. */
export function upstreamFor(config: PullThroughConfig, ns: string | undefined): UpstreamOptions | undefined {
  if (ns === undefined) return config.upstreams[0];
  return config.upstreams.find((u) => sameRegistry(u.registry, ns));
}

/** The first rule whose pattern covers `registry/repository`. */
export function ruleFor(config: PullThroughConfig, registry: string, repository: string): RepositoryRule | undefined {
  return config.repositories.find((r) => {
    const slash = r.pattern.indexOf('/');
    if (!sameRegistry(r.pattern.slice(0, slash), registry)) return false;
    const repo = r.pattern.slice(slash + 1);
    if (repo === '*') return true;
    if (repo.endsWith('/*')) return repository.startsWith(repo.slice(0, -1));
    return repo === repository;
  });
}
