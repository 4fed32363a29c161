/**
 * Ingests a file that is still growing (a resumable upload being written by the tus
 * server): each time it is poked it reads the whole blocks now on disk past the last one it
 * took, checks each against the manifest, and stores it, so the block can be served to
 * other nodes before the upload ends. One block buffer at a time keeps memory flat. The
 * whole-file SHA-256 the publisher computed is checked once the last byte has arrived.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { CanopyError, isCanopyError } from '../core/errors.js';
import { blockPool, type Lease } from '../core/block-pool.js';
import type { Manifest } from '../core/manifest.js';
import type { BlockStore } from '../store/block-store.js';

export interface FollowerEvents {
  /** A block was verified and stored (or was already held). */
  onBlock?: (index: number, length: number) => void;
}

export class UploadFollower {
  /** Index of the next block to take; blocks before it are verified and stored. */
  next = 0;
  private readonly whole: Hash = createHash('sha256');
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly contentId: string,
    readonly manifest: Manifest,
    private readonly file: string,
    private readonly store: BlockStore,
    private readonly sha256: string,
    private readonly events: FollowerEvents = {},
  ) {}

  get verifiedBytes(): number {
    const b = this.manifest.blocks[this.next - 1];
    return b ? b.offset + b.length : 0;
  }

  get done(): boolean {
    return this.next === this.manifest.blocks.length;
  }

  /**
   * Takes the blocks now complete on disk. `available` is the number of bytes the upload
   * server has acknowledged; without it the file's size is used. A block that does not
   * match yet is left for the next poke, since the writer may still be filling it.
   */
  poke(available?: number): Promise<void> {
    return this.serial(() => this.take(available, false));
  }

  /** Takes every remaining block and checks the whole file; throws if anything is wrong. */
  finish(): Promise<void> {
    return this.serial(async () => {
      await this.take(this.manifest.size, true);
      if (!this.done) throw new CanopyError('ERR_BLOCK_HASH_MISMATCH', `upload of ${this.contentId.slice(0, 12)} ended after block ${this.next} of ${this.manifest.blocks.length}`);
      const got = this.whole.copy().digest('hex');
      if (got !== this.sha256) throw new CanopyError('ERR_BLOCK_HASH_MISMATCH', `uploaded file hashes to ${got.slice(0, 12)}, the publisher computed ${this.sha256.slice(0, 12)}`);
    });
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async take(available: number | undefined, final: boolean): Promise<void> {
    if (this.done) return;
    const onDisk = (await stat(this.file)).size;
    const limit = Math.min(available ?? onDisk, onDisk);
    const fh = await open(this.file, 'r');
    // One buffer for all the blocks of this step, from the block pool and back to it (core/block-pool.ts).
    let lease: Lease | undefined;
    try {
      let buf: Buffer | undefined;
      while (!this.done) {
        const ref = this.manifest.blocks[this.next]!;
        if (ref.offset + ref.length > limit) return;
        if (!buf || buf.length < ref.length) {
          lease?.release();
          lease = blockPool.take(Math.max(ref.length, this.manifest.blockSize));
          buf = lease.bytes;
        }
        const { bytesRead } = await fh.read(buf, 0, ref.length, ref.offset);
        const block = buf.subarray(0, bytesRead);
        try {
          await this.store.put(block, ref.hash);
        } catch (err) {
          if (!final && isCanopyError(err, 'ERR_BLOCK_HASH_MISMATCH')) return;
          throw err;
        }
        this.whole.update(block);
        this.next++;
        this.events.onBlock?.(this.next - 1, ref.length);
      }
    } finally {
      lease?.release();
      await fh.close();
    }
  }
}
