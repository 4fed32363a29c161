/**
 * The whole-file view of a content: any byte range, read block by block. Blocks held here
 * come from the store (verified on read); missing ones are fetched on demand through a
 * `BlockSource` (verified before they are stored), with a deadline. Bytes between blocks
 * (holes) read as zeros. The next blocks (LOCAL_READ_AHEAD of them) are loaded while the
 * current one is consumed: consecutive blocks sit on different volumes (store/placement.ts),
 * so a sequential read keeps several disks busy at once. A window of further blocks is
 * fetched to disk ahead of a sequential reader, so memory stays at a few blocks per reader
 * while the network runs ahead.
 */
import { CanopyError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import type { BlockStore } from '../store/block-store.js';
import { DEFAULT_FETCH_DEADLINE_MS, type BlockSource } from './block-fetcher.js';
import type { BlockCache } from './block-cache.js';
import type { ReadAheadBudget } from './read-ahead-budget.js';
import type { SequentialReads } from './sequential-reads.js';
import { zeros } from './zeros.js';
import { unpooled, type Lease } from '../core/block-pool.js';

/** Bytes to send and how to give them back once sent (core/block-pool.ts). */
export interface Slice {
  readonly bytes: Buffer;
  /** Whether the bytes are a pooled block's: they must be copied to be kept past `release`. */
  readonly pooled: boolean;
  release(): void;
}

/** A slice of bytes nobody needs back (zeros, multipart heads). */
export function plain(bytes: Buffer): Slice {
  return { bytes, pooled: false, release: () => undefined };
}

/** One release per slice: a second is a no-op, so a caller that releases on error and on callback stays correct. */
function sliceOf(lease: Lease, from: number, to: number): Slice {
  let done = false;
  return {
    bytes: lease.bytes.subarray(from, to),
    pooled: lease.pooled,
    release: () => {
      if (done) return;
      done = true;
      lease.release();
    },
  };
}

export interface VirtualFileOptions {
  contentId: string;
  /** Where missing blocks come from; without it, a read of a missing block fails with ERR_NOT_HELD. */
  source?: BlockSource;
  /** How many blocks past the one being read are fetched to disk ahead of the reader. */
  readAhead?: number;
  deadlineMs?: number;
  /** Verified blocks shared between readers. */
  cache?: BlockCache;
  /** Where earlier reads ended: a read that continues one reads ahead past its own range. */
  sequential?: SequentialReads;
  /** How many blocks after the one being sent are read into memory at once (from different volumes). */
  localReadAhead?: number;
  /** Shared by a node's readers: blocks past the next one are loaded only while it has room (read-ahead-budget.ts). */
  aheadBudget?: ReadAheadBudget;
}

export const LOCAL_READ_AHEAD = 2;

export const DEFAULT_READ_AHEAD = 4;

/** Block indexes of a manifest sorted by file offset (manifests list them in track order). */
export function blocksByOffset(manifest: Manifest): number[] {
  return manifest.blocks.map((_, i) => i).sort((a, b) => manifest.blocks[a]!.offset - manifest.blocks[b]!.offset);
}

export class VirtualFile {
  /** Block indexes in offset order, and each index's position in it: blocks vary in size and holes hold none. */
  private readonly sorted: number[];
  private readonly rank: number[];

  constructor(
    private readonly manifest: Manifest,
    private readonly store: BlockStore,
    private readonly options?: VirtualFileOptions,
  ) {
    this.sorted = blocksByOffset(manifest);
    this.rank = new Array<number>(this.sorted.length);
    this.sorted.forEach((index, position) => (this.rank[index] = position));
  }

  get size(): number {
    return this.manifest.size;
  }

  /** Indexes (into manifest.blocks) of the blocks that cover [start, end] (end inclusive), in offset order, by binary search. */
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

  /** Whether every block of the range is held locally. */
  isLocal(start: number, end: number): boolean {
    return this.blocksFor(start, end).every((i) => this.store.has(this.manifest.blocks[i]!.hash));
  }

  /** Whether a read of the range can be served: every block is local or can be fetched. */
  canServe(start: number, end: number): boolean {
    return this.options?.source !== undefined || this.isLocal(start, end);
  }

  /**
   * The bytes [start, end] (end inclusive), verified, in order, one block slice at a time,
   * each a copy the caller may keep. A server writing them to a socket uses `slices`.
   */
  async *read(start: number, end: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
    for await (const s of this.slices(start, end, signal)) {
      const copy = s.pooled ? Buffer.from(s.bytes) : s.bytes;
      s.release();
      yield copy;
    }
  }

  /**
   * `read` without copies: each slice is a view of a block buffer from the block pool
   * (core/block-pool.ts) that the caller must `release` once nothing refers to it any more
   * (a socket write's callback: stream-body.ts `sendSlices`). Blocks loaded ahead are
   * released here if the caller stops early.
   */
  async *slices(start: number, end: number, signal?: AbortSignal): AsyncGenerator<Slice> {
    const indexes = this.blocksFor(start, end);
    const contentId = this.options?.contentId ?? '';
    const continues = this.options?.sequential?.continues(contentId, start) ?? false;
    const local = this.options?.localReadAhead ?? LOCAL_READ_AHEAD;
    const loading: Promise<Lease>[] = [];
    // Bytes each entry of `loading` took from the node's read-ahead budget (0: the next block, free).
    const charged: number[] = [];
    const budget = this.options?.aheadBudget;
    let queued = 0;
    let pos = start;
    let held: Lease | undefined;
    const considered = new Set<number>();
    try {
      for (let k = 0; k < indexes.length; k++) {
        this.readAhead(indexes, k + 1 + local, continues, considered, signal);
        while (queued < indexes.length && queued <= k + local) {
          const bytes = queued > k + 1 && budget ? this.manifest.blocks[indexes[queued]!]!.length : 0;
          if (bytes > 0 && !budget!.tryTake(bytes)) break;
          charged.push(bytes);
          loading.push(this.load(indexes[queued++]!, signal));
        }
        budget?.give(charged.shift()!);
        held = await loading.shift()!;
        const block = this.manifest.blocks[indexes[k]!]!;
        if (block.offset > pos) for (const z of zeros(Math.min(block.offset, end + 1) - pos)) yield plain(z);
        const from = Math.max(start, block.offset) - block.offset;
        const to = Math.min(end + 1, block.offset + block.length) - block.offset;
        const lease = held;
        held = undefined;
        // From here the slice owns the lease's reference (the caller releases it).
        if (to > from) yield sliceOf(lease, from, to);
        else lease.release();
        pos = Math.max(pos, block.offset + to);
      }
      if (pos <= end) for (const z of zeros(end + 1 - pos)) yield plain(z);
      this.options?.sequential?.ended(contentId, end + 1);
    } finally {
      // Loaded and never handed out (the caller stopped early): back to the pool once they arrive.
      held?.release();
      for (const bytes of charged) budget?.give(bytes);
      for (const p of loading) p.then((l) => l.release(), () => undefined);
    }
  }

  private load(index: number, signal: AbortSignal | undefined): Promise<Lease> {
    const ref = this.manifest.blocks[index]!;
    const fetch = () => this.fetchLease(index, signal);
    // A block can vanish between `has` and `get` (eviction, a corrupt copy dropped on read): fetch it then.
    const local = () => this.store.getLease(ref.hash).catch((err: unknown) => (this.options?.source ? fetch() : Promise.reject(notHeld(this.manifest, index, err))));
    const cache = this.options?.cache;
    const p = this.store.has(ref.hash) ? (cache ? cache.get(ref.hash, ref.length, local) : local()) : fetch();
    p.catch(() => undefined); // Read-ahead may be abandoned; its failure is reported when awaited.
    return p;
  }

  private fetchLease(index: number, signal: AbortSignal | undefined): Promise<Lease> {
    const source = this.options?.source;
    if (!source?.fetchLease) return this.fetch(index, signal).then(unpooled);
    return source.fetchLease(this.options!.contentId, index, { deadline: Date.now() + (this.options!.deadlineMs ?? DEFAULT_FETCH_DEADLINE_MS), signal });
  }

  private fetch(index: number, signal: AbortSignal | undefined): Promise<Buffer> {
    const source = this.options?.source;
    if (!source) return Promise.reject(notHeld(this.manifest, index));
    return source.fetchBlock(this.options!.contentId, index, { deadline: Date.now() + (this.options!.deadlineMs ?? DEFAULT_FETCH_DEADLINE_MS), signal });
  }

  /**
   * Starts fetching (to disk, not into memory) the missing blocks of the window after
   * position k. The window stops at the end of the range unless this read continues an
   * earlier one: then the reader is sequential and the blocks after the range come next.
   * Each block is looked at once per read (`considered`): the window slides by one block, and
   * asking the store's index again for the blocks still in it was 8.6 % of an edge node's
   * CPU serving warm content (a block missed here is fetched when the read reaches it).
   */
  private readAhead(indexes: number[], k: number, pastEnd: boolean, considered: Set<number>, signal: AbortSignal | undefined): void {
    const source = this.options?.source;
    if (!source || signal?.aborted) return;
    const window = this.options!.readAhead ?? DEFAULT_READ_AHEAD;
    const ahead = indexes.slice(k, k + window);
    const last = indexes[indexes.length - 1];
    // Past the range, "next" means next in the file (offset order), not next in the block list.
    for (let p = last === undefined ? 0 : this.rank[last]! + 1; pastEnd && ahead.length < window && p < this.sorted.length; p++) ahead.push(this.sorted[p]!);
    for (const i of ahead) {
      if (considered.has(i)) continue;
      considered.add(i);
      if (this.store.has(this.manifest.blocks[i]!.hash)) continue;
      // To disk only: reading each read-ahead block back into memory, for nobody, made eight
      // stalled readers of one content grow the process by ~100 MiB of garbage buffers.
      const started = source.fetchToDisk ? source.fetchToDisk(this.options!.contentId, i, { deadline: Date.now() + (this.options!.deadlineMs ?? DEFAULT_FETCH_DEADLINE_MS) }) : this.fetch(i, undefined);
      started.catch(() => undefined);
    }
  }
}

function notHeld(manifest: Manifest, index: number, cause?: unknown): CanopyError {
  return new CanopyError('ERR_NOT_HELD', `block ${index} of ${manifest.name} is not held here${cause ? `: ${(cause as Error).message}` : ''}`, { cause });
}
