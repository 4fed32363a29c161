/**
 * Small blocks (a tree's small files: configs, tokenizers, index files) are written to
 * their temp file on the event loop, buffered, instead of through libuv's thread pool with
 * O_DIRECT. Staging a block through the pool is an open, two O_DIRECT writes (the whole
 * pages, then the last partial page through a staging buffer) and a truncate: four trips,
 * each queued behind the syncs of earlier batches (a sync holds a pool thread for a journal
 * commit). For a 50 KiB block that made staging take 12-14 ms on average while the write
 * itself is ~50 µs of copying into the page cache, and an ingest of many small files waited
 * on it block after block (notes/issue-20.md, Session 10). O_DIRECT saves the page-cache
 * copy, which only matters for large blocks.
 *
 * Nothing about durability changes: the temp file is synced (fdatasync, on the thread pool)
 * in the block's commit batch before its rename, as an O_DIRECT one is (volume.ts commit).
 */
import { closeSync, constants, fdatasync, openSync, unlinkSync, writeSync } from 'node:fs';
import type { BlockBytes } from '../core/block-bytes.js';

/**
 * Blocks up to this size are staged on the event loop (a few tens of microseconds each:
 * one create, one copy into the page cache). Larger ones go through the pool (direct-write.ts).
 */
export const SMALL_BLOCK_BYTES = 128 * 1024;

/** What a commit needs of a staged temp file: sync its data, then close it. A FileHandle is one. */
export interface StagedFile {
  datasync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Creates `file` (exclusively, as direct-write.ts does) and writes the pieces in order,
 * buffered, synchronously. Returns the open file for the commit to sync and close; on
 * failure nothing is left behind and the error is the system's (ENOSPC, EROFS...).
 */
export function writeSmall(file: string, data: BlockBytes): StagedFile {
  const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
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
