/**
 * Who gets the first copy of a block from its origin. The origin's upload is the swarm's
 * scarcest link: every block must leave it once, and a block whose only copy went to a
 * downloader on a slow link reaches everyone else at that downloader's pace. Rendezvous
 * hashing designates about one block in N to each downloader, the slow ones included, so
 * with two nodes of eight at a quarter rate the fast ones waited on those blocks (issue 17
 * session 8: fast nodes 1.6-1.8x their own bound at 128 MiB).
 *
 * So the origin declines a block's first copy to a downloader that drains its blocks at
 * under FIRST_COPY_MIN_SHARE of the typical (median) recent pace (`SlotShares.typicalShare`),
 * once per downloader and block, and says so to its downloaders (`seeded` with `declined`):
 * the next member in the block's rendezvous order takes it as if designated to it
 * (`SwarmState.designee`), so a faster member fetches it and a relay copy will exist. The
 * declined downloader takes it from a peer once one has it, and asks the origin again (which
 * then sends it) when no holder has it and no seed sent it lately, as soon as it has had
 * nothing else in flight for LIFT_IDLE_MS, or after DECLINE_RETRY_MS, or at once for a client
 * waiting (`SwarmState.retryDeclined`). Without the notice and the idle lift, two downloaders
 * over loopback (`npm run bench -- distribute`) stalled: the faster took the slower's declined
 * blocks only one per idle pause (block-choice.ts), and the slower waited out the retry: 33 s
 * a round against 4.2 s (session 9). The median, not the best pace: one downloader that
 * drained a block alone on an idle link would make every other look slow. `canopy sim swarm
 * --placement lan`, 10 seeds, fast nodes' worst time over their own bound without the rule /
 * with session 9's / now: 8 nodes with 2 slow, 256 MiB 1.30 / 1.29 / 1.28 (origin egress
 * 1.11 / 1.03 / 1.04); two downloaders, one at a quarter rate, 1.66 / 2.09 / 1.00 (docs/SWARM.md).
 *
 * Only among FIRST_COPY_MIN_WEIGHED downloaders or more: with two, the median pace is one of
 * the two, so "under half the median" only compares one with the other; over loopback that
 * singles out whichever the host's scheduler ran less, and moving its first copies onto the
 * other cost `npm run bench -- distribute` (two downloaders) 1.75x a round (session 10, quiet).
 * A first copy on its way: while a block's first copy is queued or being sent to a downloader
 * that drains fast, another downloader asking the origin for it is declined too (`elsewhere`),
 * without the notice (it is not slow): it takes the block from that downloader, who relays it
 * as it arrives. Two downloaders that asked within a block-time of each other (before the
 * `seeded` notice of the first send reached the second) otherwise both got it from the origin:
 * in `canopy sim swarm --placement lan` those were every copy the origin sent twice (origin
 * egress 1.02-1.06 with 8-32 alike nodes, 1.03 with 2 slow of 8 at 128 MiB; 1.000 with it).
 *
 * Pure: the caller passes `now`.
 */
import { DRAIN_MEMORY_MS } from './upload-slots.js';

/** A downloader draining at under this share of the typical (median) recent pace gets no first copies. */
export const FIRST_COPY_MIN_SHARE = 0.5;
/**
 * A downloader declined a block asks the origin for it again after this long if no other
 * holder has it by then (shorter, 10 s, raised the origin's egress back to 1.08 in the
 * simulator: the fast nodes take others' designated blocks only once their own are done).
 */
export const DECLINE_RETRY_MS = DRAIN_MEMORY_MS;
/**
 * A declined downloader that has had nothing in flight this long asks the origin again for a
 * declined block nobody took: waiting longer would only idle it (as long as a helper waits
 * before it takes others' blocks from a seed, block-choice.ts).
 */
export const LIFT_IDLE_MS = 1_500;
/**
 * Downloaders that must have asked for first copies within DRAIN_MEMORY_MS before any is
 * declined: a median of fewer paces is not a typical pace (above).
 */
export const FIRST_COPY_MIN_WEIGHED = 3;
/** How long the origin remembers a decline: longer than the retry, so the retry is answered. */
const DECLINE_MEMORY_MS = 2 * DECLINE_RETRY_MS;

/** The origin's side: whether to decline a request (`block` names content and index). */
export class FirstCopyRule {
  /** `peer block` → when declined; insertion order is time order. */
  private readonly declined = new Map<string, number>();
  /** Downloader → when it last asked for a first copy; insertion order is time order. */
  private readonly askers = new Map<string, number>();
  /** Block → the fast downloader its first copy is queued or being sent to (`sending`). */
  private readonly onItsWay = new Map<string, string>();

  constructor(
    private readonly minShare = FIRST_COPY_MIN_SHARE,
    private readonly minWeighed = FIRST_COPY_MIN_WEIGHED,
  ) {}

  /**
   * `firstCopy`: no copy of the block has left this origin yet; `share`: the downloader's
   * drain pace over the typical (median) recent one (1 when unknown). Every first-copy request
   * counts its downloader among those weighed, declined or not.
   */
  declines(peer: string | undefined, block: string, firstCopy: boolean, share: number, now: number): boolean {
    if (!firstCopy || peer === undefined) return false;
    this.askers.delete(peer);
    this.askers.set(peer, now);
    if (share >= this.minShare) return false;
    this.forget(now);
    if (this.askers.size < this.minWeighed) return false;
    const key = `${peer} ${block}`;
    if (this.declined.has(key)) return false;
    this.declined.set(key, now);
    return true;
  }

  /**
   * The origin queued the first copy of `block` for `peer`, whose drain pace over the typical
   * one is `share`: while it is on its way (until `done`), others are declined it (`elsewhere`)
   * if `peer` drains fast. A slow drain's copy would reach them at its pace: they get their own.
   */
  sending(peer: string | undefined, block: string, share: number): void {
    if (peer !== undefined && this.minShare > 0 && share >= this.minShare && !this.onItsWay.has(block)) this.onItsWay.set(block, peer);
  }

  /** The copy of `block` to `peer` has been sent, or given up. */
  done(peer: string | undefined, block: string): void {
    if (peer !== undefined && this.onItsWay.get(block) === peer) this.onItsWay.delete(block);
  }

  /**
   * The whole rule for one request: `slow` (the downloader drains slowly: `declines`), or
   * `elsewhere` (the block's first copy is on its way to a fast downloader: `elsewhere`), or
   * false. The node's upload limiter and the simulator both ask this, so they cannot drift.
   */
  verdict(peer: string | undefined, block: string, firstCopy: boolean, share: number, now: number): 'slow' | 'elsewhere' | false {
    if (this.declines(peer, block, firstCopy, share, now)) return 'slow';
    return this.elsewhere(peer, block, now) ? 'elsewhere' : false;
  }

  /** Whether to decline `block` to `peer` because its first copy is on its way to another downloader (`sending`). */
  elsewhere(peer: string | undefined, block: string, now: number): boolean {
    const to = this.onItsWay.get(block);
    if (to === undefined || peer === undefined || to === peer) return false;
    this.forget(now);
    return this.askers.size >= this.minWeighed;
  }

  private forget(now: number): void {
    for (const [key, at] of this.declined) {
      if (now - at < DECLINE_MEMORY_MS) break;
      this.declined.delete(key);
    }
    // A downloader that has asked nothing for as long as a drain pace is remembered no longer counts.
    for (const [peer, at] of this.askers) {
      if (now - at < DRAIN_MEMORY_MS) break;
      this.askers.delete(peer);
    }
  }
}
