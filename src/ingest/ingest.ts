/**
 * The publish pipeline of the walking skeleton: cut a stream into fixed-size blocks, hash
 * each, store each atomically, and describe the whole in a manifest whose hash is the
 * content id. The ingest issue deepens this with analysers, tracks and signatures.
 */
import { randomBytes } from 'node:crypto';
import { formatCriteria, type Criteria } from '../core/criteria.js';
import { contentIdOf, MANIFEST_FORMAT, MANIFEST_VERSION, type BlockRef, type Manifest } from '../core/manifest.js';
import type { BlockStore } from '../store/block-store.js';
import { StripeWriter } from '../store/stripe-writer.js';
import { cutBlocks } from './block-cutter.js';

export const DEFAULT_BLOCK_SIZE = 4 * 2 ** 20;

export interface IngestOptions {
  name: string;
  criteria: Criteria;
  origin: string;
  blockSize?: number;
  mediaType?: string;
  onProgress?: (bytes: number) => void;
}

export async function ingestStream(source: AsyncIterable<Buffer | Uint8Array>, store: BlockStore, options: IngestOptions): Promise<{ contentId: string; manifest: Manifest }> {
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  const blocks: BlockRef[] = [];
  let offset = 0;
  // The content id is known only at the end, so the stripe is named by this ingest.
  const writer = new StripeWriter(store, `ingest:${randomBytes(8).toString('hex')}`);
  try {
    for await (const block of cutBlocks(source, blockSize)) {
      const hash = await writer.write(block);
      blocks.push({ offset, length: block.length, hash });
      offset += block.length;
      options.onProgress?.(offset);
    }
    await writer.flush();
  } catch (err) {
    // No partial state: blocks this ingest wrote and no other content uses go away.
    await writer.discard().catch(() => undefined);
    throw err;
  }
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    name: options.name,
    size: offset,
    mediaType: options.mediaType ?? 'application/octet-stream',
    blockSize,
    blocks,
    criteria: formatCriteria(options.criteria),
    placement: 'full',
    origin: options.origin,
    createdAt: new Date().toISOString(),
  };
  return { contentId: contentIdOf(manifest), manifest };
}
