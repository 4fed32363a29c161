/**
 * Small blocks (a tree's small files: configs, tokenizers, index files) are staged in one
 * trip through libuv's thread pool, not four: the temp file is created there (a create can
 * wait on the file system's journal, so it stays off the event loop: done on the event loop
 * it blocked it 0.76 s in a publish of 2,000 files, notes/issue-20.md Session 10), and the
 * bytes are copied into it buffered, on the event loop (tens of microseconds for 128 KiB).
 * Through the O_DIRECT path a block is an open, two writes (the whole pages, then the last
 * partial page through a staging buffer) and a truncate, each trip queued behind the syncs
 * of earlier batches (a sync holds a pool thread for a journal commit): staging a 50 KiB
 * block took 12-14 ms on average, and an ingest of many small files waited on it block
 * after block. O_DIRECT saves the page-cache copy, which only matters for large blocks.
 *
 * Nothing about durability changes: the temp file is synced (fdatasync, on the thread pool)
 * in the block's commit batch before its rename, as an O_DIRECT one is (volume.ts commit).
 */
import { closeSync, constants, fdatasync, open, unlinkSync, writeSync } from 'node:fs';
import type { BlockBytes } from '../core/block-bytes.js';

/** Blocks up to this size are staged here; larger ones with O_DIRECT (direct-write.ts). */
export const SMALL_BLOCK_BYTES = 128 * 1024;

/** What a commit needs of a staged temp file: sync its data, then close it. A FileHandle is one. */
export interface StagedFile {
  datasync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Creates `file` (exclusively, as direct-write.ts does, on the thread pool) and writes the
 * pieces in order, buffered, on the event loop. Returns the open file for the commit to
 * sync and close; on failure nothing is left behind and the error is the system's (ENOSPC,
 * EROFS...).
 */
export async function writeSmall(file: string, data: BlockBytes): Promise<StagedFile> {
  const fd = await new Promise<number>((resolve, reject) => open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644, (err, fd) => (err ? reject(err) : resolve(fd))));
  try {
    for (const piece of Buffer.isBuffer(data) ? [data] : (data as readonly Buffer[])) {
      for (let at = 0; at < piece.length; ) {
        const n = writeSync(fd, piece, at, piece.length - at);
        if (n === 0) throw Object.assign(new Error(`short write to ${file}`), { code: 'EIO' });
        at += n;
      }
    }
  } catch (err) {
    closeSync(fd);
    try {
      unlinkSync(file);
    } catch {
      // Already gone: nothing to clean.
    }
    throw err;
  }
  return fdFile(fd);
}

/** The sync goes to the thread pool (it waits for the device); the close is microseconds and stays here. */
function fdFile(fd: number): StagedFile {
  let closed = false;
  return {
    datasync: () => new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
    close: async () => {
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
}
