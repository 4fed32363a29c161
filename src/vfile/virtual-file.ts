/**
 * The whole-file view of a content: any byte range, read block by block from the store,
 * each block verified on read. Several blocks are read ahead while the current one is
 * being consumed: consecutive blocks sit on different volumes (see store/placement.ts), so
 * a sequential read keeps every disk busy, and memory stays at readAhead + 1 blocks.
 */
import { CanopyError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import type { BlockStore } from '../store/block-store.js';

/** Blocks requested ahead of the reader: enough to keep a few volumes busy at once. */
export const DEFAULT_READ_AHEAD = 3;

export class VirtualFile {
  constructor(
    private readonly manifest: Manifest,
    private readonly store: BlockStore,
    private readonly readAhead = DEFAULT_READ_AHEAD,
  ) {}

  get size(): number {
    return this.manifest.size;
  }

  /** Indexes of the blocks that cover [start, end] (end inclusive). */
  blocksFor(start: number, end: number): number[] {
    const { blocks, blockSize } = this.manifest;
    if (blocks.length === 0 || end < start) return [];
    const first = Math.floor(start / blockSize);
    const last = Math.min(Math.floor(end / blockSize), blocks.length - 1);
    return Array.from({ length: last - first + 1 }, (_, i) => first + i);
  }

  /** Whether every block of the range is held locally. */
  isLocal(start: number, end: number): boolean {
    return this.blocksFor(start, end).every((i) => this.store.has(this.manifest.blocks[i]!.hash));
  }

  async *read(start: number, end: number): AsyncGenerator<Buffer> {
    const indexes = this.blocksFor(start, end);
    const load = (i: number) => {
      const p = this.store.get(this.manifest.blocks[i]!.hash).catch((err: unknown) => {
        throw new CanopyError('ERR_NOT_HELD', `block ${i} of ${this.manifest.name} is not available: ${(err as Error).message}`, { cause: err });
      });
      p.catch(() => undefined); // Read-ahead may be abandoned; its failure is reported when awaited.
      return p;
    };
    const ahead: Promise<Buffer>[] = [];
    let queued = 0;
    for (let k = 0; k < indexes.length; k++) {
      while (queued < indexes.length && queued <= k + this.readAhead) ahead.push(load(indexes[queued++]!));
      const data = await ahead.shift()!;
      const block = this.manifest.blocks[indexes[k]!]!;
      const from = Math.max(start, block.offset) - block.offset;
      const to = Math.min(end + 1, block.offset + block.length) - block.offset;
      yield data.subarray(from, to);
    }
  }
}
