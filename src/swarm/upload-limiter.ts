/**
 * Paces what a node uploads to peers: `concurrency` blocks are read and sent at once, more
 * (up to twice as many) only while downloaders that drain slowly leave part of those slots
 * unused (`SlotShares`), so memory stays a few blocks whatever the number of downloaders;
 * the node's upload cap is a token bucket, and the load it reports to downloaders (active
 * uploads, queued bytes, recent rate, cap) comes from here.
 */
import { CanopyError } from '../core/errors.js';
import { FIRST_COPY_MIN_SHARE, FirstCopyRule } from './first-copy.js';
import type { PeerLoad } from './peer-state.js';
import { TokenBucket } from './token-bucket.js';
import { SlotShares } from './upload-slots.js';

const RATE_WINDOW_MS = 2_000;
/**
 * Blocks read and sent at once. Four, not six, since blocks are relayed while still
 * arriving: fewer blocks sharing an uploader's link each get there sooner, so they are
 * relayed on sooner (`canopy sim swarm`, 3 seeds: 16 nodes 1.31-1.37x the bound with 6,
 * 1.25-1.29x with 4; 32 nodes 1.35-1.42x -> 1.28-1.32x; 8 nodes alike), and a node holds
 * fewer blocks in memory for its uploads.
 */
export const UPLOAD_SLOTS = 4;
/**
 * Requests that may wait for a slot; more are answered ERR_BUSY at once. A long queue at one
 * holder (every neighbour asking the first holder of a rare block) makes each of them wait
 * many block-times while other holders sit idle; a busy answer sends them elsewhere.
 * Chosen with `canopy sim swarm` (docs/SWARM.md). One fewer while many downloaders ask
 * (`SlotShares.waitingLimit`).
 */
export const MAX_WAITING = 2;
/**
 * The first-copy rule's threshold in nodes (first-copy.ts). It was off (0) at the end of
 * session 9: with two downloaders over loopback (`npm run bench -- distribute --size 256MiB`)
 * the slower was declined blocks the other took only one per idle pause, and both waited out
 * the 30 s retry (33 s a round against 4.2 s). The origin now says whom it declined, the next
 * member in the block's order fetches it, and a declined downloader with nothing else to do
 * asks again after LIFT_IDLE_MS (session 10, notes/issue-17.md): no more stall, but still off.
 * Measured in session 10: `distribute` took 1.3x as long a round with the rule (median 7.3 s
 * against 5.5, 13 rounds each way: on one host the "slow" downloader is only the one the
 * scheduler ran less, and the faster then fetches nearly every block from the origin), while
 * on a quiet machine it took the fast nodes of 8 (2 slow, netns) from 1.66 to 1.24 of their
 * bound. With two downloaders the median pace is one of the two, so since session 11 the rule
 * declines only among three or more downloaders (FIRST_COPY_MIN_WEIGHED) and is on in nodes
 * again: quiet, `distribute` rounds 3.4-5.0 s (6.0-7.0 with the old rule), and in netns with
 * 2 slow nodes of 8 the fast nodes' gain was within the spread in two runs (notes/issue-17.md,
 * session 11). 0 here turns it off (the simulator keeps it either way:
 * `canopy sim swarm --no-first-copy-rule` compares).
 */
export const NODE_FIRST_COPY_MIN_SHARE = FIRST_COPY_MIN_SHARE;

interface Waiter {
  peer: string | undefined;
  grant: () => void;
}

export class UploadLimiter {
  /** Uploads in progress: the downloader each goes to (what `SlotShares` weighs). */
  private readonly active: (string | undefined)[] = [];
  private queuedBytes = 0;
  private readonly waiters: Waiter[] = [];
  private readonly shares: SlotShares;
  private readonly firstCopies: FirstCopyRule;
  private readonly bucket: TokenBucket;
  private windowStart = performance.now();
  private windowBytes = 0;
  private lastRate = 0;

  constructor(
    cap: number,
    private readonly concurrency = UPLOAD_SLOTS,
    private readonly maxWaiting = MAX_WAITING,
    /** The clock drain paces are measured with (tests pass their own). */
    private readonly clock: () => number = () => performance.now(),
    /** The first-copy rule's threshold (first-copy.ts); 0 never declines. */
    firstCopyMinShare = NODE_FIRST_COPY_MIN_SHARE,
  ) {
    this.firstCopies = new FirstCopyRule(firstCopyMinShare);
    this.bucket = new TokenBucket(cap);
    this.shares = new SlotShares(concurrency);
  }

  /** Bytes per second, 0 = none; changed at run time by a reload. */
  get cap(): number {
    return this.bucket.rate;
  }

  set cap(rate: number) {
    this.bucket.setRate(rate);
  }

  /**
   * Waits for an upload slot and for `bytes` of the cap; returns the function that frees the
   * slot. `peer` is the downloader (its drain pace weighs its slot); aborting `signal` (the
   * downloader cancelled) gives up the wait and the slot. Free it with `measured` false when
   * the block was relayed while still arriving: it went at its source's pace, not the peer's.
   * `firstCopyOf` names the block (content and index) when this is its first copy from a
   * content's origin: others are declined it while it is on its way (`declinesFirstCopy`).
   */
  async acquire(bytes: number, signal?: AbortSignal, peer?: string, firstCopyOf?: string): Promise<(measured?: boolean) => void> {
    const now = this.clock();
    this.shares.asked(peer, now);
    const admitted = this.waiters.length === 0 && this.shares.admits(this.active, peer, now);
    if (!admitted && this.waiters.length >= this.shares.waitingLimit(this.maxWaiting, now)) throw new CanopyError('ERR_BUSY', `${this.active.length} blocks are being sent and ${this.waiters.length} wait: ask another holder, or again shortly`);
    if (firstCopyOf !== undefined) this.firstCopies.sending(peer, firstCopyOf, this.shares.typicalShare(peer, now));
    const release = await this.slot(admitted, bytes, signal, peer).catch((err: unknown) => {
      if (firstCopyOf !== undefined) this.firstCopies.done(peer, firstCopyOf);
      throw err;
    });
    return (measured = true) => {
      if (firstCopyOf !== undefined) this.firstCopies.done(peer, firstCopyOf);
      release(measured);
    };
  }

  /** `acquire` past the busy check: the slot, then the cap's bytes. */
  private async slot(admitted: boolean, bytes: number, signal: AbortSignal | undefined, peer: string | undefined): Promise<(measured?: boolean) => void> {
    this.queuedBytes += bytes;
    let holding = false;
    let grantedAt = 0;
    try {
      if (admitted) this.active.push(peer);
      else await this.waitForSlot(peer, signal);
      holding = true;
      grantedAt = this.clock();
      await this.bucket.take(bytes, signal);
    } catch (err) {
      if (holding) this.release(peer);
      throw err;
    } finally {
      this.queuedBytes -= bytes;
    }
    this.count(bytes);
    let freed = false;
    return (measured = true) => {
      if (freed) return;
      freed = true;
      const now = this.clock();
      if (measured) this.shares.ended(peer, bytes, now - grantedAt, now);
      this.release(peer);
    };
  }

  /**
   * Whether the origin of a content declines to send `block` (content and index) to `peer`
   * now: its first copy (`firstCopy`: none has left here yet) goes to a downloader that drains
   * fast, measured here (`slow`: told to the downloaders), or is on its way to another
   * downloader that drains fast (`elsewhere`: `peer` takes it from there) (first-copy.ts).
   */
  declinesFirstCopy(peer: string | undefined, block: string, firstCopy: boolean): 'slow' | 'elsewhere' | false {
    const now = this.clock();
    const share = firstCopy ? this.shares.typicalShare(peer, now) : 1;
    return this.firstCopies.verdict(peer, block, firstCopy, share, now);
  }

  private waitForSlot(peer: string | undefined, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal!.reason as Error);
      };
      const waiter: Waiter = {
        peer,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Frees the slot of an upload to `peer`, then starts waiters, in order, while the slots have room. */
  private release(peer: string | undefined): void {
    const i = this.active.indexOf(peer);
    if (i >= 0) this.active.splice(i, 1);
    const now = this.clock();
    while (this.waiters.length > 0 && this.shares.admits(this.active, this.waiters[0]!.peer, now)) {
      const next = this.waiters.shift()!;
      this.active.push(next.peer);
      next.grant();
    }
  }

  load(): PeerLoad {
    this.count(0);
    return { uploads: this.active.length, queuedBytes: this.queuedBytes, rate: Math.round(this.lastRate), cap: this.cap };
  }

  private count(bytes: number): void {
    const t = performance.now();
    if (t - this.windowStart >= RATE_WINDOW_MS) {
      this.lastRate = (this.windowBytes * 1000) / (t - this.windowStart);
      this.windowStart = t;
      this.windowBytes = 0;
    }
    this.windowBytes += bytes;
  }
}
