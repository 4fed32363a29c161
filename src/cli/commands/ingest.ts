import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Command } from 'commander';
import { formatCriteria, parseCriteria } from '../../core/criteria.js';
import { CanopyError } from '../../core/errors.js';
import { isValidContentName } from '../../core/manifest.js';
import { parseSize } from '../../core/sizes.js';
import { ingestFile, summarise } from '../../ingest/ingest-file.js';
import { loadPublisherKey } from '../../ingest/publisher-key.js';
import { storeSink } from '../../ingest/sinks.js';
import { Catalog } from '../../node/catalog.js';
import { BlockStore } from '../../store/block-store.js';
import { action, printJson } from '../output.js';
import { ProgressView } from '../progress.js';
import { RateMeter } from '../rate-meter.js';
import { describe, parseBlockSeconds } from './publish.js';

interface IngestOptions {
  volume: string[];
  data?: string;
  criteria: string;
  name?: string;
  blockSize?: string;
  blockSeconds?: string;
  key?: string;
  json?: boolean;
}

/**
 * `canopy ingest`: the publish pipeline into a local store, with no network. The data
 * directory (index) defaults to the first volume; a node later started with the same
 * --data and --volume options holds the content and serves it.
 */
export function registerIngest(program: Command): void {
  program
    .command('ingest <file>')
    .description('analyse, cut, hash and store a file into local volumes (no network); prints the manifest summary')
    .option('--volume <dir>', 'a volume directory (repeat for several)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--data <dir>', 'data directory holding the index (default: the first volume)')
    .option('--criteria <expr>', 'which nodes may hold it', '*')
    .option('--name <name>', 'content name (default: the file name)')
    .option('--block-size <size>', 'block size, e.g. 4MiB (default: chosen per content)')
    .option('--block-seconds <s>', 'seconds of playback per block for media', '2')
    .option('--key <file>', 'publisher key file (default: $CANOPY_KEY or ~/.config/canopy/publisher-key.json, created on first use)')
    .option('--json', 'print machine-readable JSON')
    .action(
      action(async (file: string, opts: IngestOptions) => {
        if (opts.volume.length === 0) throw new CanopyError('ERR_USAGE', 'ingest needs at least one --volume DIR');
        const criteria = formatCriteria(parseCriteria(opts.criteria));
        const name = opts.name ?? path.basename(file);
        if (!isValidContentName(name)) throw new CanopyError('ERR_USAGE', `--name: "${name}" must be 1-255 characters without / \\ or NUL`);
        const key = loadPublisherKey(opts.key, (k) => process.stderr.write(`created a publisher key at ${k.path}\n`));
        const store = new BlockStore(opts.data ?? opts.volume[0]!, opts.volume.map((v) => ({ path: v })));
        try {
          // The same node id a node started on this data directory will use (see node.ts).
          let origin = store.index.getKv('nodeId');
          if (!origin) store.index.putKv('nodeId', (origin = randomBytes(8).toString('hex')));
          const view = !opts.json && process.stdout.isTTY ? new ProgressView() : undefined;
          const meter = new RateMeter();
          const result = await ingestFile(file, storeSink(store), {
            name,
            criteria,
            origin,
            key: key.privateKey,
            blockSize: opts.blockSize === undefined ? undefined : parseSize(opts.blockSize),
            blockSeconds: parseBlockSeconds(opts.blockSeconds),
            onProgress: view ? (done, total) => meter.due(done, total) && view.update([{ label: 'ingest', done, total, note: meter.note(done, total) }]) : undefined,
          });
          new Catalog(store).add(result.contentId, result.manifest);
          const summary = summarise(result);
          if (opts.json) printJson(summary);
          else process.stdout.write(`${summary.contentId}\n${describe(summary)}\n`);
        } finally {
          store.close();
        }
      }),
    );
}
