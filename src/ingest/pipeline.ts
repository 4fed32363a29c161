/**
 * The ingest pipeline's back half: hash each cut block (on worker threads when the hasher
 * has them) and hand it to a sink, with up to `concurrency` blocks between cut and stored.
 * Reading (read-ahead in the cutters, libuv threads), hashing (workers) and writing (libuv
 * threads, fsync) therefore overlap, and memory is bounded by the cutters' buffer pools.
 * Sinks see blocks in cut order (an upload depends on it); refs come back in cut order.
 */
import type { CutBlock } from './cut-block.js';
import type { Hasher } from './hash-workers.js';

export interface BlockSink {
  /** Stores or sends one block; `hash` is the SHA-256 of `data`, already computed. */
  put(data: Buffer, hash: string, block: CutBlock): Promise<void>;
  /**
   * Settles once everything put is where it goes for good (the store: durable and indexed),
   * for a sink whose put returns as soon as the buffer may be reused; throws what failed.
   */
  flush?(): Promise<void>;
}

export interface HashedBlock {
  track: number;
  index: number;
  offset: number;
  length: number;
  hash: string;
}

export interface PipelineOptions {
  concurrency: number;
  hasher: Hasher;
  onBlock?: (b: HashedBlock) => void;
}

export async function runPipeline(blocks: AsyncIterable<CutBlock>, sink: BlockSink, options: PipelineOptions): Promise<HashedBlock[]> {
  const out: HashedBlock[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  // Resolves when the previous block has been handed to the sink: puts start in cut order.
  let handedOn: Promise<void> = Promise.resolve();
  for await (const block of blocks) {
    if (failure !== undefined) {
      block.release();
      break;
    }
    const position = out.push(undefined as unknown as HashedBlock) - 1;
    const previous = handedOn;
    let markHanded!: () => void;
    handedOn = new Promise((resolve) => (markHanded = resolve));
    const hashed = block.hash !== undefined ? Promise.resolve(block.hash) : options.hasher.hash(block.data);
    const p: Promise<void> = hashed
      .then(async (hash) => {
        const ref = { track: block.track, index: block.index, offset: block.offset, length: block.data.length, hash };
        out[position] = ref;
        await previous;
        const put = sink.put(block.data, hash, block);
        markHanded();
        await put;
        options.onBlock?.(ref);
      })
      .catch((err: unknown) => {
        failure ??= err;
        markHanded();
      })
      .finally(() => {
        block.release();
        inFlight.delete(p);
      });
    inFlight.add(p);
    if (inFlight.size >= options.concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  // Nothing counts as stored before the sink says it is durable (also after a failure, so a
  // clean-up that follows sees every block that landed).
  await sink.flush?.().catch((err: unknown) => {
    failure ??= err;
  });
  if (failure !== undefined) throw failure;
  return out;
}
