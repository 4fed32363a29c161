/**
 * A fixed set of block-sized buffers, reused. Reusing memory matters here: on this kind of
 * VM the first write into fresh pages is several times slower than into reused ones. It is
 * also the pipeline's backpressure: a reader waits for a free buffer, so at most `count`
 * blocks are in memory whatever the content size.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly waiting: ((b: Buffer) => void)[] = [];
  private made = 0;

  /** With `shared`, buffers live in SharedArrayBuffers, so hash workers can read them in place. */
  constructor(
    readonly bufferSize: number,
    readonly count: number,
    private readonly shared = false,
  ) {}

  acquire(): Promise<Buffer> {
    const b = this.free.pop();
    if (b) return Promise.resolve(b);
    if (this.made < this.count) {
      this.made++;
      return Promise.resolve(this.shared ? Buffer.from(new SharedArrayBuffer(this.bufferSize)) : Buffer.allocUnsafeSlow(this.bufferSize));
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(buffer: Buffer): void {
    const next = this.waiting.shift();
    if (next) next(buffer);
    else this.free.push(buffer);
  }
}
