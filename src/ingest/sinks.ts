/** Where the pipeline puts blocks: the local store, nowhere (hash only), or an upload stream. */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { BlockStore } from '../store/block-store.js';
import type { BlockSink } from './pipeline.js';
import { frameHeader, FRAME_BLOCK } from './upload-format.js';

export function storeSink(store: BlockStore): BlockSink {
  return { put: async (data, hash) => void (await store.put(data, hash, { alreadyHashed: true })) };
}

export const hashOnlySink: BlockSink = { put: async () => undefined };

/**
 * Writes each block as an upload frame, in cut order, waiting for `drain`. The bytes are
 * copied first: the pipeline reuses its buffers as soon as put() resolves, while the HTTP
 * client may still hold a written chunk in its socket queue.
 */
export function uploadSink(out: Writable): BlockSink {
  return {
    async put(data) {
      const ok = out.write(Buffer.concat([frameHeader(FRAME_BLOCK, data.length), data]));
      if (!ok) await once(out, 'drain');
    },
  };
}
