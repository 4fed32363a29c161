/**
 * Hop-by-hop reliability for floods and routed messages: each one sent to a neighbour is
 * kept until that neighbour acknowledges it (`ack {id}`), and sent again every
 * `timeoutMs` meanwhile; it is forgotten once the node is no longer a neighbour (declared
 * dead, or the tree changed). Over TCP nothing is lost, so this only costs one small ack;
 * over a lossy network it is what makes a flood reach everyone.
 */
import type { FloodMessage, NodeRef } from './flood-messages.js';

interface Pending<M> {
  to: NodeRef;
  msg: M;
  sentAt: number;
}

/** `M` is whatever the caller sends reliably: flood messages, and the tree's routed ones. */
export class Retransmitter<M = FloodMessage> {
  resent = 0;
  private readonly pending = new Map<string, Pending<M>>();

  constructor(
    private readonly send: (to: NodeRef, msg: M) => void,
    private readonly isNeighbour: (id: string) => boolean,
    private readonly timeoutMs: number,
  ) {}

  sendReliably(to: NodeRef, id: string, msg: M, now: number): void {
    this.pending.set(key(id, to.id), { to, msg, sentAt: now });
    this.send(to, msg);
  }

  onAck(from: NodeRef, id: string): void {
    this.pending.delete(key(id, from.id));
  }

  tick(now: number): void {
    if (this.pending.size === 0) return;
    for (const [k, p] of this.pending) {
      if (!this.isNeighbour(p.to.id)) this.pending.delete(k);
      else if (now - p.sentAt >= this.timeoutMs) {
        p.sentAt = now;
        this.resent++;
        this.send(p.to, p.msg);
      }
    }
  }
}

function key(id: string, nodeId: string): string {
  return `${id}\n${nodeId}`;
}
