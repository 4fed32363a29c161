/**
 * Making room: evicts the next unpinned content by the store's policy (eviction.ts), one
 * eviction at a time however many writes are waiting for room. The index rows go first
 * (with the volumes' usage), so waiting writers see the room at once and no reader is
 * sent to a file being deleted; then the files go.
 */
import type { Logger } from '../core/logger.js';
import { orderVictims, type EvictionPolicy } from './eviction.js';
import type { IndexDb } from './index-db.js';
import type { VolumeSet } from './volume-set.js';

export interface EvictorDeps {
  index: IndexDb;
  volumes: VolumeSet;
  policy: EvictionPolicy;
  log: Logger | undefined;
  /** A block left the store: its next read (if it comes back) is hashed again. */
  forget(hash: string): void;
  evicted(contentId: string, bytes: number): void;
}

export class Evictor {
  /** The eviction in progress, if any. */
  running: Promise<boolean> | undefined;

  constructor(private readonly deps: EvictorDeps) {}

  /** Evicts the next unpinned content by policy; false when there is none. One at a time. */
  evictOne(): Promise<boolean> {
    this.running ??= this.evictNext().finally(() => (this.running = undefined));
    return this.running;
  }

  private async evictNext(): Promise<boolean> {
    const { index, volumes, policy, log } = this.deps;
    const victim = orderVictims(index.evictionCandidates(), policy)[0];
    if (!victim) return false;
    const blocks = index.freeableBlocks(victim.id);
    index.transaction(() => {
      index.setContentState(victim.id, 'evicted');
      for (const b of blocks) index.deleteBlock(b.hash);
    });
    for (const b of blocks) this.deps.forget(b.hash);
    // Usage drops with the index rows, before the files go, so waiting writers see the room at once.
    let bytes = 0;
    for (const b of blocks) {
      const volume = volumes.get(b.volume);
      if (!volume) continue;
      volumes.release(volume, b.length);
      bytes += b.length;
    }
    for (const b of blocks) {
      await volumes
        .get(b.volume)
        ?.remove(b.hash)
        .catch((err: Error) => log?.warn('could not delete evicted block', { volume: b.volume, err }));
    }
    bump(index, 'evictions', 1);
    bump(index, 'evictedBytes', bytes);
    volumes.retryFull();
    log?.info('evicted content', { contentId: victim.id, name: victim.name, bytes, policy });
    this.deps.evicted(victim.id, bytes);
    return true;
  }
}

function bump(index: IndexDb, key: string, by: number): void {
  index.putKv(key, String(Number(index.getKv(key) ?? 0) + by));
}
