/**
 * The peers that asked to hear about a content (with `interest`) and the one-way messages
 * that keep them current: `have` when this node stores a new block of it, `seeded` when this
 * node, holding all of it, sends a block to someone for the first time. A node still
 * downloading thus serves and advertises what it has, and downloaders learn where blocks
 * will soon be.
 */
import type { PeerConnection } from '../wire/peer-connection.js';

export class HaveBroadcaster {
  private readonly subscribers = new Map<string, Set<PeerConnection>>();
  private readonly seededSent = new Map<string, Set<number>>();
  /** `contentId/index` → the subscribers told it is arriving (`have` with `relay`): the `have` once it is held is not repeated to them. */
  private readonly relayTold = new Map<string, Set<PeerConnection>>();
  /** The contents each connection listens to: one `close` listener per connection, whatever their number. */
  private readonly byConn = new Map<PeerConnection, Set<string>>();

  subscribe(contentId: string, conn: PeerConnection): void {
    let set = this.subscribers.get(contentId);
    if (!set) this.subscribers.set(contentId, (set = new Set()));
    if (set.has(conn)) return;
    set.add(conn);
    let contents = this.byConn.get(conn);
    if (!contents) {
      this.byConn.set(conn, (contents = new Set()));
      conn.once('close', () => this.unsubscribeAll(conn));
    }
    contents.add(contentId);
  }

  /** A content is gone (withdrawn, evicted): nobody listens to it any more. */
  forget(contentId: string): void {
    for (const conn of this.subscribers.get(contentId) ?? []) this.byConn.get(conn)?.delete(contentId);
    this.subscribers.delete(contentId);
    this.seededSent.delete(contentId);
    for (const key of [...this.relayTold.keys()]) if (key.startsWith(`${contentId}/`)) this.relayTold.delete(key);
  }

  private unsubscribeAll(conn: PeerConnection): void {
    for (const contentId of this.byConn.get(conn) ?? []) {
      const set = this.subscribers.get(contentId);
      set?.delete(conn);
      if (set?.size === 0) this.subscribers.delete(contentId);
    }
    this.byConn.delete(conn);
  }

  /** Stored: told to every subscriber not already told it was arriving (to them the two mean the same: ask me). */
  have(contentId: string, index: number): void {
    const key = `${contentId}/${index}`;
    const told = this.relayTold.get(key);
    this.relayTold.delete(key);
    this.send(contentId, 'have', index, false, told);
  }

  /** A block started arriving here and may be asked for: it is relayed as it comes (relay-feed.ts). */
  relaying(contentId: string, index: number): void {
    this.relayTold.set(`${contentId}/${index}`, new Set(this.subscribers.get(contentId)));
    this.send(contentId, 'have', index, true);
  }

  /** Its relay failed: those told may have forgotten it, so the `have` once it is held goes to everyone. */
  relayLost(contentId: string, index: number): void {
    this.relayTold.delete(`${contentId}/${index}`);
  }

  /** Whether this complete holder has sent the block to anyone yet (`sent`). */
  hasSent(contentId: string, index: number): boolean {
    return this.seededSent.get(contentId)?.has(index) ?? false;
  }

  /** Called when a complete holder sends a block; tells subscribers the first time only. */
  sent(contentId: string, index: number): void {
    let sent = this.seededSent.get(contentId);
    if (!sent) this.seededSent.set(contentId, (sent = new Set()));
    if (sent.has(index)) return;
    sent.add(index);
    this.send(contentId, 'seeded', index);
  }

  /**
   * The origin declined the block's first copy to `member`, a slow drain (first-copy.ts): told
   * to every subscriber (`seeded` with `declined`), so the next member in the block's
   * rendezvous order fetches it. Nodes that predate it read a plain `seeded`: they leave the
   * block to the seed's other downloaders for a while, then take it as stuck.
   */
  declined(contentId: string, index: number, member: string): void {
    this.send(contentId, 'seeded', index, false, undefined, member);
  }

  private send(contentId: string, type: 'have' | 'seeded', index: number, relay = false, skip?: Set<PeerConnection>, declined?: string): void {
    const body = relay ? { contentId, index, relay } : declined !== undefined ? { contentId, index, declined } : { contentId, index };
    for (const conn of this.subscribers.get(contentId) ?? []) {
      if (!conn.isClosed && !skip?.has(conn)) void conn.notify(type, body).catch(() => undefined);
    }
  }
}
