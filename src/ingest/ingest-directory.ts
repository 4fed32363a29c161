/**
 * Ingests a local directory as one content: walk it (directory-walk.ts), lay its files out
 * on block boundaries (directory-layout.ts), cut and hash each file through the same
 * pipeline as a single file (its runs of zeros are holes, as a single file's), and sign a
 * manifest with `files`. Each file is opened for
 * its reads and closed soon after, so a tree of any number of files holds a handful of
 * descriptors; memory is the pipeline's pools. A file that changed size or time while
 * being read fails the publish (ERR_SOURCE_CHANGED): the manifest would not match the tree.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { CanopyError } from '../core/errors.js';
import { mapLimit } from '../core/map-limit.js';
import type { Analysis } from './analysis.js';
import { chooseBlockSize } from './block-size.js';
import type { PositionalReader } from './cut-block.js';
import { layoutTree, type TreeItem, type TreeLayout } from './directory-layout.js';
import { WALK_IN_FLIGHT, walkDirectory, type WalkedFile } from './directory-walk.js';
import { build, cutAndHash, startHasher, type IngestFileOptions, type IngestResult } from './ingest-file.js';
import type { Hasher, LocalBytes } from './hash-workers.js';
import type { BlockSink } from './pipeline.js';

/**
 * Directories use one block size whatever their total, so that a new version (a file added,
 * the total grown) cuts unchanged files into the same blocks as before.
 */
export const DIRECTORY_BLOCK_SIZE = 4 * 2 ** 20;
export const DIRECTORY_MEDIA_TYPE = 'inode/directory';

/**
 * Reads in flight while cutting a tree. Most files of a tree are small: one read each, whose
 * time is mostly waiting for the open in libuv's thread pool behind the store's writes and
 * syncs (6 ms on average at load 20-35, 500 files: notes/issue-20.md, Session 6). Three at
 * once (a single file's read-ahead) left the disks and hash workers waiting.
 */
export const TREE_READ_AHEAD = 6;

/** Reads the content's bytes [position, position + length) from the file whose track holds them. */
export class TreeReader implements PositionalReader {
  private readonly starts: number[];
  private readonly files: { path: string; offset: number; size: number }[];

  /** `readerOf(path)` reads one file of the tree at positions within that file. */
  constructor(
    layout: TreeLayout,
    private readonly readerOf: (path: string) => PositionalReader,
  ) {
    this.files = layout.files.filter((f) => f.type === 'file' && f.size! > 0).map((f) => ({ path: f.path, offset: f.offset!, size: f.size! }));
    this.starts = this.files.map((f) => f.offset);
  }

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    const f = this.files[this.find(position)];
    // Blocks never straddle files (each file is its own track); a read past a file's end is a file that shrank.
    if (!f || position >= f.offset + f.size) return { bytesRead: 0 };
    return this.readerOf(f.path).read(buffer, offset, Math.min(length, f.offset + f.size - position), position - f.offset);
  }

  localFile(position: number): LocalBytes | undefined {
    const f = this.files[this.find(position)];
    return f && position < f.offset + f.size ? this.readerOf(f.path).localFile?.(position - f.offset) : undefined;
  }

  private find(position: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= position) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

/** A tree to publish from anywhere (a local directory, an S3 prefix): its entries, how to read each file, what to warn. */
export interface TreeSource {
  items: readonly TreeItem[];
  warnings: readonly string[];
  readerOf(path: string): PositionalReader;
  /** Called once every byte was read: fails (ERR_SOURCE_CHANGED) if the tree changed meanwhile. */
  checkUnchanged(): Promise<void>;
}

export async function ingestDirectory(dir: string, sink: BlockSink, options: IngestFileOptions): Promise<IngestResult> {
  // Started first, so the hash threads start up while the tree is walked.
  const hasher = startHasher(options);
  try {
    return await ingestWalked(dir, sink, options, hasher);
  } finally {
    await hasher.close();
  }
}

async function ingestWalked(dir: string, sink: BlockSink, options: IngestFileOptions, hasher: Hasher): Promise<IngestResult> {
  const walk = await walkDirectory(dir);
  const files = new OpenFiles();
  const source: TreeSource = { items: walk.items, warnings: walk.warnings, readerOf: (p) => files.reader(walk.disk.get(p)!.abs), checkUnchanged: () => checkUnchanged(walk.disk) };
  try {
    return await ingestTree(source, sink, options, hasher);
  } catch (err) {
    if (err instanceof CanopyError && err.code === 'ERR_FILE_NOT_FOUND') throw changed(`${err.message}`);
    throw err;
  } finally {
    await files.closeAll();
  }
}

/** Lays the tree out, cuts and hashes every file from its own start, and builds the manifest with `files`; `hasher`: hash threads already started. */
export async function ingestTree(source: TreeSource, sink: BlockSink, options: IngestFileOptions, hasher?: Hasher): Promise<IngestResult> {
  const blockSize = options.blockSize !== undefined ? chooseBlockSize({ size: 0, override: options.blockSize }).blockSize : DIRECTORY_BLOCK_SIZE;
  const layout = layoutTree(source.items, blockSize);
  // Each file is scanned for runs of zeros as a single file is (scan-cutter.ts): a sparse shard's holes are not stored or sent.
  const later = flushLater(sink);
  const cut = await cutAndHash(new TreeReader(layout, (p) => source.readerOf(p)), layout.size, blockSize, later.sink, options, layout.bytes, { extents: layout.tracks, readAhead: TREE_READ_AHEAD, hasher }).catch(async (err: unknown) => {
    await later.flushed().catch(() => undefined);
    throw err;
  });
  const built = (async () => {
    await source.checkUnchanged();
    const warnings = options.chunking === 'cdc' ? [...source.warnings, 'a directory is cut file by file in fixed blocks; --chunking cdc does not apply'] : [...source.warnings];
    const analysis: Analysis = { analyser: 'generic', mediaType: DIRECTORY_MEDIA_TYPE, warnings };
    const reason = `directory: ${layout.files.length} entries, each file cut from its own start in blocks of ${blockSize} B${options.blockSize ? ' (--block-size)' : ''}`;
    return build(analysis, cut.plan, cut.holes, cut.blocks, { blockSize, reason }, layout.size, options, undefined, layout.files);
  })();
  // Nothing is returned (or thrown) before every block is durable: a failed flush is the error, as it was before.
  const [flushed, result] = await Promise.allSettled([later.flushed(), built]);
  if (flushed.status === 'rejected') throw flushed.reason;
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

/**
 * The sink as the pipeline sees it, with a flush that only starts the sink's: the tree's
 * last check (a stat of every file) and its manifest (the canonical JSON of every file and
 * block, signed) are made while the store syncs its last batch and the directories of every
 * block (one device flush each), instead of after (that flush took 76-149 ms of a 2,000-file
 * publish at load 9, notes/issue-20.md S14).
 * `flushed` settles with the sink's flush; the caller waits for it before anything counts.
 */
export function flushLater(sink: BlockSink): { sink: BlockSink; flushed: () => Promise<void> } {
  let flushing: Promise<void> | undefined;
  const flush = sink.flush?.bind(sink);
  const wrapped: BlockSink = { put: (data, hash, block) => sink.put(data, hash, block) };
  if (flush) {
    wrapped.flush = async () => {
      flushing ??= flush();
      flushing.catch(() => undefined);
    };
  }
  return { sink: wrapped, flushed: () => flushing ?? Promise.resolve() };
}

/**
 * The files of a tree being read, each opened once for all its reads (a large file is read
 * in many blocks, in order) and closed soon after: at most MAX_IDLE_OPEN idle descriptors
 * are kept, so a tree of any number of files holds a handful. A file's close is not waited
 * for by its read: for a small file (one read) that is one trip through the thread pool less.
 */
const MAX_IDLE_OPEN = 8;

class OpenFiles {
  private readonly open = new Map<string, { fh: Promise<FileHandle>; users: number }>();

  reader(abs: string): PositionalReader {
    // Its small files are read by the hash workers themselves (scan-cutter.ts `readAndScan`), its large ones here.
    return { read: (buffer, offset, length, position) => this.read(abs, buffer, offset, length, position), localFile: (position) => ({ path: abs, position }) };
  }

  private async read(abs: string, buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    let entry = this.open.get(abs);
    if (!entry) {
      entry = { fh: open(abs, 'r'), users: 0 };
      entry.fh.catch(() => undefined);
      this.open.set(abs, entry);
    }
    entry.users++;
    try {
      return await (await entry.fh).read(buffer, offset, length, position);
    } catch (err) {
      if (this.open.get(abs) === entry) this.open.delete(abs);
      throw err;
    } finally {
      entry.users--;
      this.closeIdle();
    }
  }

  /** Closes the least recently opened idle files past MAX_IDLE_OPEN (Map order is open order). */
  private closeIdle(): void {
    const idle = [...this.open].filter(([, e]) => e.users === 0);
    while (idle.length > MAX_IDLE_OPEN) {
      const [abs, e] = idle.shift()!;
      this.open.delete(abs);
      e.fh.then((fh) => fh.close()).catch(() => undefined);
    }
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((e) => e.fh.then((fh) => fh.close()).catch(() => undefined)));
  }
}

function changed(why: string): CanopyError {
  return new CanopyError('ERR_SOURCE_CHANGED', `the directory changed while it was being published (${why}); nothing was published`);
}

async function checkUnchanged(disk: ReadonlyMap<string, WalkedFile>): Promise<void> {
  // The stats at once (bounded), as the walk's lstats: one after another, a round trip each.
  const files = [...disk];
  const now = await mapLimit(files, WALK_IN_FLIGHT, ([, f]) => stat(f.abs).catch(() => undefined));
  for (const [i, [rel, f]] of files.entries()) {
    const st = now[i];
    if (!st || st.size !== f.size || st.mtimeMs !== f.mtimeMs) throw changed(`${rel} ${st ? 'was modified' : 'was removed'}`);
  }
}
