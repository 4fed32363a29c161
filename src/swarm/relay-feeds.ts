/**
 * The relay feeds of the blocks this node is receiving, per content (relay-feed.ts is one
 * block's feed).
 */
import type { BlockBytes } from '../core/block-bytes.js';
import { RelayFeed, type StoredRest } from './relay-feed.js';

/**
 * The blocks this node is receiving and may relay, per content. A block whose relay failed
 * is remembered as lost until it is held, so a reader that asks for it afterwards is told
 * `ERR_RELAY_ABORTED` (ask again later) rather than "not found" (never ask again).
 */
export class RelayFeeds {
  private readonly feeds = new Map<string, Map<number, RelayFeed>>();
  private readonly lost = new Map<string, Set<number>>();

  /** The feed of a block now arriving, created for its first piece; undefined if another copy already feeds it. */
  open(contentId: string, index: number, length: number): RelayFeed | undefined {
    let byIndex = this.feeds.get(contentId);
    if (!byIndex) this.feeds.set(contentId, (byIndex = new Map()));
    if (byIndex.has(index)) return undefined;
    const feed = new RelayFeed(length);
    byIndex.set(index, feed);
    this.lost.get(contentId)?.delete(index);
    return feed;
  }

  get(contentId: string, index: number): RelayFeed | undefined {
    return this.feeds.get(contentId)?.get(index);
  }

  isLost(contentId: string, index: number): boolean {
    return this.lost.get(contentId)?.has(index) ?? false;
  }

  /** The block is verified and stored: readers finish from `rest` (or `whole`), new readers read the store. */
  complete(contentId: string, index: number, whole: BlockBytes, rest?: StoredRest): void {
    this.get(contentId, index)?.complete(whole, rest);
    this.remove(contentId, index);
    this.lost.get(contentId)?.delete(index);
  }

  abort(contentId: string, index: number, why: string): void {
    const feed = this.get(contentId, index);
    if (!feed) return;
    feed.abort(why);
    this.remove(contentId, index);
    let set = this.lost.get(contentId);
    if (!set) this.lost.set(contentId, (set = new Set()));
    set.add(index);
  }

  /** The content's download ended: feeds still open stop, nothing is remembered. */
  drop(contentId: string, why: string): void {
    for (const feed of this.feeds.get(contentId)?.values() ?? []) feed.abort(why);
    this.feeds.delete(contentId);
    this.lost.delete(contentId);
  }

  private remove(contentId: string, index: number): void {
    const byIndex = this.feeds.get(contentId);
    byIndex?.delete(index);
    if (byIndex?.size === 0) this.feeds.delete(contentId);
  }
}
