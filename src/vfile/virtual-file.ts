/**
 * The whole-file view of a content: any byte range, read block by block from the store,
 * each block verified on read. One block is read ahead while the previous one is being
 * consumed, so disk and network overlap while memory stays at two blocks.
 */
import { CanopyError } from '../core/errors.js';
import type { BlockRef, Manifest } from '../core/manifest.js';
import type { BlockStore } from '../store/block-store.js';

export class VirtualFile {
  constructor(
    private readonly manifest: Manifest,
    private readonly store: BlockStore,
  ) {}

  get size(): number {
    return this.manifest.size;
  }

  /**
   * Indexes of the blocks that cover [start, end] (end inclusive). Blocks may differ in size
   * (content-defined chunking, tracks), so the first is found by binary search on offsets.
   */
  blocksFor(start: number, end: number): number[] {
    const { blocks } = this.manifest;
    if (blocks.length === 0 || end < start) return [];
    const first = blockAt(blocks, start);
    const out: number[] = [];
    for (let i = first; i < blocks.length && blocks[i]!.offset <= end; i++) out.push(i);
    return out;
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
    let next = indexes.length > 0 ? load(indexes[0]!) : undefined;
    for (let k = 0; k < indexes.length; k++) {
      const data = await next!;
      next = k + 1 < indexes.length ? load(indexes[k + 1]!) : undefined;
      const block = this.manifest.blocks[indexes[k]!]!;
      const from = Math.max(start, block.offset) - block.offset;
      const to = Math.min(end + 1, block.offset + block.length) - block.offset;
      yield data.subarray(from, to);
    }
  }
}

/** Index of the block holding byte `pos` (the last block if `pos` is past the end). */
export function blockAt(blocks: readonly BlockRef[], pos: number): number {
  let lo = 0;
  let hi = blocks.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (blocks[mid]!.offset <= pos) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
