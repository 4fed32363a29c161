/**
 * Directory syncs put off until a writer needs them. A commit makes a block's bytes durable
 * (data sync) before renaming it into its shard directory, and the rename durable by syncing
 * that directory. Blocks land in 256 shard directories per volume, so a batch of 32 touches
 * ~30 of them: one directory sync per block, and on ext4 each directory sync forces a whole
 * journal commit (notes/issue-20.md, Session 10). An ingest only needs its blocks durable
 * when it flushes; so for its (deferred) blocks the commit renames and indexes them and
 * leaves their directories here, and the flush syncs each directory once, however many of
 * the ingest's blocks went into it.
 *
 * Until then such a block is whole and visible (its bytes were synced before the rename:
 * kill -9 never exposes a partial one), but a power cut could lose its name; the start-up
 * scrub then drops its index row. Whoever needs it durable meanwhile (another writer
 * storing the same block, a download that finds it held) waits through `durable`, which
 * syncs its directory at once.
 */
import { CanopyError } from '../core/errors.js';
import type { Volume } from './volume.js';

interface Dirty {
  dirs: Set<string>;
  hashes: Set<string>;
  running: Promise<void> | undefined;
}

export class DirSyncs {
  private readonly dirty = new Map<Volume, Dirty>();
  /** Blocks renamed whose directory is not known to be synced, and their volume. */
  private readonly pending = new Map<string, Volume>();

  constructor(private readonly syncDir: (dir: string) => Promise<void>) {}

  /** Blocks of a committed batch, renamed into `dirs`, whose directories were not synced. */
  add(volume: Volume, dirs: Iterable<string>, hashes: Iterable<string>): void {
    let d = this.dirty.get(volume);
    if (!d) this.dirty.set(volume, (d = { dirs: new Set(), hashes: new Set(), running: undefined }));
    for (const dir of dirs) d.dirs.add(dir);
    for (const h of hashes) {
      d.hashes.add(h);
      this.pending.set(h, volume);
    }
  }

  /** Settles once `hash`'s directory entry is durable (at once for a block not put off here). */
  durable(hash: string): Promise<void> {
    const volume = this.pending.get(hash);
    return volume ? this.sync(volume) : Promise.resolve();
  }

  /** Syncs every directory put off so far, on every volume. */
  async syncAll(): Promise<void> {
    await Promise.all([...this.dirty.keys()].map((v) => this.sync(v)));
  }

  /** Syncs the volume's directories put off so far, after any sync already running there. */
  private sync(volume: Volume): Promise<void> {
    const d = this.dirty.get(volume)!;
    if (d.dirs.size === 0 && d.hashes.size === 0) return d.running ?? Promise.resolve();
    const dirs = [...d.dirs];
    const hashes = [...d.hashes];
    d.dirs.clear();
    d.hashes.clear();
    const before = d.running;
    const run = (async () => {
      await before?.catch(() => undefined);
      try {
        await Promise.all(dirs.map(this.syncDir));
      } catch (err) {
        // Still to do: the next writer that needs them tries again.
        this.add(volume, dirs, hashes);
        throw new CanopyError('ERR_STORE_IO', `syncing the block directories of ${volume.dir} failed: ${(err as Error).message}`, { cause: err });
      }
      for (const h of hashes) if (this.pending.get(h) === volume && !d.hashes.has(h)) this.pending.delete(h);
    })();
    const settled = () => {
      if (d.running === run) d.running = undefined;
    };
    run.then(settled, settled);
    d.running = run;
    return run;
  }
}
