/**
 * Making a batch of staged temp files durable with one file-system sync instead of one
 * data sync per file. A commit (volume.ts) must have every temp file's bytes on stable
 * storage before it renames any into place. One `fdatasync` per file sends each through
 * libuv's thread pool, and each waits there for a journal commit (concurrent syncs fold into
 * a few, but a thread is held for each): a publish of 2,000 files made 2,480 of them, and
 * the reads of the source and the O_DIRECT writes of the next blocks queued behind them.
 *
 * `syncfs(2)` writes back and commits everything dirty on the file system once. Node has
 * no binding for it, so it runs as coreutils' `sync -f DIR` (one short child process; from
 * Linux 5.8 syncfs reports writeback errors). Syncs are coalesced per file system (device):
 * a batch that asks while a sync runs waits for the next one (started after its files were
 * written, so it covers them), and every batch that asked meanwhile shares that next sync.
 *
 * Then each file is still `fdatasync`ed: with nothing left to write or commit, that is a
 * cache flush and the file's own writeback-error check (the error state syncfs reports is
 * the file system's, and another process's syncfs may have seen an error first; a file's own
 * error is seen only through its descriptor). So a block is renamed only once its own sync
 * has succeeded, exactly as before; what the batch no longer pays is a journal commit per
 * thread-pool trip.
 *
 * Which way a batch takes is measured per file system (sync-choice.ts): syncfs also writes
 * back other programs' dirty pages on that file system, so where others write a lot the
 * batch pays for their bytes and file by file is cheaper. `CANOPY_SYNCFS=0` turns the
 * file-system sync off, `CANOPY_SYNCFS=1` takes it for every batch (to compare). Batches
 * below SYNCFS_MIN_FILES, a missing `sync` and a failed `sync -f` go file by file alone.
 * Measured: notes/issue-15.md Session 11 (store).
 */
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { SyncChoice, type SyncWay } from './sync-choice.js';

/** A staged file as the sync sees it (a FileHandle is one). */
export interface SyncableFile {
  datasync(): Promise<void>;
}

/** syncfs(2) of the file system holding `dir`. */
export type FsSyncRunner = (dir: string) => Promise<void>;

/** Batches with fewer files sync them one by one: a child process costs a few milliseconds. */
export const SYNCFS_MIN_FILES = 8;

/** coreutils `sync -f DIR` (`program`: for tests): syncfs on DIR's file system; its exit status says whether it failed. */
export function syncRunner(program = 'sync'): FsSyncRunner {
  return (dir) =>
    new Promise((resolve, reject) => {
      execFile(program, ['-f', '--', dir], (err, _out, stderr) => {
        if (!err) return resolve();
        reject(Object.assign(new Error(`${program} -f ${dir}: ${stderr.trim() || err.message}`), { code: (err as { code?: unknown }).code }));
      });
    });
}

/** One file system's syncs: at most one running and one waiting, which every later request joins. */
class DeviceSyncs {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  /** The directory the waiting sync runs on: the latest asker's (any directory of the file system does). */
  private dir = '';
  /** Which way this file system's batches have cost less lately. */
  readonly choice = new SyncChoice();

  constructor(private readonly run: FsSyncRunner) {}

  /** Settles after a sync that started after this call (so it covers what was written before it). */
  request(dir: string): Promise<void> {
    this.dir = dir;
    this.next ??= this.start();
    return this.next;
  }

  private async start(): Promise<void> {
    await this.running?.catch(() => undefined);
    const run = this.run(this.dir);
    this.next = undefined;
    this.running = run;
    try {
      await run;
    } finally {
      if (this.running === run) this.running = undefined;
    }
  }
}

/** `auto`: the cheaper way per file system (sync-choice.ts); `always`: syncfs for every batch large enough; `off`: file by file. */
export type FsSyncMode = 'auto' | 'always' | 'off';

function modeFromEnv(value = process.env.CANOPY_SYNCFS): FsSyncMode {
  return value === '0' ? 'off' : value === '1' ? 'always' : 'auto';
}

export interface FsSyncStats {
  /** Batches made durable with a file-system sync. */
  syncfsBatches: number;
  /** Batches synced file by file alone (small, or `sync -f` unavailable or failed). */
  perFileBatches: number;
  /** Batches whose `sync -f` failed (they were synced file by file alone). */
  failures: number;
}

export class FsSync {
  readonly stats: FsSyncStats = { syncfsBatches: 0, perFileBatches: 0, failures: 0 };
  private readonly devices = new Map<number, DeviceSyncs>();
  private readonly deviceOf = new Map<string, number>();

  constructor(
    private mode: FsSyncMode = modeFromEnv(),
    private readonly runner: FsSyncRunner = syncRunner(),
    private readonly minFiles = SYNCFS_MIN_FILES,
  ) {}

  /**
   * Resolves once every file's bytes are on stable storage; rejects with the first file's
   * own error. The per-file syncs decide: the file-system sync before them only does their
   * work in one go, so its failure costs time, never the guarantee.
   */
  async syncFiles(dir: string, files: readonly SyncableFile[]): Promise<void> {
    const device = this.mode !== 'off' && files.length >= this.minFiles ? this.deviceFor(dir) : undefined;
    const way: SyncWay = device && (this.mode === 'always' || device.choice.next() === 'syncfs') ? 'syncfs' : 'per-file';
    const started = performance.now();
    const synced = way === 'syncfs' && (await this.syncfs(device!, dir));
    if (synced) this.stats.syncfsBatches++;
    else this.stats.perFileBatches++;
    // After a file-system sync this finds nothing to write: a flush and the file's own error check.
    await Promise.all(files.map((f) => f.datasync()));
    if (device && synced === (way === 'syncfs')) device.choice.record(way, performance.now() - started, files.length);
  }

  /** The smoothed cost per file of each way on `dir`'s file system (ms), once it has synced batches there. */
  costs(dir: string): ReturnType<SyncChoice['costs']> | undefined {
    const dev = this.deviceOf.get(dir);
    return dev === undefined ? undefined : this.devices.get(dev)?.choice.costs();
  }

  /** Whether a file-system sync covering the files written so far under `dir` succeeded. */
  private async syncfs(device: DeviceSyncs, dir: string): Promise<boolean> {
    try {
      await device.request(dir);
      return true;
    } catch (err) {
      this.stats.failures++;
      // No `sync` program: file by file from now on.
      if ((err as { code?: unknown }).code === 'ENOENT') this.mode = 'off';
      return false;
    }
  }

  /** The file system holding `dir` (undefined when `dir` cannot be looked at: file by file, whose errors are the system's). */
  private deviceFor(dir: string): DeviceSyncs | undefined {
    let dev = this.deviceOf.get(dir);
    if (dev === undefined) {
      try {
        dev = statSync(dir).dev;
      } catch {
        return undefined;
      }
      this.deviceOf.set(dir, dev);
    }
    let device = this.devices.get(dev);
    if (!device) this.devices.set(dev, (device = new DeviceSyncs(this.runner)));
    return device;
  }
}

/** The process's file-system syncs: syncfs acts on a whole file system, whichever store asks. */
export const fsSync = new FsSync();
