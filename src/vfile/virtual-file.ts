/**
 * The whole-file view of a content: any byte range, read block by block from the store,
 * each block verified on read, holes read as zeros. Blocks vary in size (a track's last
 * block is shorter, holes hold none), so a range is found by binary search over the blocks
 * sorted by offset. One block is read ahead while the previous one is being consumed, so
 * disk and network overlap while memory stays at two blocks.
 */
import { CanopyError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import type { BlockStore } from '../store/block-store.js';

const ZEROS = Buffer.alloc(1 << 20);

/** Block indexes of a manifest sorted by file offset (manifests list them in track order). */
export function blocksByOffset(manifest: Manifest): number[] {
  return manifest.blocks.map((_, i) => i).sort((a, b) => manifest.blocks[a]!.offset - manifest.blocks[b]!.offset);
}

export class VirtualFile {
  private readonly sorted: number[];

  constructor(
    private readonly manifest: Manifest,
    private readonly store: BlockStore,
  ) {
    this.sorted = blocksByOffset(manifest);
  }

  get size(): number {
    return this.manifest.size;
  }

  /** Indexes (into manifest.blocks) of the blocks that cover [start, end] (end inclusive), in offset order. */
  blocksFor(start: number, end: number): number[] {
    const { blocks } = this.manifest;
    if (end < start) return [];
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const b = blocks[this.sorted[mid]!]!;
      if (b.offset + b.length <= start) lo = mid + 1;
      else hi = mid;
    }
    const out: number[] = [];
    for (let k = lo; k < this.sorted.length && blocks[this.sorted[k]!]!.offset <= end; k++) out.push(this.sorted[k]!);
    return out;
  }

  /** Whether every block of the range is held locally (holes always are). */
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
    let at = start;
    let next = indexes.length > 0 ? load(indexes[0]!) : undefined;
    for (let k = 0; k < indexes.length; k++) {
      const block = this.manifest.blocks[indexes[k]!]!;
      if (block.offset > at) yield* zeros(block.offset - at);
      const data = await next!;
      next = k + 1 < indexes.length ? load(indexes[k + 1]!) : undefined;
      const from = Math.max(start, block.offset) - block.offset;
      const to = Math.min(end + 1, block.offset + block.length) - block.offset;
      yield data.subarray(from, to);
      at = block.offset + to;
    }
    if (at <= end) yield* zeros(end + 1 - at);
  }
}

/** A hole's bytes: slices of one shared zero buffer (never written to). */
function* zeros(n: number): Generator<Buffer> {
  for (let left = n; left > 0; left -= ZEROS.length) yield ZEROS.subarray(0, Math.min(left, ZEROS.length));
}
