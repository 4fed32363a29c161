/**
 * A publish body that pushes its bytes (the root's upload socket read into one reused buffer,
 * http/taken-body.ts) turned into the frames receive-upload.ts pulls. The bytes are decoded
 * during the push, so each is copied once, into the frame that keeps it; the source is paused
 * while frames wait to be taken, so a root that stores slower than the publisher sends holds
 * a few frames, not the upload.
 */
import { UploadFrameDecoder, type Frame } from './upload-format.js';

/** A body that pushes bytes, valid only during the call; its consumer can pause it. */
export interface ByteSource {
  /** Starts delivering: `onBytes` per piece, then `onEnd` once (with the error if the body failed). */
  start(onBytes: (bytes: Buffer) => void, onEnd: (err?: Error) => void): void;
  pause(): void;
  resume(): void;
  /** No more bytes are wanted (the reader is done or failed). */
  stop(): void;
}

/** Frames waiting to be taken before the source is paused: a block being stored and one behind it. */
const WAITING_FRAMES = 2;

export function isByteSource(body: unknown): body is ByteSource {
  return typeof (body as Partial<ByteSource>).start === 'function' && typeof (body as Partial<ByteSource>).pause === 'function';
}

/** The frames of `source`, as readFrames gives those of a body of chunks (same errors, same order). */
export async function* framesFrom(source: ByteSource): AsyncGenerator<Frame> {
  const queue: Frame[] = [];
  const decoder = new UploadFrameDecoder((f) => queue.push(f));
  let ended = false;
  let failure: unknown;
  let paused = false;
  let wake: (() => void) | undefined;
  const signal = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const fail = (err: unknown): void => {
    failure ??= err;
    source.stop();
    signal();
  };
  source.start(
    (bytes) => {
      if (failure !== undefined || ended) return;
      try {
        decoder.push(bytes);
      } catch (err) {
        fail(err);
        return;
      }
      if (queue.length >= WAITING_FRAMES && !paused) {
        paused = true;
        source.pause();
      }
      signal();
    },
    (err) => {
      if (failure !== undefined || ended) return;
      if (err) return fail(err);
      try {
        decoder.end();
        ended = true;
        signal();
      } catch (e) {
        fail(e);
      }
    },
  );
  try {
    for (;;) {
      const frame = queue.shift();
      if (frame) {
        if (paused && queue.length < WAITING_FRAMES && failure === undefined) {
          paused = false;
          source.resume();
        }
        yield frame;
        continue;
      }
      if (failure !== undefined) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    source.stop();
    decoder.discard();
    for (const f of queue.splice(0)) if (f.type === 'block') f.lease.release();
  }
}
