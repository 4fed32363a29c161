/**
 * Blocks on disk, content-addressed by SHA-256 and striped over volumes (see placement.ts).
 * A write is: verify hash, pick a volume, temp file (staged), then in a batch with the other
 * writes to that volume (group commit): data sync, rename, one sync per directory, and the
 * index rows in one transaction; put() resolves when its batch is durable. A reader
 * therefore sees a block whole or not at all, and a crash leaves at worst a temp file or an
 * unindexed block, both settled by the start-up scrub. The first read in a run of each
 * block this run did not write is checked against the hash (later reads trust it, as they
 * trust the blocks this run wrote), so bytes that rotted on disk while the node was down
 * are never served.
 *
 * Volume failures (gone, read-only, I/O errors) are detected on use and by a periodic
 * probe; the volume is marked failed, its blocks lost, and `volume:failed` is emitted so
 * the node can re-fetch what it must hold. Writes go on over the other volumes.
 *
 * Capacity: per-volume `capacity`, a node-wide `quota`, and the disks themselves. When a
 * block does not fit, unpinned contents are evicted by the policy in eviction.ts; if
 * nothing is left to evict the write fails with ERR_STORE_FULL and leaves nothing behind.
 *
 * A store opened with `readOnly` (another process of the site: a second edge server, a verifier)
 * reads the same index and volumes concurrently and never writes.
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { CanopyError } from '../core/errors.js';
import { blockPool, unpooled, type Lease } from '../core/block-pool.js';
import { byteLength, sha256HexOf, type BlockBytes } from '../core/block-bytes.js';
import type { Logger } from '../core/logger.js';
import type { EvictionPolicy } from './eviction.js';
import { Evictor } from './evictor.js';
import { IndexDb } from './index-db.js';
import { scrub, type ScrubReport } from './scrub.js';
import { fullError } from './store-full.js';
import { storeStats } from './store-stats.js';
import { ReadVerification, verifyReadsFromEnv } from './read-verification.js';
import type { ReadPiece } from './block-reads.js';
import { StoreReads } from './store-reads.js';
import { BlockIntake } from './block-intake.js';
import { setAside } from './set-aside.js';
import type { StoreOptions, StoreStats, StripeHint, VolumeFailure, VolumeStats } from './store-types.js';
import { readableIds, Volume } from './volume.js';
import { VolumeChoice } from './volume-choice.js';
import { noWritableVolume } from './volume-health.js';
import { VolumeCommitters, type StoreWriter } from './volume-commit.js';
import { VolumeSet } from './volume-set.js';
import type { VolumeConfig } from './volume-spec.js';
import { makeDirs } from './make-dirs.js';

export type { VolumeConfig } from './volume-spec.js';
export type { StoreOptions, StoreStats, StripeHint, VolumeFailure, VolumeStats } from './store-types.js';

const PROBE_INTERVAL_MS = 2_000;
const ACCESS_FLUSH_MS = 5_000;

export class BlockStore extends EventEmitter<{ 'volume:failed': [VolumeFailure]; 'volume:restored': [VolumeFailure]; 'content:evicted': [{ contentId: string; bytes: number }] }> {
  readonly index: IndexDb;
  readonly readOnly: boolean;
  readonly lastScrub: ScrubReport | undefined;
  private readonly volumes: Volume[];
  private readonly set: VolumeSet;
  private readonly choice: VolumeChoice;
  private readonly evictor: Evictor;
  private readonly quota: number | undefined;
  private readonly policy: EvictionPolicy;
  private readonly log: Logger | undefined;
  private readonly writing = new Map<string, Promise<void>>();
  private readonly accesses = new Map<string, [at: number, count: number]>();
  private readonly committers: VolumeCommitters;
  private corruptBlocks = 0;
  private readonly verification: ReadVerification;
  private readonly reads: StoreReads;
  private timers: NodeJS.Timeout[] = [];

  constructor(dataDir: string, volumeConfigs: readonly VolumeConfig[], options: StoreOptions = {}) {
    super();
    if (volumeConfigs.length === 0) throw new CanopyError('ERR_CONFIG_INVALID', 'volumes: at least one volume is needed');
    const paths = volumeConfigs.map((v) => path.resolve(v.path));
    if (new Set(paths).size !== paths.length) throw new CanopyError('ERR_CONFIG_INVALID', 'volumes: the same directory is listed twice');
    this.readOnly = options.readOnly ?? false;
    this.quota = options.quota;
    this.policy = options.evictionPolicy ?? 'lru';
    this.log = options.log;
    this.verification = new ReadVerification(options.verifyReads ?? verifyReadsFromEnv());
    if (!this.readOnly) makeDirs(dataDir);
    this.index = new IndexDb(path.join(dataDir, 'index.db'), this.readOnly);
    this.committers = new VolumeCommitters(this.index);
    const freshIds = readableIds(paths, this.index.allVolumes().map((v) => v.id));
    const recorded = this.index.allVolumes();
    const known = new Map(recorded.map((v) => [v.path, v.id]));
    this.volumes = volumeConfigs.map((c, i) => Volume.open(c, known.get(paths[i]!), freshIds[i]!, this.readOnly));
    this.set = new VolumeSet(this.volumes, this.index, this.readOnly, this.log, {
      failed: (f) => this.emit('volume:failed', f),
      restored: (f) => this.emit('volume:restored', f),
    });
    if (!this.set.idsAreDistinct) throw new CanopyError('ERR_CONFIG_INVALID', 'volumes: two directories carry the same volume id (one was copied from the other?)');
    if (!this.readOnly) {
      this.lastScrub = scrub(this.index, this.volumes);
      if (Object.values(this.lastScrub).some((n) => n > 0)) this.log?.info('start-up scrub reconciled index and volumes', { ...this.lastScrub });
      this.set.persist();
    }
    this.set.loadUsage();
    this.choice = new VolumeChoice(this.volumes, this.quota);
    this.evictor = new Evictor({
      index: this.index,
      volumes: this.set,
      policy: this.policy,
      log: this.log,
      forget: (hash) => this.verification.forget(hash),
      evicted: (contentId, bytes) => this.emit('content:evicted', { contentId, bytes }),
    });
    this.reads = new StoreReads({
      located: (hash) => {
        const row = this.index.getBlock(hash);
        const volume = row && this.set.get(row.volume);
        return row && volume && volume.state !== 'failed' ? { length: row.length, volume, packed: row.pack ? { id: row.pack, offset: row.offset ?? 0 } : undefined } : undefined;
      },
      verification: this.verification,
      readOnly: this.readOnly,
      log: this.log,
      failVolume: (volume, reason) => this.failVolume(volume, reason),
      drop: (volume, hash, length) => this.drop(volume, hash, length),
      corrupted: () => this.corruptBlocks++,
      accesses: this.accesses,
    });
    for (const v of this.volumes.filter((x) => x.state === 'failed')) this.log?.error('volume failed', { volume: v.id, path: v.dir, reason: v.reason });
  }

  /** Opens the store of a running node's data directory for reading only, volumes as the node recorded them. */
  static openReadOnly(dataDir: string): BlockStore {
    const index = new IndexDb(path.join(dataDir, 'index.db'), true);
    const rows = index.allVolumes();
    index.close();
    if (rows.length === 0) throw new CanopyError('ERR_CONFIG_INVALID', `no volumes are recorded in ${dataDir}; is it a node's data directory?`);
    return new BlockStore(dataDir, rows.map((r) => ({ path: r.path, weight: r.weight, ...(r.capacity === null ? {} : { capacity: r.capacity }) })), { readOnly: true });
  }

  /** Starts the periodic volume probe and the batched recording of reads. */
  start(): void {
    if (this.readOnly || this.timers.length > 0) return;
    this.timers = [setInterval(() => this.probeVolumes(), PROBE_INTERVAL_MS), setInterval(() => this.flushAccesses(), ACCESS_FLUSH_MS)];
    this.timers.forEach((t) => t.unref());
  }

  /** Why no block can be written now (every volume read-only or failed), or undefined: a peer asking for a block not held is told so at once. */
  writeFault(): CanopyError | undefined {
    return this.readOnly ? new CanopyError('ERR_STORE_IO', 'this store is open read-only') : noWritableVolume(this.volumes);
  }

  has(hash: string): boolean {
    const row = this.index.getBlock(hash);
    return row !== undefined && this.set.get(row.volume)?.state !== 'failed';
  }

  /** `has` over a content's manifest in one query (progress reports, every 200 ms of a download, asked per block). */
  held(contentId: string): { blocks: number; bytes: number } {
    const live = this.index.heldOf(contentId).filter((v) => this.set.get(v.volume)?.state !== 'failed');
    return { blocks: live.reduce((a, v) => a + v.blocks, 0), bytes: live.reduce((a, v) => a + v.bytes, 0) };
  }

  /**
   * Stores a block under the SHA-256 of its bytes and returns that hash. With `expected`,
   * bytes that do not hash to it are refused before anything touches the disk. `hint`
   * names the content and block index so consecutive blocks go to different volumes.
   * Storing a block already held is a no-op. `data` may be the pieces the block arrived in
   * (a peer's reply): they are hashed and written in order, never joined.
   */
  async put(data: BlockBytes, expected?: string, hint?: StripeHint): Promise<string> {
    const hash = sha256HexOf(data);
    if (expected !== undefined && hash !== expected) throw new CanopyError('ERR_BLOCK_HASH_MISMATCH', `block bytes hash to ${hash.slice(0, 12)}, expected ${expected.slice(0, 12)}`);
    await this.putHashed(hash, data, hint);
    return hash;
  }

  /**
   * `put` for a caller that has just computed `hash` from these very bytes in this process
   * (the stripe writer), so they are not hashed twice.
   */
  async putHashed(hash: string, data: BlockBytes, hint?: StripeHint): Promise<void> {
    await (await this.stageHashed(hash, data, hint)).durable;
  }

  /**
   * `putHashed` in two steps, for a writer that reuses its buffers (the ingest): resolves as
   * soon as `data` may be reused (its bytes are in a temp file on a volume, or the block is
   * held or being written already); `durable` settles when the block is durable and
   * indexed, with the other blocks of its batch. So the writer keeps going while a batch
   * syncs, and batches grow without more memory. The one cost: a volume that fails between
   * the two steps fails the put (ERR_STORE_IO) instead of moving it to another volume, as
   * the bytes are gone from memory by then. With `defer` (nobody waits for this block
   * alone), its commit may wait for the blocks still being staged (volume-commit.ts).
   */
  async stageHashed(hash: string, data: BlockBytes, hint?: StripeHint, defer = false): Promise<{ durable: Promise<void> }> {
    if (this.readOnly) throw new CanopyError('ERR_STORE_IO', 'this store is open read-only');
    if (this.has(hash)) return { durable: this.committers.dirSyncs.durable(hash) };
    const pending = this.writing.get(hash);
    if (pending) return { durable: pending.then(() => this.committers.dirSyncs.durable(hash)) };
    let markStaged!: () => void;
    const staged = new Promise<void>((resolve) => (markStaged = resolve));
    const durable = this.write(hash, data, hint, markStaged, defer).finally(() => this.writing.delete(hash));
    this.writing.set(hash, durable);
    await Promise.race([staged, durable]);
    return { durable };
  }

  /** `staged` is called once the bytes are in a temp file; after it, a failed commit is not retried elsewhere. */
  private async write(hash: string, data: BlockBytes, hint: StripeHint | undefined, staged: () => void, defer: boolean): Promise<void> {
    const tried = new Set<string>();
    const length = byteLength(data);
    let released = false;
    for (;;) {
      const volume = await this.chooseVolume(hash, length, hint, tried);
      try {
        const block = await this.committers.staging(volume, () => volume.stage(hash, data, defer));
        staged();
        released = true;
        // Durable, renamed and indexed together with the other blocks of its batch (volume-commit.ts).
        await this.committers.of(volume).submit({ staged: block, hint, deferred: defer }, defer);
        // Hashed here from the bytes just written: its first read need not hash it again (read-verification.ts).
        this.verification.written(hash);
        return;
      } catch (err) {
        if (!this.setAside(volume, err, tried) || released) throw new CanopyError('ERR_STORE_IO', `writing block ${hash.slice(0, 12)} to ${volume.dir} failed: ${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}`, { cause: err });
      } finally {
        volume.pendingBytes -= length;
      }
    }
  }

  /** A write to `volume` failed: whether the volume is set aside (set-aside.ts) and the write may try another. */
  private setAside(volume: Volume, err: unknown, tried: Set<string>): boolean {
    return setAside(volume, err, tried, { readOnly: (v, m) => this.set.markReadOnly(v, m), failed: (v, m) => this.failVolume(v, m), log: this.log });
  }

  /** A block written as it arrives, checked against `hash` when whole (block-intake.ts). */
  intake(hash: string, length: number, hint?: StripeHint): BlockIntake {
    if (this.readOnly) throw new CanopyError('ERR_STORE_IO', 'this store is open read-only');
    return new BlockIntake(hash, length, {
      reserve: (tried) => this.chooseVolume(hash, length, hint, tried),
      unreserve: (volume) => void (volume.pendingBytes -= length),
      setAside: (volume, err, tried) => this.setAside(volume, err, tried),
      commit: async (volume, staged) => {
        await this.committers.of(volume).submit({ staged, hint, deferred: false }, false);
        this.verification.written(hash);
      },
      claim: (written) => {
        if (this.has(hash) || this.writing.has(hash)) return false;
        const entry = written.finally(() => this.writing.delete(hash));
        entry.catch(() => undefined); // A failed commit is the intake's to report.
        this.writing.set(hash, entry);
        return true;
      },
    });
  }

  /** Batches committed and blocks in them since the store opened (group commit at work). */
  commitStats = (): { batches: number; blocks: number } => this.committers.totals();

  /** A writer of deferred blocks: more follow until `done`; `durable` makes them durable (volume-commit.ts). */
  expectWrites = (): StoreWriter => this.committers.openWriter();

  /**
   * A volume with room for the block, evicting unpinned contents if there is none. The
   * room is reserved (pendingBytes) in the same synchronous step as the check, so
   * concurrent writes cannot all see the same free space.
   */
  private async chooseVolume(hash: string, length: number, hint: StripeHint | undefined, tried: Set<string>): Promise<Volume> {
    for (;;) {
      const volume = this.choice.pick(hash, length, hint, tried);
      if (volume && this.choice.quotaAllows(length)) {
        volume.pendingBytes += length;
        return volume;
      }
      // Volume health (issue 24): with every volume read-only or failed, evicting cannot help (and could not delete).
      const unwritable = noWritableVolume(this.volumes);
      if (unwritable) throw unwritable;
      // Another write is already making room: see what it freed before evicting more.
      const running = this.evictor.running;
      if (running) await running;
      else if (!(await this.evictOne())) throw fullError(this.volumes, length, tried, this.quota);
      tried.clear();
    }
  }

  /** Evicts the next unpinned content by policy; false when there is none. One at a time. */
  evictOne(): Promise<boolean> {
    return this.evictor.evictOne();
  }

  /** Reads a whole block and checks it against its hash, so a bit flip on disk is never served. */
  async get(hash: string): Promise<Buffer> {
    return (await this.getLease(hash, (n) => unpooled(Buffer.allocUnsafe(n)))).bytes;
  }

  /** `get` into a block pool buffer (core/block-pool.ts): the caller releases the lease once done with the bytes. */
  getLease(hash: string, take: (length: number) => Lease = (n) => blockPool.take(n)): Promise<Lease> {
    return this.reads.lease(hash, take);
  }

  /** A trusted block in pieces for a socket (block-reads.ts), from byte `from`; undefined when this read must hash it (`getLease`). */
  pieces(hash: string, pieceBytes: number, from = 0): AsyncIterable<ReadPiece> | undefined {
    return this.reads.pieces(hash, pieceBytes, from);
  }

  private drop(volume: Volume, hash: string, length: number): void {
    this.verification.forget(hash);
    if (this.readOnly) return;
    this.index.deleteBlock(hash);
    this.set.release(volume, length);
  }

  /** Marks a content as one this node must hold (never evicted) or not. */
  pin(contentId: string, pinned: boolean): void {
    this.index.setPinned(contentId, pinned);
    if (pinned) this.index.setContentState(contentId, 'active');
  }

  /**
   * A content taken out of service (withdrawn or expired): never pinned again, and its blocks
   * no longer count as in use, so eviction and clean-up treat them as free.
   */
  retire(contentId: string): void {
    this.index.setPinned(contentId, false);
    this.index.setContentState(contentId, 'withdrawn');
  }

  /** Marks a content active again (a node fetching an evicted content holds it again). */
  activate(contentId: string): void {
    this.index.setContentState(contentId, 'active');
  }

  /** Deletes the given blocks if no content uses them: the clean-up of a failed ingest. */
  async discardUnreferenced(hashes: Iterable<string>): Promise<number> {
    const unique = new Set(hashes);
    // Writes of these blocks still in flight land first, so none slips past the clean-up.
    await Promise.allSettled([...unique].map((h) => this.writing.get(h)));
    let n = 0;
    for (const hash of unique) {
      const row = this.index.getBlock(hash);
      const volume = row && this.set.get(row.volume);
      if (!row || !volume || this.index.isReferenced(hash)) continue;
      this.drop(volume, hash, row.length);
      await volume.remove(hash).catch(() => undefined);
      n++;
    }
    if (n > 0) this.set.retryFull();
    return n;
  }

  failVolume(volume: Volume, reason: string): void {
    this.set.fail(volume, reason);
  }

  /**
   * Finds volumes that disappeared or turned read-only, full ones that have room again, and
   * read-only ones writable again. Failed volumes are looked at only on a recheck
   * (`recheckVolumes`: SIGHUP or `POST /api/store/recheck`).
   */
  probeVolumes(includeFailed = false): void {
    this.set.probe(includeFailed);
  }

  /** Looks at every volume now, failed ones included; returns the volumes' states after. */
  recheckVolumes(): VolumeStats[] {
    if (!this.readOnly) this.probeVolumes(true);
    return this.stats().volumes;
  }

  volumeById(id: string): Volume | undefined {
    return this.set.get(id);
  }

  /** Forgets a block: the index row goes first, so the block is never served while its file is removed. */
  async delete(hash: string): Promise<void> {
    const row = this.index.getBlock(hash);
    const volume = row && this.set.get(row.volume);
    if (!row || !volume) return;
    this.drop(volume, hash, row.length);
    await volume.remove(hash).catch(() => undefined);
  }

  stats(): StoreStats {
    if (this.readOnly) this.set.loadUsage(); // The writer moves on; a reader's counts come from the index.
    return storeStats(this.volumes, this.index, { quota: this.quota, policy: this.policy, corruptBlocks: this.corruptBlocks });
  }

  close(): void {
    this.timers.forEach((t) => clearInterval(t));
    this.timers = [];
    this.flushAccesses();
    this.volumes.forEach((v) => v.handles.dropUnder(v.dir)); // Open read handles (read-handles.ts).
    this.index.close();
  }

  private flushAccesses(): void {
    if (this.readOnly || this.accesses.size === 0) return;
    const entries = [...this.accesses].map(([hash, [at, count]]) => [hash, at, count] as [string, number, number]);
    this.accesses.clear();
    this.index.touchBlocks(entries);
  }
}
