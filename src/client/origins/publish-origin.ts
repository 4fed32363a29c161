/**
 * `canopy publish https://...` or `s3://...` (docs/ORIGINS.md): publishes an object (or an S3
 * prefix, as a directory) read straight from its origin by ranges, and remembers which origin version each name was published from (a
 * small JSON state file), so publishing again, or each poll of `--follow`, makes a new
 * version only when the origin's ETag, Last-Modified or size changed. A new version moves
 * only the blocks that changed (nodes keep the blocks they hold, by hash).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CanopyError } from '../../core/errors.js';
import type { ApiClient } from '../api-client.js';
import { publishWith, type PublishFileOptions, type PublishResult } from '../publish-file.js';
import { openOrigin, type OriginOptions } from './open-origin.js';
import { describeVersion, sameVersion, type OriginVersion } from './origin.js';
import { makeDirs } from '../../store/make-dirs.js';

export interface OriginPublishOptions extends PublishFileOptions, OriginOptions {
  /** Where the origin versions already published are remembered (default: originStatePath()). */
  stateFile?: string;
  /** Publish even when the origin has not changed since the last publish of this name. */
  force?: boolean;
}

export interface OriginPublishResult {
  origin: string;
  originVersion: OriginVersion;
  /** True when the origin had not changed: nothing was published, contentId is the earlier one. */
  unchanged: boolean;
  contentId: string;
  published?: PublishResult;
}

interface StateEntry {
  version: OriginVersion;
  contentId: string;
  publishedAt: string;
}

export function originStatePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CANOPY_ORIGIN_STATE) return path.resolve(env.CANOPY_ORIGIN_STATE);
  return path.join(env.XDG_CONFIG_HOME || path.join(homedir(), '.config'), 'canopy', 'origins.json');
}

function readState(file: string): Record<string, StateEntry> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, StateEntry>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CanopyError('ERR_CONFIG_INVALID', `origin state file ${file} does not read as JSON: ${(err as Error).message}`);
  }
}

function writeState(file: string, state: Record<string, StateEntry>): void {
  makeDirs(path.dirname(file), 0o700);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

export async function publishOrigin(api: ApiClient, url: string, options: OriginPublishOptions): Promise<OriginPublishResult> {
  const origin = await openOrigin(url, options);
  const name = options.name ?? origin.name;
  const stateFile = options.stateFile ?? originStatePath();
  const key = `${name} ${url}`;
  const before = readState(stateFile)[key];
  let published: PublishResult;
  try {
    if (before && !options.force && sameVersion(before.version, origin.version)) return { origin: url, originVersion: origin.version, unchanged: true, contentId: before.contentId };
    published = await publishWith(api, name, options, origin.ingest);
  } finally {
    origin.close();
  }
  const state = readState(stateFile);
  state[key] = { version: origin.version, contentId: published.contentId, publishedAt: new Date().toISOString() };
  writeState(stateFile, state);
  return { origin: url, originVersion: origin.version, unchanged: false, contentId: published.contentId, published };
}

/**
 * `--follow`: publishes now, then every `intervalMs` checks the origin and publishes a new
 * version when it changed, until `signal` aborts. A failed poll (the origin down, say) is
 * reported and the next poll tries again.
 */
export async function followOrigin(api: ApiClient, url: string, options: OriginPublishOptions, intervalMs: number, report: (r: OriginPublishResult | Error) => void, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      report(await publishOrigin(api, url, options));
    } catch (err) {
      report(err as Error);
    }
    await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
  }
}

export function describeOrigin(r: OriginPublishResult): string {
  return r.unchanged ? `${r.origin} unchanged (${describeVersion(r.originVersion)}): nothing published, ${r.contentId} stays` : `${r.origin} (${describeVersion(r.originVersion)}) published as ${r.contentId}`;
}
