/**
 * Takes contents out of service on this node: on a withdrawal (from the root, live or in
 * the catalog sync of a join) and when a content's `expires` time passes (every node reads
 * it from the manifest, so expiry needs no message). Out of service means: the catalog marks
 * it at once (the edge and the peer service stop serving it before anything else happens),
 * its download is cancelled, and its blocks are freed unless another live content uses them.
 */
import type { Catalog } from '../catalog/catalog.js';
import type { Logger } from '../core/logger.js';
import type { BlockStore } from '../store/block-store.js';

export interface ContentLifecycleDeps {
  catalog: Catalog;
  store: BlockStore;
  /** Stops fetching a content; resolves once no more of its blocks can be written. */
  cancelDownload: (contentId: string) => Promise<void>;
  /** Called once a content is out of service and its blocks are freed. */
  onRetired?: (contentId: string, reason: string, freedBytes: number) => void;
  log: Logger;
}

const SWEEP_INTERVAL_MS = 1_000;

export class ContentLifecycle {
  private timer: NodeJS.Timeout | undefined;
  /** Serialises retirements so two never free blocks from one stale view of the catalog. */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly deps: ContentLifecycleDeps) {}

  start(): void {
    // Finish any freeing a crash interrupted: withdrawn contents whose blocks are still here.
    for (const w of this.deps.catalog.withdrawals()) {
      if (this.deps.catalog.get(w.contentId)?.blocks.some((b) => this.deps.store.has(b.hash))) void this.retire(w.contentId, w.reason);
    }
    this.sweep();
    this.timer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * Withdraws a content. The catalog entry is written synchronously, so by the time this
   * returns nothing serves it any more; the freeing of blocks follows (awaited by the result).
   */
  withdraw(contentId: string, at: string, reason: string): Promise<number> {
    if (!this.deps.catalog.withdraw(contentId, at, reason)) return Promise.resolve(0);
    this.deps.log.info('content withdrawn', { contentId, reason });
    return this.retire(contentId, reason);
  }

  /** Retires every content whose `expires` has passed. */
  sweep(now: number = Date.now()): void {
    for (const contentId of this.deps.catalog.expiredLive(now)) void this.withdraw(contentId, new Date(now).toISOString(), 'expired');
  }

  /** Waits for every retirement queued so far (tests and shutdown). */
  idle(): Promise<void> {
    return this.chain;
  }

  private retire(contentId: string, reason: string): Promise<number> {
    const run = this.chain.then(async () => {
      await this.deps.cancelDownload(contentId);
      const manifest = this.deps.catalog.get(contentId);
      if (!manifest) return 0;
      this.deps.store.retire(contentId);
      const keep = this.deps.catalog.liveHashes(contentId);
      let freed = 0;
      for (const hash of new Set(manifest.blocks.map((b) => b.hash))) {
        if (keep.has(hash) || !this.deps.store.has(hash)) continue;
        freed += this.deps.store.index.getBlock(hash)?.length ?? 0;
        await this.deps.store.delete(hash);
      }
      this.deps.log.info('content retired; blocks freed', { contentId, reason, freedBytes: freed });
      this.deps.onRetired?.(contentId, reason, freed);
      return freed;
    });
    this.chain = run.then(
      () => undefined,
      (err: Error) => this.deps.log.error('freeing blocks failed', { contentId, err }),
    );
    return run;
  }
}
