/**
 * Group commit: callers submit items and wait; one commit runs at a time and takes every
 * item that arrived while the previous one ran (up to `maxBatch`). A lone write commits at
 * once; under load the batches grow by themselves, so the cost of making data durable
 * (device flushes, directory syncs, an index transaction) is paid per batch, not per item.
 * Each submitter learns the outcome of its own batch.
 *
 * An item submitted as `deferrable` (nobody waits on it alone: an ingest's block, which
 * only has to be durable when the ingest flushes) may wait for company: while `hold` says
 * more items are on their way and the queue holds deferrable items only, the commit waits,
 * at most `lingerMs`, or until `kick` finds the hold over. An item that is not deferrable
 * (a download's block, whose put awaits it) starts a commit at once and takes the waiting
 * ones along.
 */
export interface CommitHold {
  /** Whether to wait for more items before committing `queued` deferrable ones. */
  hold(queued: number): boolean;
  lingerMs: number;
}

const NEVER_HOLD: CommitHold = { hold: () => false, lingerMs: 0 };

export class GroupCommit<T> {
  private queue: { item: T; deferrable: boolean; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private running = false;
  /** Queued items that are not deferrable: while there is one, nothing is held. */
  private urgent = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Batches committed and items in them, for tests and stats. */
  batches = 0;
  items = 0;

  constructor(
    private readonly commit: (items: T[]) => Promise<void>,
    private readonly maxBatch = 64,
    private readonly policy: CommitHold = NEVER_HOLD,
  ) {}

  submit(item: T, deferrable = false): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, deferrable, resolve, reject });
      if (!deferrable) this.urgent++;
      this.kick();
    });
  }

  /** Starts a commit if there is something to commit and no reason to wait (call when a hold may have ended). */
  kick(): void {
    if (this.running || this.queue.length === 0) return;
    if (this.holding()) {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        if (!this.running) void this.drain();
      }, this.policy.lingerMs);
      return;
    }
    void this.drain();
  }

  private holding(): boolean {
    return this.urgent === 0 && this.queue.length < this.maxBatch && this.policy.hold(this.queue.length);
  }

  private async drain(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.urgent -= batch.filter((b) => !b.deferrable).length;
      try {
        await this.commit(batch.map((b) => b.item));
        this.batches++;
        this.items += batch.length;
        for (const b of batch) b.resolve();
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
      if (this.holding()) break;
    }
    this.running = false;
    // What arrived during the last commit and was held: wait for company, with the linger bound.
    this.kick();
  }
}
