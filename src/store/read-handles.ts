/**
 * Open handles of block files, kept for the next read of the same block. Every block served
 * to a peer or an edge client was an open and a close (two trips through the thread pool):
 * 4.5 % of a swarm node's time and 13-29 % of an edge serving one client (issue 15). A block
 * is often read again soon (the same block to several peers, several clients of one
 * content, the pieces of one block sent to a peer), so handles stay open a little while.
 *
 * Bounded: at most `max` handles are kept (least recently used closed first) and a handle
 * unused for `idleMs` is closed, so a block evicted by another process of the site (a
 * read-only store's reader does not see it go) holds its disk space only that long. A
 * handle is closed at once when its block is removed (`drop`, from Volume.remove: eviction
 * and corrupt blocks free their space) or its volume fails (`dropUnder`: a failed disk is
 * not kept open); one in use closes when its last read is done.
 */
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

export const MAX_READ_HANDLES = 64;
export const READ_HANDLE_IDLE_MS = 5_000;

interface Entry {
  readonly fh: Promise<FileHandle>;
  users: number;
  lastUsed: number;
  dropped: boolean;
}

/** A handle lent for reading: `done()` exactly once, when the read is over. */
export interface HeldHandle {
  readonly fh: FileHandle;
  done(): void;
}

export interface ReadHandleStats {
  open: number;
  opened: number;
  reused: number;
  closed: number;
}

export class ReadHandles {
  /** By file; Map order is use order (an entry used is moved to the end). */
  private readonly entries = new Map<string, Entry>();
  private sweeper: NodeJS.Timeout | undefined;
  private opened = 0;
  private reused = 0;
  private closed = 0;

  constructor(
    readonly max = MAX_READ_HANDLES,
    readonly idleMs = READ_HANDLE_IDLE_MS,
    private readonly clock: () => number = () => Date.now(),
  ) {}

  /** A handle on `file`, open already or opened now; rejects as `open` would. */
  async acquire(file: string): Promise<HeldHandle> {
    let entry = this.entries.get(file);
    if (entry) {
      this.entries.delete(file);
      this.entries.set(file, entry);
      this.reused++;
    } else {
      const opening = open(file, 'r');
      const fresh: Entry = { fh: opening, users: 0, lastUsed: 0, dropped: false };
      entry = fresh;
      this.entries.set(file, fresh);
      this.opened++;
      // A file that cannot be opened is not kept (it is missing, or its disk failed).
      opening.catch(() => {
        fresh.dropped = true;
        if (this.entries.get(file) === fresh) this.entries.delete(file);
      });
      this.trim();
    }
    const held = entry;
    held.users++;
    let fh: FileHandle;
    try {
      fh = await held.fh;
    } catch (err) {
      held.users--;
      throw err;
    }
    let returned = false;
    return {
      fh,
      done: () => {
        if (returned) return;
        returned = true;
        held.users--;
        held.lastUsed = this.clock();
        if (held.dropped && held.users === 0) this.close(held);
        this.sweepLater();
      },
    };
  }

  /** The block file is going away: its handle is closed (after the reads in progress). */
  drop(file: string): void {
    const entry = this.entries.get(file);
    if (entry) this.retire(file, entry);
  }

  /** Every handle of a file under `dir` (a volume that failed). */
  dropUnder(dir: string): void {
    const prefix = dir.endsWith(path.sep) ? dir : dir + path.sep;
    for (const [file, entry] of [...this.entries]) if (file.startsWith(prefix)) this.retire(file, entry);
  }

  /** Closes every idle handle (a store closing, a test). */
  clear(): void {
    for (const [file, entry] of [...this.entries]) this.retire(file, entry);
  }

  stats(): ReadHandleStats {
    return { open: this.entries.size, opened: this.opened, reused: this.reused, closed: this.closed };
  }

  private retire(file: string, entry: Entry): void {
    if (this.entries.get(file) === entry) this.entries.delete(file);
    if (entry.dropped) return;
    entry.dropped = true;
    if (entry.users === 0) this.close(entry);
  }

  private close(entry: Entry): void {
    this.closed++;
    entry.fh.then((fh) => fh.close()).catch(() => undefined);
  }

  /** Least recently used first, past the bound. */
  private trim(): void {
    for (const [file, entry] of this.entries) {
      if (this.entries.size <= this.max) return;
      this.retire(file, entry);
    }
  }

  /** While handles are open, a timer closes those unused for `idleMs`. */
  private sweepLater(): void {
    if (this.sweeper || this.entries.size === 0) return;
    this.sweeper = setTimeout(() => {
      this.sweeper = undefined;
      const before = this.clock() - this.idleMs;
      for (const [file, entry] of [...this.entries]) if (entry.users === 0 && entry.lastUsed <= before) this.retire(file, entry);
      this.sweepLater();
    }, this.idleMs);
    this.sweeper.unref();
  }
}

/** The process's handles: every volume of every store shares the bound. */
export const readHandles = new ReadHandles();
