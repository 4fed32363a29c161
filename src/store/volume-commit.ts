/**
 * The group commit of one volume (group-commit.ts): a batch of staged blocks is made
 * durable and visible on the volume (Volume.commit), then, and only then, listed in the
 * index in one transaction, and counted in the volume's usage.
 *
 * An ingest's blocks (deferrable: only its final flush waits for them) are held for company
 * while other blocks are still being staged on the volume, up to GATHER blocks or
 * LINGER_MS: each commit costs device flushes (on this project's VM a data sync or a
 * directory sync is 3-8 ms, a journal commit with a cache flush each), and an ingest that
 * committed whatever had arrived made batches of ~4-12 blocks of 1 MiB. A download's block,
 * whose put waits for it, still commits at once (notes/issue-15.md Session 7).
 */
import { DirSyncs } from './dir-sync.js';
import { GroupCommit } from './group-commit.js';
import type { IndexDb } from './index-db.js';
import type { StripeHint } from './store-types.js';
import { fsyncDir, type StagedBlock, type Volume } from './volume.js';

export interface PendingBlock {
  staged: StagedBlock;
  hint: StripeHint | undefined;
  /** Nobody waits for this block alone (an ingest's): its directory sync may be put off (dir-sync.ts). */
  deferred: boolean;
}

/** Blocks a held commit gathers at most before it runs anyway (the commit takes up to 64). */
export const GATHER = 32;
/** How long a held commit waits at most for the blocks still being staged. */
export const LINGER_MS = 200;

/** `coming()`: whether more blocks are on their way to the volume (being staged, or a writer still writing). */
function volumeCommitter(volume: Volume, index: IndexDb, coming: () => boolean, dirSyncs: DirSyncs): GroupCommit<PendingBlock> {
  const hold = { hold: (queued: number) => queued < GATHER && coming(), lingerMs: LINGER_MS };
  return new GroupCommit<PendingBlock>(async (batch) => {
    // A batch with a block someone waits for syncs its directories now; an ingest's alone leaves them to its flush.
    const now = batch.some((b) => !b.deferred);
    const dirs = await volume.commit(batch.map((b) => b.staged), now);
    if (!now) dirSyncs.add(volume, dirs, batch.map((b) => b.staged.hash));
    index.transaction(() => {
      for (const { staged, hint } of batch) {
        index.putBlock({ hash: staged.hash, volume: volume.id, length: staged.length, pack: staged.packed?.id, offset: staged.packed?.offset });
        // A content evicted earlier whose blocks arrive again (a client reads it) is held again.
        if (hint) index.reactivate(hint.stripe);
      }
    });
    for (const { staged } of batch) {
      volume.usedBytes += staged.length;
      volume.blocks++;
    }
  }, 64, hold);
}

/** A writer of deferred blocks: `done` when it has put its last block, `durable` once all its commits settled. */
export interface StoreWriter {
  done(): void;
  durable(): Promise<void>;
}

/** One group commit per volume, made on its first write; and their totals. */
export class VolumeCommitters {
  private readonly byVolume = new Map<string, GroupCommit<PendingBlock>>();
  /** Blocks being staged (written to temp files) per volume: the ones a held commit waits for. */
  private readonly stagingCount = new Map<string, number>();
  /**
   * Writers that said more blocks will follow (an ingest, an upload, until it flushes). A
   * small block is staged in one short trip (small-write.ts), so between two of them often
   * nothing is being staged and the staging count alone would commit each one by itself.
   */
  private writers = 0;
  /** Directory syncs of deferred blocks, put off until a writer flushes or someone needs the block. */
  readonly dirSyncs = new DirSyncs(fsyncDir);

  constructor(private readonly index: IndexDb) {}

  of(volume: Volume): GroupCommit<PendingBlock> {
    let committer = this.byVolume.get(volume.id);
    if (!committer) {
      committer = volumeCommitter(volume, this.index, () => this.writers > 0 || (this.stagingCount.get(volume.id) ?? 0) > 0, this.dirSyncs);
      this.byVolume.set(volume.id, committer);
    }
    return committer;
  }

  /** Runs `stage` (a block going to a temp file on `volume`) counted, so a held commit knows more is coming, and when it is done. */
  async staging<R>(volume: Volume, stage: () => Promise<R>): Promise<R> {
    this.stagingCount.set(volume.id, (this.stagingCount.get(volume.id) ?? 0) + 1);
    try {
      return await stage();
    } finally {
      this.stagingCount.set(volume.id, this.stagingCount.get(volume.id)! - 1);
      this.of(volume).kick();
    }
  }

  /**
   * A writer starts: held commits wait for its blocks (up to LINGER_MS) until it calls
   * `done`; `durable` then syncs the directories its deferred blocks were renamed into.
   */
  openWriter(): StoreWriter {
    this.writers++;
    let open = true;
    return {
      done: () => {
        if (!open) return;
        open = false;
        this.writers--;
        for (const c of this.byVolume.values()) c.kick();
      },
      durable: () => this.dirSyncs.syncAll(),
    };
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
