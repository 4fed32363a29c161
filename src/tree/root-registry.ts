/**
 * The root's view of the network in the walking skeleton: who has joined (with their
 * addresses and attributes) and how much of each content each node reports holding. The
 * control-tree issue spreads this over a tree with rollups; the interface stays.
 */
import type { Attributes } from '../core/attributes.js';
import type { PeerConnection } from '../wire/peer-connection.js';
import type { Holder, JoinBody } from '../wire/messages.js';
import type { PeerAddress } from '../wire/transport.js';
import { matches, type Criteria } from '../core/criteria.js';

export interface Member {
  readonly nodeId: string;
  readonly name: string;
  readonly attrs: Attributes;
  readonly peer: PeerAddress;
  readonly api: string;
  readonly http: string;
  readonly conn: PeerConnection;
  readonly joinedAt: string;
}

export interface HoldingReport {
  haveBlocks: number;
  haveBytes: number;
  complete: boolean;
  at: number;
}

export class RootRegistry {
  private readonly members = new Map<string, Member>();
  private readonly holdings = new Map<string, Map<string, HoldingReport>>();

  join(conn: PeerConnection, name: string, body: JoinBody): Member {
    const member: Member = {
      nodeId: conn.remoteId!,
      name,
      // Read through the connection: attested attributes change when the root re-signs them.
      get attrs() {
        return conn.remoteAttrs;
      },
      peer: body.peer,
      api: body.api,
      http: body.http,
      conn,
      joinedAt: new Date().toISOString(),
    };
    this.members.set(member.nodeId, member);
    conn.once('close', () => {
      if (this.members.get(member.nodeId)?.conn === conn) this.members.delete(member.nodeId);
    });
    return member;
  }

  list(): Member[] {
    return [...this.members.values()];
  }

  get(nodeId: string): Member | undefined {
    return this.members.get(nodeId);
  }

  report(nodeId: string, contentId: string, haveBlocks: number, haveBytes: number, totalBlocks: number): void {
    let byNode = this.holdings.get(contentId);
    if (!byNode) this.holdings.set(contentId, (byNode = new Map()));
    byNode.set(nodeId, { haveBlocks, haveBytes, complete: haveBlocks === totalBlocks, at: Date.now() });
  }

  holding(contentId: string, nodeId: string): HoldingReport | undefined {
    return this.holdings.get(contentId)?.get(nodeId);
  }

  /** Live members that report holding all of the content. */
  completeHolders(contentId: string): Holder[] {
    const out: Holder[] = [];
    for (const [nodeId, h] of this.holdings.get(contentId) ?? []) {
      const m = this.members.get(nodeId);
      if (m && h.complete) out.push({ nodeId, peer: m.peer, complete: true });
    }
    return out;
  }

  /**
   * Live members that hold or will hold part of a content: every member that meets its
   * criteria (still-downloading nodes serve what they have), complete ones first. The
   * swarm then ranks them by measured proximity and load.
   */
  candidateHolders(contentId: string, criteria: Criteria): Holder[] {
    const out: Holder[] = [];
    for (const m of this.members.values()) {
      const h = this.holdings.get(contentId)?.get(m.nodeId);
      if (h?.complete || (h && h.haveBlocks > 0) || matches(criteria, m.attrs, m.nodeId)) out.push({ nodeId: m.nodeId, peer: m.peer, complete: h?.complete ?? false });
    }
    return out.sort((a, b) => Number(b.complete) - Number(a.complete));
  }
}
