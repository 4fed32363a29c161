/**
 * Packs: the small blocks an ingest or an upload commits in one batch are written into one
 * file, `packs/<id>`, one after another, instead of one file each. A block file costs a
 * create, a write, a data sync, a close and a rename, and every data sync of a new file
 * holds a thread-pool thread for a journal commit (3-8 ms on this project's VM): a tree of
 * 2,000 small files paid 1,960 of them (notes/issue-20.md, Sessions 10-12). A pack costs
 * one of each per batch.
 *
 * The protocol is a block file's: the pack is written under tmp/, synced, renamed into
 * packs/ (its directory synced with the batch's shard directories) and only then are its
 * blocks' index rows written, each naming the pack and the block's offset in it. So a pack
 * is visible only whole and synced, and a block in it only once indexed; a pack no index
 * row names (a crash between rename and index) is deleted by the start-up scrub. A pack is
 * deleted when the last of its blocks is (index-db.ts `takeEmptiedPacks`); until then the
 * space of its removed blocks stays taken.
 */
import { randomBytes } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { byteLength, type BlockBytes } from '../core/block-bytes.js';

/** Where a packed block lies: its pack's id (the file name under packs/) and its offset in it. */
export interface PackLocation {
  id: string;
  offset: number;
}

/** Bytes of one arena slab: 32 blocks of the largest packed size (SMALL_BLOCK_BYTES, 128 KiB). */
const SLAB_BYTES = 4 * 2 ** 20;
/** Free slabs kept for reuse per volume; more are left to the garbage collector (memory stays flat). */
const SPARE_SLABS = 2;
/** Each block starts on a multiple of this: a copy out of a shared buffer is then word-wise (core/shared-copy.ts). */
const ALIGN = 64;

interface Slab {
  buf: Buffer;
  used: number;
  live: number;
}

/**
 * Where a volume keeps the small blocks of deferred writes until their batch's pack is
 * written: each is copied (the writer takes its buffer back as soon as the block is staged)
 * into a reused 4 MiB slab, not into a fresh buffer of its own. A fresh buffer per block
 * cost an allocation, a first touch of its pages (~21 µs a page on this project's VM) and
 * the garbage collector's work: ~10 % of a 2,000-file publish's main thread
 * (notes/issue-20.md, Session 13). A slab is reused once every block in it has been
 * released (its pack written, or its commit failed); a block never released only keeps
 * its slab from being reused.
 */
export class PackArena {
  private current: Slab | undefined;
  private readonly spare: Buffer[] = [];

  /** A copy of `data` (at most SLAB_BYTES), and how to give its space back; `release` may be called more than once. */
  copy(data: BlockBytes): { bytes: Buffer; release: () => void } {
    const length = byteLength(data);
    if (length > SLAB_BYTES) return { bytes: Buffer.concat(Buffer.isBuffer(data) ? [data] : (data as readonly Buffer[])), release: () => undefined };
    // Nothing live in the current slab: start it over, so the same warm pages serve batch after batch.
    if (this.current?.live === 0) this.current.used = 0;
    if (!this.current || this.current.used + length > SLAB_BYTES) {
      const old = this.current;
      this.current = { buf: this.spare.pop() ?? Buffer.allocUnsafeSlow(SLAB_BYTES), used: 0, live: 0 };
      if (old?.live === 0) this.recycle(old);
    }
    const slab = this.current;
    const at = slab.used;
    let to = at;
    for (const piece of Buffer.isBuffer(data) ? [data] : (data as readonly Buffer[])) to += piece.copy(slab.buf, to);
    slab.used = Math.ceil((at + length) / ALIGN) * ALIGN;
    slab.live++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (--slab.live === 0 && slab !== this.current) this.recycle(slab);
    };
    return { bytes: slab.buf.subarray(at, at + length), release };
  }

  private recycle(slab: Slab): void {
    if (this.spare.length < SPARE_SLABS) this.spare.push(slab.buf);
  }
}

/** A pack written and synced under tmp/, to be renamed to `finalPath` by the commit. */
export interface WrittenPack {
  id: string;
  tmpPath: string;
  finalPath: string;
  /** Each block's offset, in the order given. */
  offsets: number[];
}

/** Writes `parts` into a new pack under `volumeDir`/tmp and syncs it; on failure nothing is left behind. */
export async function writePack(volumeDir: string, parts: readonly Buffer[]): Promise<WrittenPack> {
  const id = randomBytes(12).toString('hex');
  const tmpPath = path.join(volumeDir, 'tmp', `${id}.pack`);
  const offsets: number[] = [];
  let at = 0;
  for (const p of parts) {
    offsets.push(at);
    at += p.length;
  }
  const fh = await open(tmpPath, 'wx');
  try {
    await writeAll(fh, parts);
    await fh.datasync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmpPath).catch(() => undefined);
    throw err;
  }
  await fh.close();
  return { id, tmpPath, finalPath: path.join(volumeDir, 'packs', id), offsets };
}

/** Writes the pieces of a block (or a pack) in order, in as few writev calls as the kernel allows. */
export async function writeAll(fh: FileHandle, parts: readonly Buffer[]): Promise<void> {
  let rest = parts.filter((p) => p.length > 0);
  while (rest.length > 0) {
    // writev takes at most IOV_MAX (1024) buffers per call on Linux.
    const batch = rest.slice(0, 1024);
    let { bytesWritten } = await fh.writev(batch);
    if (bytesWritten === 0) throw Object.assign(new Error('short write of a block'), { code: 'EIO' });
    rest = rest.slice(batch.length);
    // A short write: put back what did not go, from the first piece not written whole.
    const left: Buffer[] = [];
    for (const b of batch) {
      if (bytesWritten >= b.length) bytesWritten -= b.length;
      else {
        left.push(b.subarray(bytesWritten));
        bytesWritten = 0;
      }
    }
    rest = [...left, ...rest];
  }
}
