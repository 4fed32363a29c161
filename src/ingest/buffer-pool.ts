/**
 * A fixed set of block-sized buffers, reused. Reusing memory matters here: on this kind of
 * VM the first write into fresh pages is several times slower than into reused ones. It is
 * also the pipeline's backpressure: a reader waits for a free buffer, so at most `count`
 * blocks are in memory whatever the content size. The buffers are page-aligned
 * (core/aligned-memory.ts), so the store writes a block read into one straight to disk
 * with O_DIRECT, without copying it first.
 */
import { alignedBuffers } from '../core/aligned-memory.js';

export class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly waiting: ((b: Buffer) => void)[] = [];
  private unmade: Buffer[] | undefined;

  /** With `shared`, buffers live in shared memory, so hash workers can read them in place. */
  constructor(
    readonly bufferSize: number,
    readonly count: number,
    private readonly shared = false,
  ) {}

  acquire(): Promise<Buffer> {
    const b = this.free.pop();
    if (b) return Promise.resolve(b);
    // One reservation for the whole pool, made on first use; its pages are committed as they are filled.
    this.unmade ??= alignedBuffers(this.bufferSize, this.count, this.shared);
    const fresh = this.unmade.shift();
    if (fresh) return Promise.resolve(fresh);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(buffer: Buffer): void {
    const next = this.waiting.shift();
    if (next) next(buffer);
    else this.free.push(buffer);
  }
}
