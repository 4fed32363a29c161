/**
 * Ingest of a raw upload at the root: the analysers need to seek (an MP4's moov may sit at
 * the end), so the body is first spooled to a temp file on a volume (its tmp/ directory is
 * scrubbed at start-up, so a crash leaves nothing behind), then ingested like a local file.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlockStore } from '../store/block-store.js';
import { ingestFile, type IngestFileOptions, type IngestResult } from './ingest-file.js';
import { storeSink } from './sinks.js';
import { makeDirs } from '../store/make-dirs.js';

export async function spoolAndIngest(body: AsyncIterable<Buffer>, spoolDir: string, store: BlockStore, options: IngestFileOptions): Promise<IngestResult> {
  makeDirs(spoolDir);
  const file = path.join(spoolDir, `upload-${randomBytes(6).toString('hex')}`);
  try {
    await pipeline(Readable.from(body), createWriteStream(file, { highWaterMark: 4 << 20 }));
    const sink = storeSink(store);
    try {
      return await ingestFile(file, sink, options);
    } catch (err) {
      await sink.discard().catch(() => undefined); // No partial state.
      throw err;
    }
  } finally {
    await unlink(file).catch(() => undefined);
  }
}
