/** Where the pipeline puts blocks: the local store, nowhere (hash only), or an upload stream. */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { BlockStore } from '../store/block-store.js';
import type { BlockSink } from './pipeline.js';
import { frameHeader, FRAME_BLOCK } from './upload-format.js';

/** Blocks go to the store in cut order; `stripe` names this ingest, so consecutive blocks can go to different volumes. */
export function storeSink(store: BlockStore, stripe = `ingest:${randomBytes(8).toString('hex')}`): BlockSink & { discard(): Promise<number> } {
  let index = 0;
  const written: string[] = [];
  return {
    put: (data, hash) => {
      written.push(hash);
      return store.putHashed(hash, data, { stripe, index: index++ });
    },
    /** After a failed ingest: removes the blocks it stored that no content uses. */
    discard: () => store.discardUnreferenced(written),
  };
}

export const hashOnlySink: BlockSink = { put: async () => undefined };

/**
 * Writes each block as an upload frame, in cut order, waiting for `drain`. The bytes are
 * copied first: the pipeline reuses its buffers as soon as put() resolves, while the HTTP
 * client may still hold a written chunk in its socket queue.
 */
export function uploadSink(out: Writable): BlockSink {
  // One shared wait for `drain`, however many puts are waiting (not one listener each).
  let drained: Promise<void> | undefined;
  return {
    async put(data) {
      const ok = out.write(Buffer.concat([frameHeader(FRAME_BLOCK, data.length), data]));
      if (ok) return;
      drained ??= once(out, 'drain').then(
        () => void (drained = undefined),
        (err: unknown) => {
          drained = undefined;
          throw err;
        },
      );
      await drained;
    },
  };
}
