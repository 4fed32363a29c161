/**
 * Announcements by flooding over the tree's edges: the origin sends to its neighbours,
 * each node forwards to its neighbours except the one it heard from, duplicates are
 * dropped by id, and nobody ever sends a flood to its origin.
 *
 * Floods survive interior nodes dying mid-flood in two ways: each hop is acknowledged and
 * resent until acknowledged or the neighbour is declared dead (Retransmitter; covers lost
 * messages); and
 * when two nodes become parent and child (an orphan re-attaching), they exchange the ids
 * of their recent floods and send each other what the other lacks (covers the floods the
 * dead node never forwarded, in both directions).
 */
import type { FloodMessage, NodeRef } from './flood-messages.js';

export interface FloodContext {
  readonly selfId: string;
  neighbours(): Iterable<NodeRef>;
  send(to: NodeRef, msg: FloodMessage): void;
  /** Sends and keeps resending until the neighbour acknowledges `id`. */
  sendReliably(to: NodeRef, id: string, msg: FloodMessage, now: number): void;
  deliver(id: string, origin: string, payload: unknown): void;
}

export interface FloodOptions {
  /** How many flood ids are remembered for de-duplication. */
  seenLimit: number;
  /** How many recent floods are kept (with payloads) to resend to a new neighbour. */
  recentLimit: number;
}

export interface FloodStats {
  sent: number;
  duplicates: number;
  originEchoes: number;
}

export class Flooder {
  readonly stats: FloodStats = { sent: 0, duplicates: 0, originEchoes: 0 };
  private readonly seen = new Set<string>();
  private readonly recent = new Map<string, { origin: string; payload: unknown }>();

  constructor(
    private readonly ctx: FloodContext,
    private readonly options: FloodOptions,
  ) {}

  has(id: string): boolean {
    return this.seen.has(id);
  }

  /** Starts a flood from this node. Returns false if that id was already flooded. */
  start(id: string, payload: unknown, now: number): boolean {
    if (!this.remember(id, this.ctx.selfId, payload)) return false;
    for (const n of this.ctx.neighbours()) this.sendFlood(n, id, this.ctx.selfId, payload, now);
    return true;
  }

  onFlood(from: NodeRef, msg: Extract<FloodMessage, { k: 'flood' }>, now: number): void {
    this.ctx.send(from, { k: 'ack', id: msg.id });
    if (msg.origin === this.ctx.selfId) this.stats.originEchoes++;
    if (!this.remember(msg.id, msg.origin, msg.payload)) {
      this.stats.duplicates++;
      return;
    }
    this.ctx.deliver(msg.id, msg.origin, msg.payload);
    for (const n of this.ctx.neighbours()) {
      if (n.id !== from.id && n.id !== msg.origin) this.sendFlood(n, msg.id, msg.origin, msg.payload, now);
    }
  }

  /** Ids of the recent floods, for the exchange with a new neighbour. */
  digest(): string[] {
    return [...this.recent.keys()];
  }

  /** Sends a new neighbour the recent floods its digest lacks. */
  sync(to: NodeRef, theirs: readonly string[], now: number): void {
    const have = new Set(theirs);
    for (const [id, f] of this.recent) {
      if (!have.has(id) && f.origin !== to.id) this.sendFlood(to, id, f.origin, f.payload, now);
    }
  }

  private sendFlood(to: NodeRef, id: string, origin: string, payload: unknown, now: number): void {
    this.stats.sent++;
    this.ctx.sendReliably(to, id, { k: 'flood', id, origin, payload }, now);
  }

  private remember(id: string, origin: string, payload: unknown): boolean {
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (this.seen.size > this.options.seenLimit) this.seen.delete(this.seen.values().next().value!);
    this.recent.set(id, { origin, payload });
    if (this.recent.size > this.options.recentLimit) this.recent.delete(this.recent.keys().next().value!);
    return true;
  }
}
