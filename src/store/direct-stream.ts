/**
 * A block file written piece by piece as the block arrives (block-intake.ts), with O_DIRECT
 * as direct-write.ts writes a whole block: pieces of whole pages in page-aligned memory (the
 * frame copier's block-pool segments, 256 KiB) go to the device from where they are, each at
 * its offset; anything else (a piece not of whole pages, or in unaligned memory) goes through
 * an aligned staging buffer from then on, so the file offset of every write stays aligned.
 * `end()` writes what is staged (padded to a page) and truncates the file to its length.
 * A file system that refuses O_DIRECT gets a buffered file (`open` decides, once per call).
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { alignedBuffers, isPageAligned, PAGE_ALIGN } from '../core/aligned-memory.js';
import { isDirectUnsupported, writePadded, writevAt } from './direct-write.js';

const STAGING_BYTES = 1024 * 1024;

export class DirectStream {
  /** Bytes written to the file (staged ones not counted until they are). */
  private length = 0;
  /** The staging buffer and how much of it is filled, once a piece needed it. */
  private staging: Buffer | undefined;
  private filled = 0;

  private constructor(
    readonly fh: FileHandle,
    /** Whether the file was opened with O_DIRECT (the file system allows it). */
    readonly direct: boolean,
  ) {}

  /** Creates `file` exclusively, with O_DIRECT if `direct` and the file system allows it. */
  static async open(file: string, direct = true): Promise<DirectStream> {
    if (!direct) return new DirectStream(await open(file, 'wx', 0o644), false);
    try {
      return new DirectStream(await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DIRECT, 0o644), true);
    } catch (err) {
      if (!isDirectUnsupported(err)) throw err;
      return new DirectStream(await open(file, 'wx', 0o644), false);
    }
  }

  /**
   * Appends `pieces` (in one writev where it can: each write is a device request, and on a
   * VM a request is an exit to the host); resolves once the file (or the staging buffer) has
   * them, and they may be reused.
   */
  async write(pieces: readonly Buffer[]): Promise<void> {
    const inPlace = !this.direct || (this.staging === undefined && pieces.every((p) => isPageAligned(p) && p.length % PAGE_ALIGN === 0));
    if (inPlace) return this.writeAll(pieces);
    for (const piece of pieces) await this.stage(piece);
  }

  private async stage(piece: Buffer): Promise<void> {
    this.staging ??= alignedBuffers(STAGING_BYTES, 1, false)[0]!;
    for (let at = 0; at < piece.length; ) {
      const n = Math.min(STAGING_BYTES - this.filled, piece.length - at);
      this.staging.set(piece.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
      if (this.filled === STAGING_BYTES) await this.flushStaging();
    }
  }

  /** Writes what is staged and sets the file's length; the caller syncs and closes `fh`. */
  async end(): Promise<void> {
    if (this.filled > 0) await this.flushStaging();
    // The last staged write was padded to a page.
    if ((await this.fh.stat()).size !== this.length) await this.fh.truncate(this.length);
  }

  /** Bytes in the file so far (readable back from it); staged ones are not yet. */
  get written(): number {
    return this.length;
  }

  private async flushStaging(): Promise<void> {
    // Staged bytes start where the last whole pages ended: an aligned offset; the write is
    // padded to a page, which end() truncates.
    await writePadded(this.fh, this.staging!, this.filled, this.length);
    this.length += this.filled;
    this.filled = 0;
  }

  /** The pieces at the file's end. */
  private async writeAll(pieces: readonly Buffer[]): Promise<void> {
    this.length += await writevAt(this.fh, pieces, this.length);
  }
}
