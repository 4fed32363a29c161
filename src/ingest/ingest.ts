/**
 * The publish pipeline of the walking skeleton: cut a stream into blocks (fixed-size, or content-defined with FastCDC), hash
 * each, store each atomically, and describe the whole in a manifest whose hash is the
 * content id. The ingest issue deepens this with analysers, tracks and signatures.
 */
import { formatCriteria, type Criteria } from '../core/criteria.js';
import { contentIdOf, MANIFEST_FORMAT, MANIFEST_VERSION, type BlockRef, type Chunking, type Manifest, type PrefetchPolicy } from '../core/manifest.js';
import type { BlockStore } from '../store/block-store.js';
import { cutBlocks } from './block-cutter.js';
import { cdcParamsFor, cutChunks } from './fastcdc.js';

export const DEFAULT_BLOCK_SIZE = 4 * 2 ** 20;

export interface IngestOptions {
  name: string;
  criteria: Criteria;
  origin: string;
  blockSize?: number;
  mediaType?: string;
  /** 'cdc' cuts content-defined blocks (FastCDC) averaging `blockSize`; default 'fixed'. */
  chunking?: 'fixed' | 'cdc';
  /** Policy: ISO time after which the content is out of service everywhere. */
  expires?: string;
  /** Policy: background prefetch only in a local-time window and/or at a rate. */
  prefetch?: PrefetchPolicy;
  onProgress?: (bytes: number) => void;
}

export async function ingestStream(source: AsyncIterable<Buffer | Uint8Array>, store: BlockStore, options: IngestOptions): Promise<{ contentId: string; manifest: Manifest }> {
  const nominal = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  const cdc = options.chunking === 'cdc' ? cdcParamsFor(nominal) : undefined;
  // For CDC the manifest's blockSize is the largest a block may be (the manifest checks it).
  const blockSize = cdc ? cdc.max : nominal;
  const chunking: Chunking | undefined = cdc ? { method: 'fastcdc', ...cdc } : undefined;
  const blocks: BlockRef[] = [];
  let offset = 0;
  for await (const block of cdc ? cutChunks(source, cdc) : cutBlocks(source, blockSize)) {
    const hash = await store.put(block);
    blocks.push({ offset, length: block.length, hash });
    offset += block.length;
    options.onProgress?.(offset);
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
    ...(options.expires ? { expires: new Date(options.expires).toISOString() } : {}),
    ...(chunking ? { chunking } : {}),
    ...(options.prefetch && (options.prefetch.window || options.prefetch.rate) ? { prefetch: options.prefetch } : {}),
  };
  return { contentId: contentIdOf(manifest), manifest };
}
