/**
 * A block written as it arrives, instead of once whole: each piece is hashed, then written
 * at its offset into the block's temp file (direct-stream.ts), and may be given back as soon
 * as it is written. A block received from a peer in `part` frames held every piece until its
 * last one was in, hashed and written: five or six blocks arriving at once were most of a
 * swarm member's block pool at its peak (notes/issue-15.md, Session 19).
 *
 * Nothing changes in what a reader can see: the temp file is never visible as a block; the
 * block is checked against `hash` when whole and, only if it matches, committed as any
 * other (data sync, rename, directory sync, index row: volume-commit.ts); a mismatch, a
 * failure or `abort` removes the temp file. A crash leaves at worst a temp file, which the
 * start-up scrub removes. Until `finish`, the bytes already written can be read back from the
 * temp file (`read`): unverified, for relay readers that fell behind (swarm/relay-feed.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { isPageAligned, PAGE_ALIGN } from '../core/aligned-memory.js';
import path from 'node:path';
import type { OwnedPiece } from '../core/block-bytes.js';
import { blockPool, type Lease } from '../core/block-pool.js';
import { CanopyError } from '../core/errors.js';
import { chunkedPieces, readvFully } from './block-reads.js';
import { DirectStream } from './direct-stream.js';
import type { StagedBlock, Volume } from './volume.js';

/** What an intake needs of its store (block-store.ts). */
export interface IntakeDeps {
  /** A volume with room for the block, its room reserved; `tried` are volumes set aside already. */
  reserve(tried: Set<string>): Promise<Volume>;
  /** Gives the reservation back. */
  unreserve(volume: Volume): void;
  /** Whether the error sets the volume aside (full, read-only, failed: another may take the block). */
  setAside(volume: Volume, err: unknown, tried: Set<string>): boolean;
  /** Makes the staged block durable, visible and indexed. */
  commit(volume: Volume, staged: StagedBlock): Promise<void>;
  /**
   * Claims the block's write for this intake (`written` settles with its commit), or false
   * when the store holds it already or is writing another copy (that copy is kept instead).
   */
  claim(written: Promise<void>): boolean;
}

interface Opened {
  volume: Volume;
  stream: DirectStream;
  tmpPath: string;
}

/** Largest piece `read` hands out, and how much it reads at once. */
const READ_PIECE = 256 * 1024;
const READ_CHUNK = 1024 * 1024;
/**
 * Bytes gathered before a write: 1 MiB (four 256 KiB pieces) per device request instead of
 * one per piece, which cost a swarm member ~10 % more CPU than whole-block writes (each
 * request a VM exit here: `iowrite16` in perf), while a block in flight holds at most this
 * much besides what is being written.
 */
export const WRITE_BATCH = 1024 * 1024;

export class BlockIntake {
  private readonly hasher = createHash('sha256');
  private receivedBytes = 0;
  private readonly opened: Promise<Opened>;
  /** The writes, one after the other; rejects with the first failure. */
  private chain: Promise<unknown>;
  private settled = false;
  /** Pieces taken but not yet handed to a write, and their buffers. */
  private batch: Buffer[] = [];
  private batchLeases: Lease[] = [];
  private batchBytes = 0;
  /** The temp file is gone (discarded) or became the block (committed): nothing left to undo. */
  private closed = false;
  /** Called after each write with the bytes now in the temp file. */
  onWritten: ((written: number) => void) | undefined;

  constructor(
    readonly hash: string,
    readonly length: number,
    private readonly deps: IntakeDeps,
  ) {
    this.opened = this.open();
    this.chain = this.opened;
    // A failure is reported by finish(); until then nobody may be listening.
    this.chain.catch(() => undefined);
  }

  get received(): number {
    return this.receivedBytes;
  }

  /**
   * Takes the next piece: hashed now, written with the pieces before it once WRITE_BATCH
   * bytes are waiting (or the block is whole); `lease` (if any) is held until it is written.
   */
  push(piece: Buffer, lease?: Lease): void {
    if (this.settled) throw new Error('piece pushed to a finished block intake');
    if (this.receivedBytes + piece.length > this.length) throw new CanopyError('ERR_BLOCK_HASH_MISMATCH', `block ${this.hash.slice(0, 12)} got more than its ${this.length} bytes`);
    this.hasher.update(piece);
    this.receivedBytes += piece.length;
    lease?.retain();
    this.batch.push(piece);
    if (lease) this.batchLeases.push(lease);
    this.batchBytes += piece.length;
    if (this.batchBytes >= WRITE_BATCH || this.receivedBytes === this.length) this.writeBatch();
  }

  private writeBatch(): void {
    const pieces = this.batch;
    const leases = this.batchLeases;
    if (pieces.length === 0) return;
    this.batch = [];
    this.batchLeases = [];
    this.batchBytes = 0;
    this.chain = this.chain.then(async () => {
      const { stream } = await this.opened;
      await stream.write(pieces);
      this.onWritten?.(stream.written);
    });
    this.chain.catch(() => undefined).finally(() => leases.forEach((l) => l.release()));
  }

  /**
   * Bytes [from, to) as written so far, from the temp file (unverified), in pieces that carry
   * their `flushed`. Only bytes already written (`onWritten`) may be asked for.
   */
  async *read(from: number, to: number): AsyncGenerator<OwnedPiece> {
    const { tmpPath, stream } = await this.opened;
    // Written with O_DIRECT, the bytes are not in the page cache: a buffered read would fill it
    // from the disk and copy (0.36 CPU s per GiB relayed in the swarm bench); whole pages at
    // aligned offsets into the pool's aligned buffers are read with O_DIRECT too.
    const direct = stream.direct && from % PAGE_ALIGN === 0 && (to - from) % PAGE_ALIGN === 0;
    const fh = await open(tmpPath, direct ? constants.O_RDONLY | constants.O_DIRECT : constants.O_RDONLY);
    let buffered: FileHandle | undefined;
    // A buffer the pool does not align (a small one) is read without O_DIRECT.
    const read = async (into: Buffer[], at: number): Promise<number> =>
      readvFully(direct && !into.every(isPageAligned) ? (buffered ??= await open(tmpPath, 'r')) : fh, into, at);
    const short = (): Error => new CanopyError('ERR_STORE_IO', `block ${this.hash.slice(0, 12)}: the temp file holds fewer bytes than were written`);
    try {
      yield* chunkedPieces(read, from, to, { pieceBytes: READ_PIECE, chunkBytes: READ_CHUNK, take: (n) => blockPool.take(n), short });
    } finally {
      await fh.close().catch(() => undefined);
      await buffered?.close().catch(() => undefined);
    }
  }

  /**
   * The last piece is in: waits for the writes, checks the hash (ERR_BLOCK_HASH_MISMATCH,
   * nothing kept) and commits the block. A block the store came to hold meanwhile is dropped.
   */
  async finish(): Promise<void> {
    this.writeBatch();
    this.settled = true;
    let opened: Opened;
    try {
      await this.chain;
      opened = await this.opened;
    } catch (err) {
      await this.discard();
      throw err;
    }
    const digest = this.hasher.digest('hex');
    if (this.receivedBytes !== this.length || digest !== this.hash) {
      await this.discard();
      throw new CanopyError('ERR_BLOCK_HASH_MISMATCH', `block bytes hash to ${digest.slice(0, 12)} (${this.receivedBytes} bytes), expected ${this.hash.slice(0, 12)} (${this.length})`);
    }
    let settle!: (err?: unknown) => void;
    const written = new Promise<void>((resolve, reject) => (settle = (err) => (err === undefined ? resolve() : reject(err))));
    written.catch(() => undefined);
    if (!this.deps.claim(written)) return this.discard();
    const { volume, stream, tmpPath } = opened;
    this.closed = true;
    try {
      await stream.end();
      await this.deps.commit(volume, { hash: this.hash, length: this.length, tmpPath, finalPath: volume.blockPath(this.hash), fh: stream.fh });
      settle();
    } catch (err) {
      settle(err);
      // The commit removes its temp files on failure; a failure before it leaves this one.
      await stream.fh.close().catch(() => undefined);
      await unlink(tmpPath).catch(() => undefined);
      throw new CanopyError('ERR_STORE_IO', `writing block ${this.hash.slice(0, 12)} to ${volume.dir} failed: ${(err as Error).message}`, { cause: err });
    } finally {
      this.deps.unreserve(volume);
    }
  }

  /** Drops the block: nothing of it stays (its temp file is removed once the writes settle). */
  async abort(): Promise<void> {
    this.settled = true;
    // Not written: their buffers go back now.
    for (const l of this.batchLeases) l.release();
    this.batch = [];
    this.batchLeases = [];
    await this.chain.catch(() => undefined);
    await this.discard();
  }

  /** A temp file on a volume with room: another volume if one is set aside on the way. */
  private async open(): Promise<Opened> {
    const tried = new Set<string>();
    for (;;) {
      const volume = await this.deps.reserve(tried);
      const tmpPath = path.join(volume.dir, 'tmp', `${this.hash}.${randomBytes(6).toString('hex')}`);
      try {
        // The volume's choice (CANOPY_DIRECT_WRITES=0, or a file system found to refuse O_DIRECT).
        return { volume, stream: await DirectStream.open(tmpPath, volume.directWrites), tmpPath };
      } catch (err) {
        this.deps.unreserve(volume);
        if (!this.deps.setAside(volume, err, tried)) throw new CanopyError('ERR_STORE_IO', `creating a temp file on ${volume.dir} failed: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  private async discard(): Promise<void> {
    const opened = await this.opened.catch(() => undefined);
    if (!opened || this.closed) return;
    this.closed = true;
    const { volume, stream, tmpPath } = opened;
    await stream.fh.close().catch(() => undefined);
    await unlink(tmpPath).catch(() => undefined);
    this.deps.unreserve(volume);
  }
}
