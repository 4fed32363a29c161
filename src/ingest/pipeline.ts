/**
 * The ingest pipeline's back half: hash each cut block and hand it to a sink, with up to
 * `concurrency` sink writes in flight. Reading (read-ahead in the cutters, libuv threads),
 * hashing (this thread) and writing (libuv threads, fsync) therefore overlap, and memory
 * is bounded by the cutters' buffer pools. Block refs come back in cut order.
 */
import { createHash } from 'node:crypto';
import type { CutBlock } from './cut-block.js';

export interface BlockSink {
  /** Stores or sends one block; `hash` is the SHA-256 of `data`, already computed. */
  put(data: Buffer, hash: string, block: CutBlock): Promise<void>;
}

export interface HashedBlock {
  track: number;
  index: number;
  offset: number;
  length: number;
  hash: string;
}

export async function runPipeline(blocks: AsyncIterable<CutBlock>, sink: BlockSink, options: { concurrency: number; onBlock?: (b: HashedBlock) => void }): Promise<HashedBlock[]> {
  const out: HashedBlock[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  for await (const block of blocks) {
    if (failure !== undefined) {
      block.release();
      break;
    }
    const hash = createHash('sha256').update(block.data).digest('hex');
    const ref = { track: block.track, index: block.index, offset: block.offset, length: block.data.length, hash };
    out.push(ref);
    const p: Promise<void> = sink
      .put(block.data, hash, block)
      .then(() => options.onBlock?.(ref))
      .catch((err: unknown) => {
        failure ??= err;
      })
      .finally(() => {
        block.release();
        inFlight.delete(p);
      });
    inFlight.add(p);
    if (inFlight.size >= options.concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
  return out;
}
