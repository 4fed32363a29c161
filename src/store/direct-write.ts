/**
 * Block files written with O_DIRECT: the bytes go from a staging buffer straight to the
 * device instead of being copied into fresh page-cache pages first. On this project's
 * machines (ext4 on a virtio disk) that copy was the largest single cost of an ingest
 * (copy_folio_from_iter_atomic, ~30 % of the ingest's CPU in `perf`; `dd` of 1 GiB: 1.75 s
 * of system time buffered, 0.21 s with O_DIRECT). A block just written is rarely read at
 * once (an edge reads it later, a peer asks for it later), so skipping the cache costs
 * little.
 *
 * O_DIRECT needs the memory address, the file offset and the length aligned to the
 * device's logical block size. JavaScript cannot align a Buffer, but a WebAssembly
 * memory starts on a page boundary, so the staging buffers are 4 KiB-aligned views of
 * one. The block is copied through them in CHUNK steps (a user-space copy into warm
 * memory costs a fraction of the page-cache copy); the last chunk is padded to ALIGN and
 * the file truncated to the block's length.
 *
 * A block that already lies in page-aligned memory (the ingest's read buffers, block-pool
 * buffers: core/aligned-memory.ts) is written from where it is, its pieces in one writev;
 * only its last partial page goes through a staging buffer.
 *
 * A file system that refuses O_DIRECT (EINVAL on open or write: tmpfs on older kernels,
 * some network file systems) gets buffered writes, decided once per volume.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { alignedBuffers, isPageAligned, PAGE_ALIGN } from '../core/aligned-memory.js';
import type { BlockBytes } from '../core/block-bytes.js';

const ALIGN = PAGE_ALIGN;
const CHUNK = 1024 * 1024;
const STAGING_BUFFERS = 8;

/** A fixed set of page-aligned CHUNK-sized buffers, lent one at a time. */
class StagingPool {
  private readonly free: Buffer[] = [];
  private readonly waiting: ((b: Buffer) => void)[] = [];

  constructor(count: number) {
    this.free.push(...alignedBuffers(CHUNK, count, false));
  }

  async take(): Promise<Buffer> {
    return this.free.pop() ?? new Promise<Buffer>((resolve) => this.waiting.push(resolve));
  }

  give(b: Buffer): void {
    const next = this.waiting.shift();
    if (next) next(b);
    else this.free.push(b);
  }
}

let pool: StagingPool | undefined;

/** Whether an error means "this file system does not do O_DIRECT (this way)". */
export function isDirectUnsupported(err: unknown): boolean {
  return (err as { code?: string }).code === 'EINVAL';
}

/**
 * Creates `file` (exclusively) and writes `data` (one buffer, or the pieces a block
 * arrived in) to it with O_DIRECT. Returns the open handle (the caller syncs and closes
 * it), or throws; EINVAL means unsupported here.
 */
export async function writeDirect(file: string, data: BlockBytes): Promise<FileHandle> {
  const fh = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DIRECT, 0o644);
  try {
    const [direct, rest] = inPlace(Buffer.isBuffer(data) ? [data] : (data as readonly Buffer[]));
    let length = await writevAt(fh, direct, 0, file);
    length = await writeStaged(fh, rest, length, file);
    if (length % ALIGN !== 0) await fh.truncate(length);
    return fh;
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

/**
 * Splits the pieces into the leading whole pages that lie in page-aligned memory (written
 * from where they are) and the rest (staged): the ingest's read buffers and block-pool
 * buffers are aligned, and pieces of whole pages keep the file offset aligned for the next.
 */
export function inPlace(pieces: readonly Buffer[]): [Buffer[], Buffer[]] {
  const direct: Buffer[] = [];
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    if (!isPageAligned(piece)) return [direct, pieces.slice(i)];
    const whole = piece.length - (piece.length % ALIGN);
    if (whole > 0) direct.push(whole === piece.length ? piece : piece.subarray(0, whole));
    if (whole < piece.length) return [direct, [piece.subarray(whole), ...pieces.slice(i + 1)]];
  }
  return [direct, []];
}

/**
 * Writes `pieces` at `position`, one writev (again for the rest after a short write, which
 * with O_DIRECT ends on a block boundary); returns how many bytes it wrote, all of them.
 */
export async function writevAt(fh: FileHandle, pieces: readonly Buffer[], position: number, file = 'a block file'): Promise<number> {
  let left = pieces.filter((p) => p.length > 0);
  let done = 0;
  while (left.length > 0) {
    const { bytesWritten } = await fh.writev(left, position + done);
    if (bytesWritten === 0) throw shortWrite(file);
    done += bytesWritten;
    let skip = bytesWritten;
    while (left.length > 0 && skip >= left[0]!.length) skip -= left.shift()!.length;
    if (skip > 0) left = [left[0]!.subarray(skip), ...left.slice(1)];
  }
  return done;
}

function shortWrite(file: string): Error {
  return Object.assign(new Error(`short write to ${file}`), { code: 'EIO' });
}

/** Copies the pieces in order through a staging buffer, writing each time it is full; returns the file's length. */
async function writeStaged(fh: FileHandle, pieces: readonly Buffer[], start: number, file: string): Promise<number> {
  if (pieces.every((p) => p.length === 0)) return start;
  pool ??= new StagingPool(STAGING_BUFFERS);
  const staging = await pool.take();
  let length = start;
  try {
    let filled = 0;
    for (const piece of pieces) {
      for (let at = 0; at < piece.length; ) {
        const n = Math.min(CHUNK - filled, piece.length - at);
        staging.set(piece.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === CHUNK) {
          await writePadded(fh, staging, CHUNK, length, file);
          length += CHUNK;
          filled = 0;
        }
      }
    }
    if (filled > 0) {
      await writePadded(fh, staging, filled, length, file);
      length += filled;
    }
    return length;
  } finally {
    pool.give(staging);
  }
}

/** Writes the first `n` bytes of `from` (aligned memory) at `position`, padded with zeros to ALIGN. */
export async function writePadded(fh: FileHandle, from: Buffer, n: number, position: number, file = 'a block file'): Promise<void> {
  const padded = Math.ceil(n / ALIGN) * ALIGN;
  if (padded > n) from.fill(0, n, padded);
  let done = 0;
  while (done < padded) {
    const { bytesWritten } = await fh.write(from, done, padded - done, position + done);
    if (bytesWritten === 0) throw shortWrite(file);
    done += bytesWritten;
  }
}
