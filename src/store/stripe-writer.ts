/**
 * Writes the blocks of one content in order with several writes in flight, so that while
 * one volume fsyncs the next block is already going to another (consecutive blocks sit on
 * different volumes). `write` returns the block's hash as soon as the block is admitted;
 * it waits only while `window` writes are in flight, which bounds memory to `window`
 * blocks and back-pressures the producer. A failed write is reported by the next call.
 */
import { sha256Hex } from '../core/hash.js';
import type { BlockStore } from './block-store.js';

export const DEFAULT_WRITE_WINDOW = 4;

export class StripeWriter {
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly hashes: string[] = [];
  private failure: unknown;

  constructor(
    private readonly store: BlockStore,
    private readonly stripe: string,
    private readonly window = DEFAULT_WRITE_WINDOW,
  ) {}

  /** Hashes of the blocks admitted so far, in order. */
  get written(): readonly string[] {
    return this.hashes;
  }

  async write(data: Buffer): Promise<string> {
    this.throwIfFailed();
    while (this.inFlight.size >= this.window) {
      await Promise.race(this.inFlight);
      this.throwIfFailed();
    }
    const hash = sha256Hex(data);
    const put = this.store
      .putHashed(hash, data, { stripe: this.stripe, index: this.hashes.length })
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => this.inFlight.delete(put));
    this.inFlight.add(put);
    this.hashes.push(hash);
    return hash;
  }

  /** Waits for every write; throws the first failure. */
  async flush(): Promise<void> {
    await Promise.all(this.inFlight);
    this.throwIfFailed();
  }

  /** After a failure or an abandoned ingest: waits for writes in flight, then removes what nothing uses. */
  async discard(): Promise<void> {
    await Promise.all(this.inFlight);
    await this.store.discardUnreferenced(this.hashes);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
