import { createReadStream, statSync } from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import type { Command } from 'commander';
import { parseCriteria } from '../../core/criteria.js';
import { CanopyError } from '../../core/errors.js';
import { parseExpires } from '../../core/expiry.js';
import { formatWindow, parseWindow } from '../../swarm/prefetch-window.js';
import { formatBytes, parseSize } from '../../core/sizes.js';
import { ApiClient, DEFAULT_API } from '../api-client.js';
import { action, printJson } from '../output.js';
import { ProgressView } from '../progress.js';

interface PublishOptions {
  criteria: string;
  to: string;
  name?: string;
  blockSize?: string;
  chunking?: string;
  expires?: string;
  window?: string;
  rate?: string;
  json?: boolean;
}

export interface PublishResult {
  contentId: string;
  name: string;
  size: number;
  blocks: number;
  blockSize: number;
  criteria: string;
  version?: number;
  chunking?: string;
  expires?: string | null;
}

export interface PublishFileOptions {
  criteria: string;
  name?: string;
  blockSize?: number;
  /** 'cdc': content-defined blocks (FastCDC), so a new version moves only changed blocks. */
  chunking?: 'fixed' | 'cdc';
  /** ISO time after which the content is out of service everywhere. */
  expires?: string;
  /** Background prefetch only in this local-time window (HH:MM-HH:MM) ... */
  window?: string;
  /** ... and at most at this rate, bytes per second. Client reads are never held back. */
  rate?: number;
  onProgress?: (bytes: number, total: number) => void;
}

/** Streams a file to the root's publish API; shared by `canopy publish` and `canopy demo`. */
export async function publishFile(api: ApiClient, file: string, options: PublishFileOptions): Promise<PublishResult> {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error('not a regular file');
    size = st.size;
  } catch (err) {
    throw new CanopyError('ERR_FILE_NOT_FOUND', `cannot publish "${file}": ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  // Parsed here too, so a bad expression fails before any byte is sent.
  parseCriteria(options.criteria);
  const params = new URLSearchParams({ name: options.name ?? path.basename(file), criteria: options.criteria });
  if (options.blockSize !== undefined) params.set('blockSize', String(options.blockSize));
  if (options.chunking !== undefined) params.set('chunking', options.chunking);
  if (options.expires !== undefined) params.set('expires', options.expires);
  if (options.window !== undefined) params.set('window', options.window);
  if (options.rate !== undefined) params.set('rate', String(options.rate));
  let sent = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      sent += chunk.length;
      options.onProgress?.(sent, size);
      cb(null, chunk);
    },
  });
  const body = createReadStream(file, { highWaterMark: 1 << 20 }).pipe(counter);
  return api.post<PublishResult>(`/api/contents?${params}`, body, { 'content-length': String(size), 'content-type': 'application/octet-stream' });
}

export function registerPublish(program: Command): void {
  program
    .command('publish <file>')
    .description('publish a file to a running network; prints the content id')
    .option('--criteria <expr>', 'which nodes may hold it, e.g. "region=eu & !lab"', '*')
    .option('--to <url>', 'admin API of the root', DEFAULT_API)
    .option('--name <name>', 'content name (default: the file name)')
    .option('--block-size <size>', 'block size, e.g. 4MiB (with --chunking cdc: the average, a power of two)')
    .option('--chunking <method>', 'fixed, or cdc: content-defined blocks so that new versions move only what changed')
    .option('--expires <when>', 'take the content out of service at an ISO time or after a duration (90s, 12h, 7d)')
    .option('--window <HH:MM-HH:MM>', 'nodes prefetch it only in this local-time window (client reads are never held back)')
    .option('--rate <size>', 'nodes prefetch it at most at this many bytes per second, e.g. 10MiB')
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (file: string, opts: PublishOptions) => {
        if (opts.chunking !== undefined && opts.chunking !== 'fixed' && opts.chunking !== 'cdc') throw new CanopyError('ERR_USAGE', `--chunking: "${opts.chunking}" must be fixed or cdc`);
        const expires = opts.expires === undefined ? undefined : parseExpires(opts.expires, Date.now());
        const window = opts.window === undefined ? undefined : formatWindow(parseWindow(opts.window));
        const view = !opts.json && process.stdout.isTTY ? new ProgressView() : undefined;
        const result = await publishFile(new ApiClient(opts.to), file, {
          criteria: opts.criteria,
          name: opts.name,
          blockSize: opts.blockSize === undefined ? undefined : parseSize(opts.blockSize),
          chunking: opts.chunking as 'fixed' | 'cdc' | undefined,
          expires,
          window,
          rate: opts.rate === undefined ? undefined : parseSize(opts.rate),
          onProgress: view ? (done, total) => view.update([{ label: 'upload', done, total }]) : undefined,
        });
        if (opts.json) printJson(result);
        else process.stdout.write(`${result.contentId}\npublished ${result.name}${result.version && result.version > 1 ? ` version ${result.version}` : ''} (${formatBytes(result.size)}, ${result.blocks} blocks, ${result.chunking ?? 'fixed'}) for "${result.criteria}"${result.expires ? `, expires ${result.expires}` : ''}\n`);
      }),
    );
}
