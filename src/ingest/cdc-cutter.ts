/**
 * Content-defined blocks of a whole file for the ingest pipeline: one data track from byte
 * 0, cut by FastCDC (docs/CHUNKING.md). Runs of zeros are not skipped as holes: they are cut
 * into identical maximum-size blocks, which the store keeps once.
 */
import type { FileHandle } from 'node:fs/promises';
import type { CutBlock } from './cut-block.js';
import { cutChunks, type CdcParams } from './fastcdc.js';

const READ_SIZE = 4 * 2 ** 20;

export async function* cutFileCdc(fh: FileHandle, params: CdcParams): AsyncGenerator<CutBlock> {
  const stream = fh.createReadStream({ start: 0, autoClose: false, highWaterMark: READ_SIZE });
  let offset = 0;
  let index = 0;
  // Each chunk is fresh memory, so there is no buffer to give back.
  for await (const data of cutChunks(stream, params)) {
    yield { track: 0, index: index++, offset, data, release: () => undefined };
    offset += data.length;
  }
}
