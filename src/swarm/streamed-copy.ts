/**
 * One copy of a block arriving in `part` frames, kept as it comes: each piece goes to the
 * store's intake (hashed now, written at its offset, its buffer given back once written:
 * store/block-intake.ts) and, for the copy that feeds the block's relay, to the relay feed,
 * which reads what is written from the temp file from then on (relay-feed.ts `spill`). The
 * reply itself holds none of the pieces (wire/peer-connection.ts `takePart`). A swarm member
 * held every piece of the five or six blocks arriving at once until each was whole: most of
 * its block pool at its peak (notes/issue-15.md, Session 19).
 */
import type { Lease } from '../core/block-pool.js';
import { CanopyError } from '../core/errors.js';
import type { BlockIntake } from '../store/block-intake.js';
import type { TakePart } from '../wire/peer-connection.js';
import type { RelayFeed } from './relay-feed.js';

/** The pooled buffers behind a piece (wire/frame-copier.ts). */
export type Leases = readonly Lease[];

/** Blocks from this size arrive through an intake; smaller ones are kept whole, as before. */
export const STREAM_MIN_BYTES = 1024 * 1024;

export class StreamedCopy {
  private intake: BlockIntake | undefined;
  private feed: RelayFeed | undefined;
  private failure: unknown;

  /**
   * `openIntake` at the first piece; `feedOf` passes a piece to the block's relay feed and
   * returns the feed if this copy feeds it (the feed takes its own share of the buffers).
   */
  constructor(
    private readonly openIntake: () => BlockIntake,
    private readonly feedOf: (parts: readonly Buffer[], leases: readonly Lease[]) => RelayFeed | undefined,
  ) {}

  /** Takes a piece from the wire: to the intake and the relay, then the wire's share of its buffers goes back. */
  readonly take: TakePart = (parts, leases) => {
    try {
      if (this.failure === undefined) {
        const intake = (this.intake ??= this.start());
        // The frame copier gives each part its own pooled buffer; plain buffers have none.
        const paired = leases.length === parts.length;
        parts.forEach((part, i) => intake.push(part, paired ? leases[i] : undefined));
        this.feed = this.feedOf(parts, leases) ?? this.feed;
      }
    } catch (err) {
      this.failure = err;
    } finally {
      for (const l of leases) l.release();
    }
  };

  /** Bytes received so far. */
  get length(): number {
    return this.intake?.received ?? 0;
  }

  /** The last piece is in: verified and stored (ERR_BLOCK_HASH_MISMATCH if the bytes are not the block's). */
  async keep(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (!this.intake) throw new CanopyError('ERR_BLOCK_HASH_MISMATCH', 'the block arrived empty');
    await this.intake.finish();
  }

  /** Not kept (a duplicate, a failed request): nothing of it stays. Safe after `keep`. */
  async drop(): Promise<void> {
    await this.intake?.abort();
  }

  private start(): BlockIntake {
    const intake = this.openIntake();
    intake.onWritten = (written) => this.feed?.spill(written, (from, to) => intake.read(from, to));
    return intake;
  }
}
