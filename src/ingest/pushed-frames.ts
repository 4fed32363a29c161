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

/** Frames decoded from a source's pushes, waiting to be taken; pauses the source while too many wait. */
class WaitingFrames {
  readonly queue: Frame[] = [];
  private readonly decoder = new UploadFrameDecoder((f) => this.queue.push(f));
  ended = false;
  failure: unknown;
  private paused = false;
  private wake: (() => void) | undefined;

  constructor(private readonly source: ByteSource) {}

  bytes(bytes: Buffer): void {
    if (this.failure !== undefined || this.ended) return;
    try {
      this.decoder.push(bytes);
    } catch (err) {
      return this.fail(err);
    }
    if (this.queue.length >= WAITING_FRAMES && !this.paused) {
      this.paused = true;
      this.source.pause();
    }
    this.signal();
  }

  end(err?: Error): void {
    if (this.failure !== undefined || this.ended) return;
    if (err) return this.fail(err);
    try {
      this.decoder.end();
      this.ended = true;
      this.signal();
    } catch (e) {
      this.fail(e);
    }
  }

  /** The next frame, resuming the source once few wait; undefined when none is waiting. */
  take(): Frame | undefined {
    const frame = this.queue.shift();
    if (frame && this.paused && this.queue.length < WAITING_FRAMES && this.failure === undefined) {
      this.paused = false;
      this.source.resume();
    }
    return frame;
  }

  /** Resolves at the next push or end. */
  next(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  /** Gives back every block buffer still held here. */
  discard(): void {
    this.decoder.discard();
    for (const f of this.queue.splice(0)) if (f.type === 'block') f.lease.release();
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    this.source.stop();
    this.signal();
  }

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

/** The frames of `source`, as readFrames gives those of a body of chunks (same errors, same order). */
export async function* framesFrom(source: ByteSource): AsyncGenerator<Frame> {
  const waiting = new WaitingFrames(source);
  source.start(
    (bytes) => waiting.bytes(bytes),
    (err) => waiting.end(err),
  );
  try {
    for (;;) {
      const frame = waiting.take();
      if (frame) {
        yield frame;
        continue;
      }
      if (waiting.failure !== undefined) throw waiting.failure;
      if (waiting.ended) return;
      await waiting.next();
    }
  } finally {
    source.stop();
    waiting.discard();
  }
}
