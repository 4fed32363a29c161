/**
 * The group commit of one volume (group-commit.ts): a batch of staged blocks is made
 * durable and visible on the volume (Volume.commit), then, and only then, listed in the
 * index in one transaction, and counted in the volume's usage.
 */
import { GroupCommit } from './group-commit.js';
import type { IndexDb } from './index-db.js';
import type { StripeHint } from './store-types.js';
import type { StagedBlock, Volume } from './volume.js';

export interface PendingBlock {
  staged: StagedBlock;
  hint: StripeHint | undefined;
}

function volumeCommitter(volume: Volume, index: IndexDb): GroupCommit<PendingBlock> {
  return new GroupCommit<PendingBlock>(async (batch) => {
    await volume.commit(batch.map((b) => b.staged));
    index.transaction(() => {
      for (const { staged, hint } of batch) {
        index.putBlock({ hash: staged.hash, volume: volume.id, length: staged.length });
        // A content evicted earlier whose blocks arrive again (a client reads it) is held again.
        if (hint) index.reactivate(hint.stripe);
      }
    });
    for (const { staged } of batch) {
      volume.usedBytes += staged.length;
      volume.blocks++;
    }
  });
}

/** One group commit per volume, made on its first write; and their totals. */
export class VolumeCommitters {
  private readonly byVolume = new Map<string, GroupCommit<PendingBlock>>();

  constructor(private readonly index: IndexDb) {}

  of(volume: Volume): GroupCommit<PendingBlock> {
    let committer = this.byVolume.get(volume.id);
    if (!committer) {
      committer = volumeCommitter(volume, this.index);
      this.byVolume.set(volume.id, committer);
    }
    return committer;
  }

  /** Batches committed and blocks in them since the store opened (group commit at work). */
  totals(): { batches: number; blocks: number } {
    let batches = 0;
    let blocks = 0;
    for (const c of this.byVolume.values()) {
      batches += c.batches;
      blocks += c.items;
    }
    return { batches, blocks };
  }
}
