/** Where the pipeline puts blocks: the local store, nowhere (hash only), or an upload stream. */
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { BlockStore } from '../store/block-store.js';
import type { StoreWriter } from '../store/volume-commit.js';
import type { CutBlock } from './cut-block.js';
import type { BlockSink } from './pipeline.js';
import { frameHeader, FRAME_BLOCK, heldFrame, keepAliveFrame } from './upload-format.js';

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
  // While the sink takes blocks, the store's commits wait for more of them (batches of ~32, not one each).
  let writing: StoreWriter | undefined;
  return {
    async put(data, hash) {
      if (failure) throw failure.err;
      writing ??= store.expectWrites();
      written.push(hash);
      // Deferred: only `flush` waits for durability, so the volume may gather a bigger batch first.
      const { durable } = await store.stageHashed(hash, data, { stripe, index: index++ }, true);
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
      const writer = writing;
      writing = undefined;
      writer?.done();
      await Promise.all(syncing);
      if (failure) throw failure.err;
      // Committed, renamed and indexed; their directories are synced once here (store/dir-sync.ts).
      await writer?.durable();
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
 * Where an upload's frames go. A write's callback must fire only once the chunk is no longer
 * read: node:http's request or a socket (the kernel or TLS has taken it), never a
 * PassThrough, which keeps the chunk in its buffer after calling back.
 */
export type FrameOut = Pick<Writable, 'write' | 'destroyed' | 'errored' | 'once' | 'writableEnded'>;

/**
 * After this long with no frame written, an upload sink writes a keepalive frame (`K`,
 * upload-format.ts), and again after as long: a node's HTTP servers cut a socket on which
 * nothing moved for 120 s (http/timeouts.ts), and a publish may have nothing to send for
 * longer than that while it reads a long run of zeros (a hole: tens of GiB of a sparse
 * file, or of an origin's object, are read before the next block) or waits on a slow origin.
 */
export const UPLOAD_KEEPALIVE_MS = 20_000;

/**
 * Writes each block as an upload frame, in cut order, straight from the pipeline's buffer:
 * a put resolves when `out` calls back for the block's bytes, so the pipeline reuses the
 * buffer only once it was sent (no copy; Buffer.concat of header and block was 37-45 % of
 * the publishing client's CPU, notes/issue-15.md Session 6). The wait is also the
 * backpressure: at most the pipeline's blocks are in flight, in its own buffers. With `held`
 * (client/held-probe.ts), a block the root says it holds goes as its hash only. While `out`
 * is open, a keepalive frame goes after every `keepAliveMs` with nothing else written.
 */
export function uploadSink(out: FrameOut, held?: (hash: string) => Promise<boolean>, counts: UploadCounts = { sentBytes: 0, heldBlocks: 0, heldBytes: 0 }, keepAliveMs = UPLOAD_KEEPALIVE_MS): BlockSink {
  const quiet = keepUploadAlive(out, keepAliveMs);
  // A stream that closes before calling back (destroyed: the node answered early, e.g. with a refusal) fails the puts waiting on it.
  const gone = new Promise<never>((_, reject) => out.once('close', () => reject(closed(out))));
  gone.catch(() => undefined);
  // The pipeline starts puts in cut order but does not wait for one before the next: a put that asks the root
  // first would let a later block overtake it, so each frame is written after the one before (not after it was sent).
  let previous: Promise<unknown> = Promise.resolve();
  const frame = (data: Buffer, hash: string, isHeld: boolean): { sent: Promise<void> } => {
    if (out.destroyed) throw closed(out);
    // Frames are written whole in one turn of the event loop: a keepalive never lands inside one.
    quiet.refresh();
    if (isHeld) {
      counts.heldBlocks++;
      counts.heldBytes += data.length;
      out.write(heldFrame(hash));
      return { sent: Promise.resolve() };
    }
    counts.sentBytes += data.length;
    out.write(frameHeader(FRAME_BLOCK, data.length));
    const sent = new Promise<void>((resolve, reject) => out.write(data, (err) => (err ? reject(err) : resolve())));
    // Handled here too: when `gone` wins the race, the write's own error comes later.
    sent.catch(() => undefined);
    return { sent };
  };
  return {
    async put(data, hash) {
      if (out.destroyed) throw closed(out);
      const isHeld = held === undefined ? Promise.resolve(false) : held(hash);
      const queued = previous.then(async () => frame(data, hash, await isHeld));
      previous = queued.catch(() => undefined);
      const { sent } = await Promise.race([queued, gone]);
      await Promise.race([sent, gone]);
    },
  };
}

/**
 * A timer that writes a keepalive frame to `out` when it fires, and is `refresh`ed by every
 * other frame written; it stops once `out` is ended or destroyed (the manifest frame ends
 * it), and never holds the process open.
 */
function keepUploadAlive(out: FrameOut, ms: number): NodeJS.Timeout {
  const timer: NodeJS.Timeout = setInterval(() => {
    if (out.destroyed || out.writableEnded) clearInterval(timer);
    else out.write(keepAliveFrame());
  }, ms);
  timer.unref();
  return timer;
}

function closed(out: FrameOut): Error {
  return out.errored ?? new Error('the upload stream was closed');
}
