/** Where the pipeline puts blocks: the local store, nowhere (hash only), or an upload stream. */
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { BlockStore } from '../store/block-store.js';
import type { CutBlock } from './cut-block.js';
import type { BlockSink } from './pipeline.js';
import { frameHeader, FRAME_BLOCK, heldFrame } from './upload-format.js';

/**
 * Blocks still syncing at once, at most: each holds an open temp file. Two volumes' worth of
 * full batches (the group commit takes up to 64 blocks per volume).
 */
const MAX_SYNCING = 128;

/** A sink into the local store, in two steps: `put` stages, `flush` waits until all is durable. */
export interface StoreSink extends BlockSink {
  /** `hash` must be the SHA-256 of `data`, computed in this process (the store does not hash again). */
  put(data: Buffer, hash: string, block?: CutBlock): Promise<void>;
  flush(): Promise<void>;
  discard(): Promise<number>;
}

/**
 * Blocks go to the store in cut order; `stripe` names this ingest, so consecutive blocks can
 * go to different volumes. A put returns once the block's bytes are in a temp file (the
 * pipeline reuses the buffer at once), and `flush` once every block is durable and indexed:
 * the pipeline reads and hashes on while batches sync instead of stalling on every sync
 * round (a 512 MiB ingest's writes: 2.0-2.7 s → 1.4-1.7 s, notes/issue-15.md Session 5).
 * The root's receiver of signed uploads (receive-upload.ts) stages blocks the same way.
 */
export function storeSink(store: BlockStore, stripe = `ingest:${randomBytes(8).toString('hex')}`): StoreSink {
  let index = 0;
  const written: string[] = [];
  const syncing = new Set<Promise<void>>();
  let failure: { err: unknown } | undefined;
  return {
    async put(data, hash) {
      if (failure) throw failure.err;
      written.push(hash);
      const { durable } = await store.stageHashed(hash, data, { stripe, index: index++ });
      const settled: Promise<void> = durable.then(
        () => void syncing.delete(settled),
        (err: unknown) => {
          failure ??= { err };
          syncing.delete(settled);
        },
      );
      syncing.add(settled);
      while (syncing.size >= MAX_SYNCING) await Promise.race(syncing);
    },
    async flush() {
      await Promise.all(syncing);
      if (failure) throw failure.err;
    },
    /** After a failed ingest: removes the blocks it stored that no content uses. */
    discard: () => store.discardUnreferenced(written),
  };
}

export const hashOnlySink: BlockSink = { put: async () => undefined };

/** What an upload sink sent: the blocks' bytes, and the blocks named as held by the root instead (`H` frames). */
export interface UploadCounts {
  sentBytes: number;
  heldBlocks: number;
  heldBytes: number;
}

/**
 * Writes each block as an upload frame, in cut order, waiting for `drain`. The bytes are
 * copied first: the pipeline reuses its buffers as soon as put() resolves, while the HTTP
 * client may still hold a written chunk in its socket queue. With `held` (client/held-probe.ts),
 * a block the root says it holds goes as its hash only.
 */
export function uploadSink(out: Writable, held?: (hash: string) => Promise<boolean>, counts: UploadCounts = { sentBytes: 0, heldBlocks: 0, heldBytes: 0 }): BlockSink {
  // One shared wait for `drain`, however many puts are waiting (not one listener each).
  let drained: Promise<void> | undefined;
  // The pipeline starts puts in cut order but does not wait for one before the next: a put that asks the root
  // first would let a later block overtake it, so each put's frame is written after the one before.
  let previous: Promise<unknown> = Promise.resolve();
  const write = async (data: Buffer, hash: string): Promise<boolean> => {
    // A stream destroyed (the root answered early, e.g. with a refusal) emits no more events: fail now rather than wait forever.
    if (out.destroyed) throw closed(out);
    const isHeld = held !== undefined && (await held(hash));
    if (out.destroyed) throw closed(out);
    if (isHeld) {
      counts.heldBlocks++;
      counts.heldBytes += data.length;
    } else counts.sentBytes += data.length;
    return out.write(isHeld ? heldFrame(hash) : Buffer.concat([frameHeader(FRAME_BLOCK, data.length), data]));
  };
  return {
    async put(data, hash) {
      const turn = previous.then(() => write(data, hash));
      previous = turn.catch(() => undefined);
      const ok = await turn;
      if (ok) return;
      drained ??= new Promise<void>((resolve, reject) => {
        const done = (err?: unknown) => {
          out.off('drain', onDrain);
          out.off('close', onClose);
          out.off('error', done);
          drained = undefined;
          if (err === undefined) resolve();
          else reject(err);
        };
        const onDrain = () => done();
        const onClose = () => done(closed(out));
        out.on('drain', onDrain);
        out.on('close', onClose);
        out.on('error', done);
      });
      await drained;
    },
  };
}

function closed(out: Writable): Error {
  return out.errored ?? new Error('the upload stream was closed');
}
