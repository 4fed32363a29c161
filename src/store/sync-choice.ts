/**
 * Which way a file system's next batch is synced (fs-sync.ts): one `syncfs` for the batch,
 * or each file's `fdatasync` alone, whichever has cost less per file lately. Neither always
 * wins: syncfs writes back every dirty page of the file system, so while other programs
 * write to it the batch pays for their bytes too (notes/issue-15.md Session 11 (store):
 * at load 10-18 on the shared disk of this project's VM, a batch of 32 small files took
 * ~55 ms with syncfs and ~12 ms file by file), and on a quiet one it saves the per-file
 * journal commits. So the cost of each way is measured (wall time of the batch's sync, per
 * file, smoothed), the cheaper one is taken, and every PROBE_EVERY-th batch tries the other
 * one, so a change (others start or stop writing) is noticed within a few batches. Pure: the
 * caller times the syncs.
 */

export type SyncWay = 'syncfs' | 'per-file';

/** One batch in this many takes the way that currently costs more, to keep its figure fresh. */
export const PROBE_EVERY = 8;
/** Weight of the newest batch in the smoothed cost. */
const SMOOTHING = 0.5;

export class SyncChoice {
  private readonly cost: Record<SyncWay, number | undefined> = { syncfs: undefined, 'per-file': undefined };
  private batches = 0;

  /** The way for the next batch: each is tried once first, then the cheaper, with a probe of the other now and then. */
  next(): SyncWay {
    this.batches++;
    const { syncfs, 'per-file': perFile } = this.cost;
    if (syncfs === undefined) return 'syncfs';
    if (perFile === undefined) return 'per-file';
    const cheaper: SyncWay = syncfs <= perFile ? 'syncfs' : 'per-file';
    if (this.batches % PROBE_EVERY !== 0) return cheaper;
    return cheaper === 'syncfs' ? 'per-file' : 'syncfs';
  }

  /** A batch of `files` synced `way` took `ms`. */
  record(way: SyncWay, ms: number, files: number): void {
    const perFile = ms / Math.max(1, files);
    const old = this.cost[way];
    this.cost[way] = old === undefined ? perFile : old + SMOOTHING * (perFile - old);
  }

  /** The smoothed cost per file of each way, in ms (undefined: not tried yet). */
  costs(): Readonly<Record<SyncWay, number | undefined>> {
    return { ...this.cost };
  }
}
