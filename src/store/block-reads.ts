/**
 * Reading block files: whole (into one buffer, for a reader that needs the block at once or
 * must hash it first), or in pieces as a socket takes them. A block sent whole held its
 * 4 MiB buffer from the read until the last byte left the socket: with 4-8 uploads at once,
 * 16-32 MiB of a node's peak RSS (issue 23). In pieces, one chunk is read at a time (a
 * piece, as Volume asks) and given back when the socket is done with it, so an upload
 * holds a piece or two, whatever the block size. Both take their file handles from
 * the read-handle cache (read-handles.ts).
 */
import type { OwnedPiece } from '../core/block-bytes.js';
import { unpooled, type Lease } from '../core/block-pool.js';
import type { FileHandle } from 'node:fs/promises';
import type { ReadHandles } from './read-handles.js';

/** How much of a block is read at once when it is sent in pieces, unless the caller says (Volume reads a piece at a time). */
export const READ_CHUNK_BYTES = 2 ** 20;

/** A piece of a block read from disk; its bytes may be reused once `flushed` is called (exactly once). */
export type ReadPiece = OwnedPiece;

/** The file held fewer bytes than the index says: the caller treats the block as corrupt. */
export class ShortBlockFile extends Error {
  constructor(readonly filled: number) {
    super(`block file ends after ${filled} bytes`);
  }
}

/** Reads until every buffer of `into` is full or the file ends, one readv each time; returns the bytes read. */
export async function readvFully(handle: Pick<FileHandle, 'readv'>, into: readonly Buffer[], position: number): Promise<number> {
  let left = into.filter((b) => b.length > 0);
  let filled = 0;
  while (left.length > 0) {
    const { bytesRead } = await handle.readv(left, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
    let skip = bytesRead;
    while (left.length > 0 && skip >= left[0]!.length) skip -= left.shift()!.length;
    if (skip > 0) left = [left[0]!.subarray(skip), ...left.slice(1)];
  }
  return filled;
}

/**
 * A whole block with as few system calls as possible (readFile would go in 512 KiB steps,
 * each a round trip through the thread pool), into a buffer from `take` (released here if
 * the read fails). A file shorter than `length` comes back short (it then fails verification).
 * `base`: where the block starts in the file (a pack of small blocks, pack-write.ts).
 */
export async function readWhole(handles: ReadHandles, file: string, length: number | undefined, take: (length: number) => Lease, base = 0): Promise<Lease> {
  const held = await handles.acquire(file);
  try {
    // The index knows the length: no fstat round trip through the thread pool per block.
    const size = length ?? (await held.fh.stat()).size;
    const lease = take(size);
    let filled;
    try {
      filled = await readvFully(held.fh, [lease.bytes], base);
    } catch (err) {
      lease.release();
      throw err;
    }
    if (filled === size) return lease;
    // Rare (it fails verification): its bytes, copied out of the pooled buffer.
    const copy = Buffer.from(lease.bytes.subarray(0, filled));
    lease.release();
    return unpooled(copy);
  } finally {
    held.done();
  }
}

/**
 * The block in pieces of `pieceBytes`, read a chunk at a time. Each piece yielded belongs to
 * the consumer, who calls its `flushed` once nothing refers to its bytes; a file that ends
 * early throws ShortBlockFile (after the pieces of the chunks before). `base` as in readWhole.
 */
export async function* readPieces(handles: ReadHandles, file: string, length: number, pieceBytes: number, take: (length: number) => Lease, chunkBytes = READ_CHUNK_BYTES, base = 0): AsyncGenerator<ReadPiece> {
  const held = await handles.acquire(file);
  try {
    const read = (into: Buffer[], at: number): Promise<number> => readvFully(held.fh, into, base + at);
    yield* chunkedPieces(read, 0, length, { pieceBytes, chunkBytes, take, short: (filled) => new ShortBlockFile(filled) });
  } finally {
    held.done();
  }
}

/** How chunkedPieces reads: piece and chunk sizes, where chunk buffers come from, the error for a short file. */
export interface ChunkPlan {
  pieceBytes: number;
  chunkBytes: number;
  take: (length: number) => Lease;
  /** The error when the file holds only `filled` bytes of the range. */
  short: (filled: number) => Error;
}

/**
 * Bytes [from, to) through `read` (fills buffers in order from a file offset, returns the
 * bytes read: fewer only at the file's end), one read per chunk (a device request each, an
 * exit to the host on a VM) into a pooled buffer per piece: each piece goes back to the pool
 * when it is flushed, and pieces share their size class with the ones a node receives (a
 * chunk-sized buffer shared by its pieces kept a second class of pool slabs resident and
 * waited for the last of its pieces).
 */
export async function* chunkedPieces(read: (into: Buffer[], at: number) => Promise<number>, from: number, to: number, plan: ChunkPlan): AsyncGenerator<ReadPiece> {
  const unread: Lease[] = [];
  try {
    for (let at = from; at < to; at += plan.chunkBytes) {
      const n = Math.min(plan.chunkBytes, to - at);
      for (let p = 0; p < n; p += plan.pieceBytes) unread.push(plan.take(Math.min(plan.pieceBytes, n - p)));
      const filled = await read(unread.map((l) => l.bytes), at);
      if (filled < n) throw plan.short(at + filled);
      // A piece handed out is the consumer's; those not yet are released below if it stops.
      while (unread.length > 0) {
        const lease = unread.shift()!;
        yield { bytes: lease.bytes, flushed: once(() => lease.release()) };
      }
    }
  } finally {
    for (const l of unread) l.release();
  }
}

/** `fn`, callable many times, run the first only (a piece's `flushed`). */
function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    fn();
  };
}
