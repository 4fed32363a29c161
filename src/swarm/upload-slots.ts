/**
 * How many blocks an uploader sends at once. A slot is meant as a share of the uploader's
 * link, but counted as a number it is not one: a downloader that drains a block at a quarter
 * of the pace the others do (its own link is slow, or the block is relayed from a slow
 * source) holds a whole slot and uses a quarter of it. With four slots and two slow
 * downloaders asking twice each, the origin sent at 40-60 % of its link while fast nodes
 * waited, and they finished at 2.1-2.3x their own bound (`canopy sim swarm --slow 2`, issue
 * 17 session 7). So each upload in progress is weighed by its downloader's recent drain pace
 * over the best recent pace, and one more is sent while the weights leave room for it, up to
 * twice the slots. Pure: the caller passes `now`; `UploadLimiter` and the simulator's links
 * share it, so the simulator runs the node's policy.
 */

/** A drain pace older than this no longer describes its downloader. */
export const DRAIN_MEMORY_MS = 30_000;
/** The least an upload in progress counts for: a very slow one still takes some of the link. */
const MIN_WEIGHT = 0.125;
const EWMA = 0.5;
/**
 * More downloaders than this asked within DRAIN_MEMORY_MS: one request fewer may wait for a
 * slot (`waitingLimit`). Among many, an asker answered busy has many other holders to ask,
 * and a request waiting here behind a block or two leaves its downloader's link part idle
 * for those block-times (issue 17 session 12: at 1,000 world nodes a third of the hosts
 * whose download link was under 95 % busy had 1-2 requests waiting at an uploader). Among
 * few it has few others, and waiting is the better bargain: `canopy sim swarm --placement
 * lan`, 8 nodes with 2 slow, one waiter everywhere put the fast nodes at 1.23 of their bound
 * against 1.17 with two.
 */
export const MANY_ASKERS = 16;

export class SlotShares {
  /** Downloader → its recent pace for one block (bytes/s, grant to last byte) and when measured. */
  private readonly drains = new Map<string, { rate: number; at: number }>();
  /** Downloader → when it last asked for an upload. */
  private readonly askers = new Map<string, number>();

  constructor(
    readonly slots: number,
    readonly maxActive = 2 * slots,
  ) {}

  /** `peer` asked for an upload (admitted or not). */
  asked(peer: string | undefined, now: number): void {
    if (peer !== undefined) this.askers.set(peer, now);
  }

  /**
   * How many requests may wait for a slot: `maxWaiting`, one fewer while more than
   * MANY_ASKERS downloaders asked within DRAIN_MEMORY_MS (never under one).
   */
  waitingLimit(maxWaiting: number, now: number): number {
    if (maxWaiting <= 1 || this.askers.size <= MANY_ASKERS) return maxWaiting;
    for (const [peer, at] of this.askers) if (now - at >= DRAIN_MEMORY_MS) this.askers.delete(peer);
    return this.askers.size > MANY_ASKERS ? maxWaiting - 1 : maxWaiting;
  }

  /** One upload to `peer` ended: `bytes` in `ms` from its slot's grant. */
  ended(peer: string | undefined, bytes: number, ms: number, now: number): void {
    if (peer === undefined || bytes <= 0) return;
    const sample = (bytes / Math.max(1, ms)) * 1000;
    const prev = this.drains.get(peer);
    const rate = prev && now - prev.at < DRAIN_MEMORY_MS ? prev.rate * (1 - EWMA) + sample * EWMA : sample;
    this.drains.set(peer, { rate, at: now });
  }

  /**
   * The share of a slot an upload to `peer` takes: its pace over the best recent pace.
   * Unknown downloaders count as a whole slot, as before anything is measured.
   */
  weight(peer: string | undefined, now: number, best = this.best(now)): number {
    const d = peer === undefined ? undefined : this.drains.get(peer);
    if (!d || best <= 0 || now - d.at >= DRAIN_MEMORY_MS) return 1;
    return Math.min(1, Math.max(MIN_WEIGHT, d.rate / best));
  }

  /**
   * `peer`'s recent drain pace over the median of the downloaders' recent paces (1 when not
   * measured): how it compares with a typical downloader, not with the one that happened to
   * drain a block alone on an idle link (first-copy.ts).
   */
  typicalShare(peer: string | undefined, now: number): number {
    const d = peer === undefined ? undefined : this.drains.get(peer);
    if (!d || now - d.at >= DRAIN_MEMORY_MS) return 1;
    this.best(now); // forgets paces past their memory
    const paces = [...this.drains.values()].map((x) => x.rate).sort((a, b) => a - b);
    const median = paces[Math.floor(paces.length / 2)]!;
    return median > 0 ? d.rate / median : 1;
  }

  /** Whether an upload to `next` may start beside those in progress (`active`: their downloaders). */
  admits(active: readonly (string | undefined)[], next: string | undefined, now: number): boolean {
    if (active.length < this.slots) return true;
    if (active.length >= this.maxActive) return false;
    const best = this.best(now);
    if (best <= 0) return false;
    let used = this.weight(next, now, best);
    for (const peer of active) used += this.weight(peer, now, best);
    return used <= this.slots + 1e-9;
  }

  /** The best recent drain pace (the pace of a whole slot); forgets paces past their memory. */
  private best(now: number): number {
    let best = 0;
    for (const [peer, d] of this.drains) {
      if (now - d.at >= DRAIN_MEMORY_MS) this.drains.delete(peer);
      else best = Math.max(best, d.rate);
    }
    return best;
  }
}
