/**
 * Blocks read into memory ahead of their readers, counted for the whole node.
 *
 * A reader of local blocks keeps the next block loading while the current one is sent (the
 * overlap every reader needs), and a second one beyond it so that three consecutive blocks,
 * striped over three volumes, are read at once (`LOCAL_READ_AHEAD`). That second block is
 * what many readers cannot all have: with 8 HTTP clients on one node, each holding three
 * 4 MiB blocks, the edge bench's node peaked at 156-175 MiB RSS against the 150 MiB a node
 * serving peers and clients together must stay under. Readers take the blocks past the
 * next one from this budget; when it is spent they read them when they reach them, which
 * costs a lone reader on striped disks nothing and many readers (who keep the volumes busy
 * between them) little: edge bench, 8 clients, at the same throughput: this budget at 8 MiB
 * 133-138 MiB, none at all (one block past the next for everyone) 114-126 MiB
 * (notes/issue-15.md, Session 17).
 */
import { sizeFromEnv } from '../core/sizes.js';

/** 8 MiB: two 4 MiB blocks (eight of 1 MiB) past the next, across all readers: a lone reader still reads three blocks at once. */
export const DEFAULT_READ_AHEAD_BUDGET = 8 * 2 ** 20;

/** The budget the operator asked for (CANOPY_READ_AHEAD, a size; `0`: no reader loads past its next block), else the default. */
export function configuredReadAheadBytes(env: NodeJS.ProcessEnv = process.env): number {
  return sizeFromEnv(env, 'CANOPY_READ_AHEAD', DEFAULT_READ_AHEAD_BUDGET);
}

export class ReadAheadBudget {
  private used = 0;

  constructor(readonly maxBytes = configuredReadAheadBytes()) {}

  /** Takes `bytes` if there is room; false: the reader loads that block when it gets there. */
  tryTake(bytes: number): boolean {
    if (this.used + bytes > this.maxBytes) return false;
    this.used += bytes;
    return true;
  }

  /** Gives back what `tryTake` took (the block became the one being sent, or the read ended). */
  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }

  get usedBytes(): number {
    return this.used;
  }
}
