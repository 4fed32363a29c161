import { createReadStream, statSync } from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import type { Command } from 'commander';
import { parseCriteria } from '../../core/criteria.js';
import { parseAccessMode, type AccessMode } from '../../security/content-access.js';
import { CanopyError } from '../../core/errors.js';
import { formatBytes, parseSize } from '../../core/sizes.js';
import { ApiClient, DEFAULT_API } from '../api-client.js';
import { action, printJson } from '../output.js';
import { ProgressView } from '../progress.js';

interface PublishOptions {
  criteria: string;
  to: string;
  name?: string;
  blockSize?: string;
  access: string;
  json?: boolean;
}

export interface PublishResult {
  contentId: string;
  name: string;
  size: number;
  blocks: number;
  blockSize: number;
  criteria: string;
}

/** Streams a file to the root's publish API; shared by `canopy publish` and `canopy demo`. */
export async function publishFile(api: ApiClient, file: string, options: { criteria: string; name?: string; blockSize?: number; access?: AccessMode; onProgress?: (bytes: number, total: number) => void }): Promise<PublishResult> {
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
  if (options.access !== undefined) params.set('access', options.access);
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
    .option('--block-size <size>', 'block size, e.g. 4MiB')
    .option('--access <mode>', 'who may fetch it from the edge servers: public, or signed (URLs from canopy url)', 'public')
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (file: string, opts: PublishOptions) => {
        const view = !opts.json && process.stdout.isTTY ? new ProgressView() : undefined;
        const result = await publishFile(new ApiClient(opts.to), file, {
          criteria: opts.criteria,
          name: opts.name,
          blockSize: opts.blockSize === undefined ? undefined : parseSize(opts.blockSize),
          access: parseAccessMode(opts.access),
          onProgress: view ? (done, total) => view.update([{ label: 'upload', done, total }]) : undefined,
        });
        if (opts.json) printJson(result);
        else process.stdout.write(`${result.contentId}\npublished ${result.name} (${formatBytes(result.size)}, ${result.blocks} blocks) for "${result.criteria}"\n`);
      }),
    );
}
