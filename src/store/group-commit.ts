/**
 * Group commit: callers submit items and wait; one commit runs at a time and takes every
 * item that arrived while the previous one ran (up to `maxBatch`). A lone write commits at
 * once; under load the batches grow by themselves, so the cost of making data durable
 * (device flushes, directory syncs, an index transaction) is paid per batch, not per item.
 * Each submitter learns the outcome of its own batch.
 */
export class GroupCommit<T> {
  private queue: { item: T; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private running = false;
  /** Batches committed and items in them, for tests and stats. */
  batches = 0;
  items = 0;

  constructor(
    private readonly commit: (items: T[]) => Promise<void>,
    private readonly maxBatch = 64,
  ) {}

  submit(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        await this.commit(batch.map((b) => b.item));
        this.batches++;
        this.items += batch.length;
        for (const b of batch) b.resolve();
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.running = false;
  }
}
