/**
 * One volume: a directory (normally its own disk) holding block files under
 * blocks/<first two hex digits>/<hash>, temp files under tmp/, and a marker file naming the
 * volume's id, so blocks stay attached to their volume even if the operator reorders or
 * renames the mount points. A block write is temp file, fsync, rename, directory fsync: a
 * reader (or a crash) sees the block whole or not at all.
 *
 * A volume is `ok`, `full` (the file system said ENOSPC or its configured capacity is
 * reached; it comes back when space frees up), `read-only` (its marker reads but writes are
 * refused: EROFS, or EACCES/EPERM on a directory we own; its blocks are still read and
 * served, and it returns to `ok` by itself when the probe finds it writable again) or
 * `failed` (gone, I/O errors: its blocks count as lost until a recheck finds it healthy).
 */
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, fsync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statfsSync, writeFileSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import path from 'node:path';
import { byteLength, type BlockBytes } from '../core/block-bytes.js';
import { unpooled, type Lease } from '../core/block-pool.js';
import { readPieces, readWhole, type ReadPiece } from './block-reads.js';
import { readHandles, type ReadHandles } from './read-handles.js';
import { isDirectUnsupported, writeDirect } from './direct-write.js';
import { PackArena, writeAll, writePack, type PackLocation } from './pack-write.js';
import { SMALL_BLOCK_BYTES, writeSmall, type StagedFile } from './small-write.js';
import type { WeightedVolume } from './placement.js';
import type { VolumeConfig } from './volume-spec.js';
import { makeDirs } from './make-dirs.js';

export type VolumeState = 'ok' | 'full' | 'read-only' | 'failed';
export type IoErrorKind = 'full' | 'failed' | 'missing' | 'other';

export const MARKER = '.canopy-volume';

const FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);
const FAILED_CODES = new Set(['EIO', 'EROFS', 'EACCES', 'EPERM', 'ENOTDIR', 'ESTALE', 'ENXIO', 'ENODEV', 'EBADF', 'ENOTCONN', 'EUCLEAN']);
/** Write errors that leave what is already on the volume readable. */
const READ_ONLY_CODES = new Set(['EROFS', 'EACCES', 'EPERM']);

/** Whether a write error says "cannot write here" rather than "this disk is broken". */
export function isReadOnlyError(err: unknown): boolean {
  return READ_ONLY_CODES.has((err as { code?: string } | undefined)?.code ?? '');
}

/** What a probe found: healthy, readable but not writable, or broken. */
export type Diagnosis = { state: 'ok' } | { state: 'read-only' | 'failed'; reason: string };

/** An I/O error as a volume's failure reason: the code once (Node's messages already start with it: "ENOENT: no such file..."). */
export function ioReason(err: unknown): string {
  const code = (err as { code?: string }).code;
  const message = (err as Error).message ?? String(err);
  return code === undefined || message.startsWith(`${code}:`) ? message : `${code}: ${message}`;
}

/** What an I/O error says about the volume it happened on. */
export function classifyIoError(err: unknown): IoErrorKind {
  const code = (err as { code?: string } | undefined)?.code ?? '';
  if (FULL_CODES.has(code)) return 'full';
  if (FAILED_CODES.has(code)) return 'failed';
  if (code === 'ENOENT') return 'missing';
  return 'other';
}

/**
 * A block staged, not yet durable or visible (see Volume.stage/commit): in a temp file
 * (`fh`), or, a small block of a deferred write, in memory (`bytes`) until its batch's pack
 * is written; the commit sets `packed` to where it went.
 */
export interface StagedBlock {
  hash: string;
  length: number;
  tmpPath: string;
  finalPath: string;
  fh?: StagedFile;
  bytes?: Buffer;
  /** Gives `bytes`' space back to the volume's arena (pack-write.ts PackArena). */
  release?: () => void;
  packed?: PackLocation;
}

export class Volume implements WeightedVolume {
  state: VolumeState = 'ok';
  reason = '';
  usedBytes = 0;
  blocks = 0;
  /** Bytes of writes in flight, counted against capacity before they land. */
  pendingBytes = 0;
  /** Whether block files are written with O_DIRECT (turned off when the file system refuses it). */
  directWrites = process.env.CANOPY_DIRECT_WRITES !== '0';
  /** Where block reads get their file handles (read-handles.ts); shared by every volume. */
  handles: ReadHandles = readHandles;
  private readonly arena = new PackArena();

  private constructor(
    readonly id: string,
    readonly dir: string,
    readonly weight: number,
    readonly capacity: number | undefined,
  ) {}

  /**
   * Opens (and on first use initialises) a volume. A volume that cannot be opened is
   * returned failed rather than thrown, so a node with one bad disk still starts.
   *
   * `knownId` is the id the index last saw at this path. A path the index knows whose
   * marker is gone is NOT initialised again: that is what an unmounted disk looks like
   * (the empty mount point), and writing there would fill the wrong file system. An empty
   * marker file (`touch DIR/.canopy-volume`) tells the node to start that volume afresh.
   * `freshId` names a new volume, and one the walking skeleton created (blocks but no
   * marker; the skeleton named volumes by position, as `freshId` does when it is free).
   */
  static open(config: VolumeConfig, knownId: string | undefined, freshId: string, readOnly: boolean): Volume {
    const dir = path.resolve(config.path);
    const weight = config.weight ?? 1;
    const failed = (id: string, reason: string) => {
      const volume = new Volume(id, dir, weight, config.capacity);
      volume.fail(reason);
      return volume;
    };
    try {
      const markerPath = path.join(dir, MARKER);
      const marker = existsSync(markerPath) ? readFileSync(markerPath, 'utf8').trim() : undefined;
      let id: string;
      if (marker) {
        id = (JSON.parse(marker) as { id: string }).id;
      } else if (marker === undefined && knownId !== undefined) {
        return failed(knownId, `its marker ${MARKER} is gone: the disk is not mounted, or was replaced (to start it afresh: touch ${markerPath})`);
      } else {
        id = freshId;
        if (readOnly) return failed(id, `no ${MARKER} marker: not a volume`);
        makeDirs(dir);
        // Temp and rename, so a crash never leaves an empty marker behind.
        writeFileSync(`${markerPath}.tmp`, `${JSON.stringify({ id })}\n`);
        renameSync(`${markerPath}.tmp`, markerPath);
      }
      if (!readOnly) makeLayout(dir);
      const volume = new Volume(id, dir, weight, config.capacity);
      const found = readOnly ? undefined : volume.diagnose();
      if (found?.state === 'failed') volume.fail(found.reason);
      else if (found?.state === 'read-only') volume.setReadOnly(found.reason);
      return volume;
    } catch (err) {
      return failed(knownId ?? freshId, `cannot open: ${(err as Error).message}`);
    }
  }

  /** The id in a volume directory's marker, if it has a readable one. */
  static peekId(dir: string): string | undefined {
    try {
      return (JSON.parse(readFileSync(path.join(path.resolve(dir), MARKER), 'utf8')) as { id?: string }).id;
    } catch {
      return undefined;
    }
  }

  fail(reason: string): void {
    this.state = 'failed';
    this.reason = reason;
    this.handles.dropUnder(this.dir);
  }

  /** Readable, not writable: its blocks stay held and served, nothing new goes there. */
  setReadOnly(reason: string): void {
    this.state = 'read-only';
    this.reason = reason;
  }

  /** Back in service (a recheck found it healthy). */
  restore(): void {
    this.state = 'ok';
    this.reason = '';
  }

  /** Whether a block of `length` bytes may be placed here now. */
  hasRoom(length: number): boolean {
    if (this.state !== 'ok') return false;
    return this.capacity === undefined || this.usedBytes + this.pendingBytes + length <= this.capacity;
  }

  blockPath(hash: string): string {
    return path.join(this.dir, 'blocks', hash.slice(0, 2), hash);
  }

  /** A pack of small blocks (pack-write.ts). */
  packPath(id: string): string {
    return path.join(this.dir, 'packs', id);
  }

  /**
   * Cheap health check: the marker must be readable (a file system shut down after errors
   * answers EIO), and the directory writable (access(2) reports EROFS for a read-only
   * mount). Returns the problem, or undefined when healthy.
   */
  probe(): string | undefined {
    const d = this.diagnose();
    return d.state === 'ok' ? undefined : d.reason;
  }

  /** The probe, telling a volume that is only read-only (blocks still readable) from a broken one. */
  diagnose(): Diagnosis {
    const why = (err: unknown) => `${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}`;
    try {
      readFileSync(path.join(this.dir, MARKER));
    } catch (err) {
      return { state: 'failed', reason: why(err) };
    }
    try {
      accessSync(path.join(this.dir, 'tmp'), constants.W_OK);
      return { state: 'ok' };
    } catch (err) {
      return { state: isReadOnlyError(err) ? 'read-only' : 'failed', reason: why(err) };
    }
  }

  /** Whether the volume itself is still there (telling a lost block from a lost disk). */
  present(): boolean {
    return existsSync(path.join(this.dir, MARKER));
  }

  /**
   * First half of a block write: the bytes go to a new temp file under tmp/ (with O_DIRECT
   * where the file system allows it, see direct-write.ts). Nothing is durable or visible
   * yet; `commit` finishes the job for a batch of staged blocks. A small block of a deferred
   * write (`pack`: an ingest's, an upload's) stays in memory and goes into its batch's pack.
   */
  async stage(hash: string, data: BlockBytes, pack = false): Promise<StagedBlock> {
    const length = byteLength(data);
    if (pack && length <= SMALL_BLOCK_BYTES) return { hash, length, tmpPath: '', finalPath: '', ...this.arena.copy(data) };
    const tmpPath = path.join(this.dir, 'tmp', `${hash}.${randomBytes(6).toString('hex')}`);
    const staged = (fh: StagedFile): StagedBlock => ({ hash, length, tmpPath, finalPath: this.blockPath(hash), fh });
    // A small block: one trip to create its temp file, its bytes copied in buffered (small-write.ts).
    if (length <= SMALL_BLOCK_BYTES) return staged(await writeSmall(tmpPath, data));
    if (this.directWrites) {
      try {
        return staged(await writeDirect(tmpPath, data));
      } catch (err) {
        await unlink(tmpPath).catch(() => undefined);
        if (!isDirectUnsupported(err)) throw err;
        this.directWrites = false; // This file system does not take O_DIRECT: buffered from now on.
      }
    }
    const fh = await open(tmpPath, 'wx');
    try {
      // One writev for the whole block (writeFile would go in 512 KiB steps, each a trip through the thread pool).
      await writeAll(fh, Buffer.isBuffer(data) ? [data] : (data as readonly Buffer[]));
      return staged(fh);
    } catch (err) {
      await fh.close().catch(() => undefined);
      await unlink(tmpPath).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Second half, for many staged blocks at once: every temp file's data is synced (in
   * parallel on the thread pool, so the file system can fold the flushes into few journal
   * commits) and the blocks held in memory are written into one pack and synced with them
   * (pack-write.ts); each file is renamed to its block path, the pack into packs/, and each
   * directory touched is synced once; only after that may the index list the blocks. With
   * `syncDirs` false the caller syncs the directories (returned) later (dir-sync.ts, an
   * ingest's blocks). On failure the temp files are removed; a block or pack already renamed
   * is whole (it was synced first) and the scrub settles it at the next start.
   */
  async commit(blocks: readonly StagedBlock[], syncDirs = true): Promise<string[]> {
    const files = blocks.filter((b) => b.fh);
    const inMemory = blocks.filter((b) => b.bytes);
    let pack: Awaited<ReturnType<typeof writePack>> | undefined;
    try {
      try {
        const packing = inMemory.length > 0 ? writePack(this.dir, inMemory.map((b) => b.bytes!)) : undefined;
        // Their arena space is free once the pack's write settled, whatever becomes of the batch.
        packing?.finally(() => inMemory.forEach((b) => b.release?.())).catch(() => undefined);
        await Promise.all([...files.map((b) => b.fh!.datasync()), packing?.then((p) => void (pack = p))]);
      } finally {
        await Promise.all(files.map((b) => b.fh!.close().catch(() => undefined)));
      }
      // Renames on this thread (each a few microseconds of metadata): through the thread
      // pool each would queue behind the syncs of other batches, which hold its four threads
      // for whole journal commits.
      for (const b of files) renameSync(b.tmpPath, b.finalPath);
      const dirs = new Set(files.map((b) => path.dirname(b.finalPath)));
      if (pack) {
        renameSync(pack.tmpPath, pack.finalPath);
        dirs.add(path.dirname(pack.finalPath));
        inMemory.forEach((b, i) => (b.packed = { id: pack!.id, offset: pack!.offsets[i]! }));
      }
      if (syncDirs) await Promise.all([...dirs].map(fsyncDir));
      return [...dirs];
    } catch (err) {
      await Promise.all([...files.map((b) => b.tmpPath), ...(pack ? [pack.tmpPath] : [])].map((f) => unlink(f).catch(() => undefined)));
      throw err;
    }
  }

  /** A whole block (block-reads.ts); a file shorter than `length` comes back short (and then fails verification). */
  async read(hash: string, length?: number, packed?: PackLocation): Promise<Buffer> {
    return (await this.readLease(hash, length, (n) => unpooled(Buffer.allocUnsafe(n)), packed)).bytes;
  }

  /** `read` into a buffer from `take` (the block pool): released here if the read fails. A packed block's `length` is needed. */
  readLease(hash: string, length: number | undefined, take: (length: number) => Lease, packed?: PackLocation): Promise<Lease> {
    return packed ? readWhole(this.handles, this.packPath(packed.id), length, take, packed.offset) : readWhole(this.handles, this.blockPath(hash), length, take);
  }

  /**
   * The block in pieces, each read as the socket is ready for it (block-reads.ts): pieces are
   * the size of the ones a node receives, so sending and receiving share the pool's buffers.
   */
  readPieces(hash: string, length: number, pieceBytes: number, take: (length: number) => Lease, packed?: PackLocation, from = 0): AsyncGenerator<ReadPiece> {
    const file = packed ? this.packPath(packed.id) : this.blockPath(hash);
    return readPieces(this.handles, file, length - from, pieceBytes, take, pieceBytes, (packed?.offset ?? 0) + from);
  }

  async remove(hash: string): Promise<void> {
    // An open read handle would keep the file's space until closed.
    this.handles.drop(this.blockPath(hash));
    await unlink(this.blockPath(hash)).catch((err: unknown) => {
      if (classifyIoError(err) !== 'missing') throw err;
    });
  }

  /** Deletes a pack whose last block is gone (index-db.ts `takeEmptiedPacks`). */
  async removePack(id: string): Promise<void> {
    this.handles.drop(this.packPath(id));
    await unlink(this.packPath(id)).catch(() => undefined);
  }
}

/**
 * Creates blocks/00..ff, packs/ and tmp/ once, durably (the parent directories are synced), so a
 * block write never creates a directory: a rename into a shard directory whose own entry
 * was never synced could vanish in a power cut although the block's fsyncs succeeded.
 */
function makeLayout(dir: string): void {
  const blocks = path.join(dir, 'blocks');
  makeDirs(path.join(dir, 'tmp'));
  makeDirs(blocks);
  const existing = new Set(readdirSync(blocks));
  // packs/ (pack-write.ts) is new in volumes made before it: created, and made durable, like a shard.
  let created = makeDirs(path.join(dir, 'packs')) !== undefined;
  for (let i = 0; i < 256; i++) {
    const shard = i.toString(16).padStart(2, '0');
    if (existing.has(shard)) continue;
    mkdirSync(path.join(blocks, shard));
    created = true;
  }
  if (created) {
    fsyncDirSync(blocks);
    fsyncDirSync(dir);
    fsyncDirSync(path.dirname(dir));
  }
}

function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Only the sync goes to the thread pool; opening and closing a directory take microseconds. */
export async function fsyncDir(dir: string): Promise<void> {
  const fd = openSync(dir, 'r');
  try {
    await new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
  } finally {
    closeSync(fd);
  }
}

/** Free bytes a full file system needs before it is written to again. */
const REUSE_FREE_BYTES = 64 * 2 ** 20;

/**
 * Ids for volumes that have none yet: `v<position>` when no other volume (marker or index)
 * uses it, else the next free `v<n>`, so ids stay short and readable in stats and metrics.
 */
export function readableIds(paths: readonly string[], recorded: readonly string[]): string[] {
  const taken = new Set([...recorded, ...paths.map((p) => Volume.peekId(p)).filter((id): id is string => id !== undefined)]);
  return paths.map((_, i) => {
    let n = i;
    while (taken.has(`v${n}`)) n++;
    taken.add(`v${n}`);
    return `v${n}`;
  });
}

/** Whether a file system that filled up has room again: 64 MiB, or a quarter of a small one. */
export function hasFreeSpace(dir: string): boolean {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize >= Math.min(REUSE_FREE_BYTES, (s.blocks * s.bsize) / 4);
  } catch {
    return false;
  }
}
