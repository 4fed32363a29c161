/**
 * The store's volumes and their health (issue 24): which volume an id names, failing a
 * volume (its blocks counted lost, `volume:failed` emitted), marking one read-only (its
 * blocks still served), putting one back in service, the periodic probe, and the usage
 * counts each volume carries (loaded from the index, persisted with its state).
 */
import type { Logger } from '../core/logger.js';
import type { IndexDb } from './index-db.js';
import type { VolumeFailure } from './store-types.js';
import { hasFreeSpace, type Volume } from './volume.js';

export interface VolumeEvents {
  failed(failure: VolumeFailure): void;
  restored(failure: VolumeFailure): void;
}

export class VolumeSet {
  private readonly byId: Map<string, Volume>;

  constructor(
    readonly all: readonly Volume[],
    private readonly index: IndexDb,
    private readonly readOnly: boolean,
    private readonly log: Logger | undefined,
    private readonly events: VolumeEvents,
  ) {
    this.byId = new Map(all.map((v) => [v.id, v]));
  }

  /** Distinct ids: a volume directory copied from another carries the other's id. */
  get idsAreDistinct(): boolean {
    return this.byId.size === this.all.length;
  }

  get(id: string): Volume | undefined {
    return this.byId.get(id);
  }

  fail(volume: Volume, reason: string): void {
    if (volume.state === 'failed') return;
    volume.fail(reason);
    const lostBlocks = this.readOnly ? volume.blocks : this.index.loseVolume(volume.id);
    volume.usedBytes = 0;
    volume.blocks = 0;
    if (!this.readOnly) this.persist();
    this.log?.error('volume failed', { volume: volume.id, path: volume.dir, reason, lostBlocks });
    this.events.failed({ id: volume.id, path: volume.dir, reason, lostBlocks });
  }

  /**
   * Finds volumes that disappeared or turned read-only, full ones that have room again, and
   * read-only ones writable again. Failed volumes are looked at only on a recheck.
   */
  probe(includeFailed: boolean): void {
    for (const volume of this.all) {
      if (volume.state === 'failed' && !includeFailed) continue;
      const found = volume.diagnose();
      if (found.state === 'failed') this.fail(volume, found.reason);
      else if (found.state === 'read-only') this.markReadOnly(volume, found.reason);
      else if (volume.state === 'read-only' || volume.state === 'failed') this.restore(volume);
      else if (volume.state === 'full' && hasFreeSpace(volume.dir)) volume.restore();
    }
  }

  markReadOnly(volume: Volume, reason: string): void {
    if (volume.state === 'read-only' || volume.state === 'failed') return;
    volume.setReadOnly(reason);
    if (!this.readOnly) this.persist();
    this.log?.error('volume read-only', { volume: volume.id, path: volume.dir, reason, blocks: volume.blocks });
  }

  /** A read-only or failed volume that is healthy again: back in service, its blocks held again. */
  private restore(volume: Volume): void {
    const was = volume.state;
    const recovered = was === 'failed' ? this.index.recoverVolume(volume.id) : 0;
    volume.restore();
    this.loadUsage();
    this.persist();
    this.log?.info('volume back in service', { volume: volume.id, path: volume.dir, was, recoveredBlocks: recovered });
    this.events.restored({ id: volume.id, path: volume.dir, reason: was, lostBlocks: -recovered });
  }

  /** Space was freed: volumes that said ENOSPC get another try (they say so again if still full). */
  retryFull(): void {
    for (const v of this.all) {
      if (v.state !== 'full') continue;
      v.state = 'ok';
      v.reason = '';
    }
  }

  /** A block left the volume (deleted, evicted, found corrupt or missing). */
  release(volume: Volume, length: number): void {
    volume.usedBytes -= length;
    volume.blocks--;
    // Its index row is gone: a pack left with none goes too (pack-write.ts).
    for (const pack of this.index.takeEmptiedPacks(volume.id)) void volume.removePack(pack);
  }

  loadUsage(): void {
    for (const u of this.index.volumeUsage()) {
      const volume = this.byId.get(u.volume);
      if (volume && volume.state !== 'failed') {
        volume.usedBytes = u.bytes;
        volume.blocks = u.blocks;
      }
    }
  }

  persist(): void {
    this.index.transaction(() => {
      for (const v of this.all) this.index.putVolume({ id: v.id, path: v.dir, weight: v.weight, capacity: v.capacity ?? null, state: v.state, reason: v.reason });
    });
  }
}
