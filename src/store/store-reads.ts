/**
 * The store's reads of held blocks: whole (`lease`, hashed on the first read of a block this
 * run found on disk, read-verification.ts) or in pieces for a socket (`pieces`, only for a
 * block already trusted: a piece sent cannot be taken back once its hash fails). A read that
 * fails tells the store why: a lost disk fails its volume, a lost file is forgotten, a file
 * that is not its block (short, or the wrong bytes) is dropped and removed.
 */
import { blockPool, type Lease } from '../core/block-pool.js';
import { CanopyError } from '../core/errors.js';
import { sha256HexOffThread } from '../core/hash.js';
import type { Logger } from '../core/logger.js';
import { ShortBlockFile, type ReadPiece } from './block-reads.js';
import type { PackLocation } from './pack-write.js';
import type { ReadVerification } from './read-verification.js';
import { classifyIoError, ioReason, type Volume } from './volume.js';

/** A held block: its volume and length, and its pack when it is in one (pack-write.ts). */
export interface Located {
  length: number;
  volume: Volume;
  packed?: PackLocation | undefined;
}

export interface ReadContext {
  /** Where a held block is (undefined: not held, or its volume failed). */
  located(hash: string): Located | undefined;
  verification: ReadVerification;
  readOnly: boolean;
  log: Logger | undefined;
  failVolume(volume: Volume, reason: string): void;
  /** Forgets a block (index row and usage). */
  drop(volume: Volume, hash: string, length: number): void;
  corrupted(): void;
  /** Reads per block (eviction's recency and frequency), flushed to the index by the store. */
  accesses: Map<string, [at: number, count: number]>;
}

export class StoreReads {
  constructor(private readonly c: ReadContext) {}

  async lease(hash: string, take: (length: number) => Lease): Promise<Lease> {
    const { length, volume, packed } = this.locate(hash);
    const lease = await volume.readLease(hash, length, take, packed).catch((err: unknown) => {
      throw this.readFailed(volume, hash, length, err);
    });
    // The first read of a block found on disk is hashed (on the thread pool, so a node serving
    // many readers keeps its event loop free); later reads trust it (read-verification.ts).
    // A file that came back short (truncated on disk) is always hashed, so it fails here.
    if ((this.c.verification.mustHash(hash) || lease.bytes.length !== length) && (await sha256HexOffThread(lease.bytes)) !== hash) {
      lease.release();
      throw await this.corrupt(volume, hash, length);
    }
    this.c.verification.passed(hash);
    this.touch(hash);
    return lease;
  }

  pieces(hash: string, pieceBytes: number, from = 0): AsyncIterable<ReadPiece> | undefined {
    if (this.c.verification.mustHash(hash)) return undefined;
    const { length, volume, packed } = this.locate(hash);
    this.touch(hash);
    return this.checked(volume, hash, length, volume.readPieces(hash, length, pieceBytes, (n) => blockPool.take(n), packed, Math.min(from, length)));
  }

  private async *checked(volume: Volume, hash: string, length: number, pieces: AsyncGenerator<ReadPiece>): AsyncGenerator<ReadPiece> {
    try {
      yield* pieces;
    } catch (err) {
      throw err instanceof ShortBlockFile ? await this.corrupt(volume, hash, length) : this.readFailed(volume, hash, length, err);
    }
  }

  private locate(hash: string): Located {
    const found = this.c.located(hash);
    if (!found) throw new CanopyError('ERR_BLOCK_NOT_FOUND', `block ${hash.slice(0, 12)} is not held here`);
    return found;
  }

  private readFailed(volume: Volume, hash: string, length: number, err: unknown): CanopyError {
    const kind = classifyIoError(err);
    if (kind === 'failed' || (kind === 'missing' && !volume.present())) this.c.failVolume(volume, ioReason(err));
    else if (kind === 'missing') this.c.drop(volume, hash, length);
    return new CanopyError('ERR_BLOCK_NOT_FOUND', `block ${hash.slice(0, 12)} could not be read from ${volume.dir}: ${(err as Error).message}`, { cause: err });
  }

  private async corrupt(volume: Volume, hash: string, length: number): Promise<CanopyError> {
    this.c.corrupted();
    this.c.log?.error('corrupt block dropped', { hash, volume: volume.id, path: volume.dir });
    this.c.drop(volume, hash, length);
    if (!this.c.readOnly) await volume.remove(hash).catch(() => undefined);
    return new CanopyError('ERR_BLOCK_NOT_FOUND', `block ${hash.slice(0, 12)} was corrupt on ${volume.dir} and has been dropped`);
  }

  private touch(hash: string): void {
    const seen = this.c.accesses.get(hash);
    this.c.accesses.set(hash, [Date.now(), (seen?.[1] ?? 0) + 1]);
  }
}
