import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { CanopyError } from '../../core/errors.js';
import { ingestFile, summarise } from '../../ingest/ingest-file.js';
import { loadPublisherKey } from '../../ingest/publisher-key.js';
import { storeSink } from '../../ingest/sinks.js';
import { Catalog } from '../../catalog/catalog.js';
import { BlockStore } from '../../store/block-store.js';
import { action, printJson } from '../output.js';
import { ProgressView } from '../../client/progress.js';
import { RateMeter } from '../../client/rate-meter.js';
import { addManifestOptions, manifestSettings, type ManifestCliOptions } from '../manifest-options.js';
import { loadCredentials } from '../../security/credentials.js';
import { LOCAL_INGEST_ID } from '../../store/store-types.js';
import { describe } from './publish.js';

interface IngestOptions extends ManifestCliOptions {
  volume: string[];
  data?: string;
}

/**
 * `canopy ingest`: the publish pipeline into a local store, with no network. The data
 * directory (index) defaults to the first volume; a node later started with the same
 * --data and --volume options holds the content and serves it (as its origin when the data
 * directory already has the node's credentials; see originFor).
 */
export function registerIngest(program: Command): void {
  const cmd = program.command('ingest <file>').description('analyse, cut, hash and store a file into local volumes (no network); prints the manifest summary');
  addManifestOptions(cmd)
    .option('--volume <dir>', 'a volume directory (repeat for several)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--data <dir>', 'data directory holding the index (default: the first volume)')
    .action(
      action(async (file: string, opts: IngestOptions) => {
        if (opts.volume.length === 0) throw new CanopyError('ERR_USAGE', 'ingest needs at least one --volume DIR');
        const settings = manifestSettings(file, opts);
        const key = loadPublisherKey(opts.key, (k) => process.stderr.write(`created a publisher key at ${k.path}\n`));
        const dataDir = opts.data ?? opts.volume[0]!;
        const store = new BlockStore(dataDir, opts.volume.map((v) => ({ path: v })));
        try {
          const view = !opts.json && process.stdout.isTTY ? new ProgressView() : undefined;
          const meter = new RateMeter();
          const result = await ingestFile(file, storeSink(store), {
            ...settings,
            origin: originFor(dataDir, store),
            key: key.privateKey,
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

/**
 * The origin recorded in the manifest: the node id of the data directory's certificate when
 * the node has already joined; otherwise a local id kept in the index, which the node started
 * on this directory later treats as its own (mustHold in node/admission.ts).
 */
function originFor(dataDir: string, store: BlockStore): string {
  const creds = loadCredentials(dataDir);
  if (creds) return creds.nodeId;
  let id = store.index.getKv(LOCAL_INGEST_ID);
  if (!id) store.index.putKv(LOCAL_INGEST_ID, (id = randomBytes(8).toString('hex')));
  return id;
}
