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
 * once per downloader and block: the downloader takes that block from a peer once one has it
 * (`SwarmState.decline`), and asks the origin again only if no other holder appears; asked
 * again, the origin sends it, so a downloader with nobody else to turn to (an urgent read,
 * the fast nodes gone) still gets it. The median, not the best pace: one downloader that
 * drained a block alone on an idle link would make every other look slow. `canopy sim swarm
 * --nodes 8 --slow 2 --placement lan`, 20 seeds: fast nodes 1.685 -> 1.571x their own bound
 * at 128 MiB, 1.328 -> 1.255x at 256 MiB with the origin's egress 1.118 -> 1.028; alike nodes
 * unchanged at 8, 16 and 32 (the best pace instead of the median, at 0.5, declined some alike
 * downloaders: 32 nodes' egress 1.119 -> 1.141). Pure: the caller passes `now`.
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
/** How long the origin remembers a decline: longer than the retry, so the retry is answered. */
const DECLINE_MEMORY_MS = 2 * DECLINE_RETRY_MS;

/** The origin's side: whether to decline a request (`block` names content and index). */
export class FirstCopyRule {
  /** `peer block` → when declined; insertion order is time order. */
  private readonly declined = new Map<string, number>();

  constructor(private readonly minShare = FIRST_COPY_MIN_SHARE) {}

  /**
   * `firstCopy`: no copy of the block has left this origin yet; `share`: the downloader's
   * drain pace over the best recent one (1 when unknown).
   */
  declines(peer: string | undefined, block: string, firstCopy: boolean, share: number, now: number): boolean {
    if (!firstCopy || peer === undefined || share >= this.minShare) return false;
    this.forget(now);
    const key = `${peer} ${block}`;
    if (this.declined.has(key)) return false;
    this.declined.set(key, now);
    return true;
  }

  private forget(now: number): void {
    for (const [key, at] of this.declined) {
      if (now - at < DECLINE_MEMORY_MS) return;
      this.declined.delete(key);
    }
  }
}
