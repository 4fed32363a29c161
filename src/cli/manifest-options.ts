/**
 * The options that shape a manifest, shared by `canopy publish` (to a network) and
 * `canopy ingest` (into local volumes): both run the same analyse-cut-hash-sign pipeline on
 * the publisher's machine, so they take the same settings, checked the same way before any
 * byte is read.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { formatCriteria, parseCriteria } from '../core/criteria.js';
import { CanopyError } from '../core/errors.js';
import { parseExpires } from '../core/expiry.js';
import { isValidContentName, type PrefetchPolicy } from '../core/manifest.js';
import { parsePlacement } from '../core/placement.js';
import { parseSize } from '../core/sizes.js';
import { formatWindow, parseWindow } from '../swarm/prefetch-window.js';
import type { ManifestSettings } from '../client/publish-file.js';
export type { ManifestSettings };

export interface ManifestCliOptions {
  criteria: string;
  name?: string;
  blockSize?: string;
  blockSeconds?: string;
  key?: string;
  chunking?: string;
  expires?: string;
  window?: string;
  rate?: string;
  placement?: string;
  json?: boolean;
}


export function addManifestOptions(cmd: Command): Command {
  return cmd
    .option('--criteria <expr>', 'which nodes may hold it, e.g. "region=eu & !lab"', '*')
    .option('--name <name>', 'content name (default: the file or directory name)')
    .option('--block-size <size>', 'block size, e.g. 4MiB (default: chosen per content; with --chunking cdc: the average, a power of two, default 4MiB)')
    .option('--block-seconds <s>', 'seconds of playback per block for media', '2')
    .option('--chunking <method>', 'fixed, or cdc: content-defined blocks so that new versions move only what changed (generic content)')
    .option('--placement <policy>', 'how much each qualified node keeps: full (default), prefix:<percent> or on-demand')
    .option('--expires <when>', 'take the content out of service at an ISO time or after a duration (90s, 12h, 7d)')
    .option('--window <HH:MM-HH:MM>', 'nodes prefetch it only in this local-time window (client reads are never held back)')
    .option('--rate <size>', 'nodes prefetch it at most at this many bytes per second, e.g. 10MiB')
    .option('--key <file>', 'publisher key file (default: $CANOPY_KEY or ~/.config/canopy/publisher-key.json, created on first use)')
    .option('--json', 'print machine-readable JSON');
}

/** Parses and checks the options, so a bad value fails before the file is read or a root is asked. */
export function manifestSettings(file: string, opts: ManifestCliOptions, now = Date.now()): ManifestSettings {
  // path.resolve drops a trailing slash: `publish ./model/` is named model, as `publish ./model` is.
  const name = opts.name ?? path.basename(path.resolve(file));
  if (!isValidContentName(name)) throw new CanopyError('ERR_USAGE', `--name: "${name}" must be 1-255 characters without / \\ or NUL`);
  if (opts.chunking !== undefined && opts.chunking !== 'fixed' && opts.chunking !== 'cdc') throw new CanopyError('ERR_USAGE', `--chunking: "${opts.chunking}" must be fixed or cdc`);
  if (opts.placement !== undefined) parsePlacement(opts.placement);
  const window = opts.window === undefined ? undefined : formatWindow(parseWindow(opts.window));
  const rate = opts.rate === undefined ? undefined : parseSize(opts.rate);
  return {
    criteria: formatCriteria(parseCriteria(opts.criteria)),
    name,
    blockSize: opts.blockSize === undefined ? undefined : parseSize(opts.blockSize),
    blockSeconds: parseBlockSeconds(opts.blockSeconds),
    chunking: opts.chunking as 'fixed' | 'cdc' | undefined,
    expires: opts.expires === undefined ? undefined : parseExpires(opts.expires, now),
    prefetch: prefetchPolicy(window, rate),
    placement: opts.placement,
  };
}

export function prefetchPolicy(window: string | undefined, rate: number | undefined): PrefetchPolicy | undefined {
  if (window === undefined && rate === undefined) return undefined;
  return { ...(window ? { window } : {}), ...(rate ? { rate } : {}) };
}

export function parseBlockSeconds(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const s = Number(text);
  if (!Number.isFinite(s) || s <= 0 || s > 3600) throw new CanopyError('ERR_USAGE', `--block-seconds: "${text}" must be a number of seconds above 0`);
  return s;
}
