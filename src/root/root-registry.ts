/**
 * The root's view of the network: who has joined (with their addresses and attributes)
 * and how much of each content each node reports holding. The control tree (tree/) routes
 * by attributes with rollups; this registry is the root's list of members and holders.
 */
import type { Attributes } from '../core/attributes.js';
import type { PeerConnection } from '../wire/peer-connection.js';
import type { Holder, JoinBody } from '../wire/messages.js';
import type { PeerAddress } from '../wire/transport.js';

/** Stuck reasons that say a member's own store refuses blocks (swarm/stuck.ts): it is not downloading. */
const STORE_STUCK = new Set(['no-space', 'error']);
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
  /** Whether it fetches qualified contents in the background (and so reports progress on each). */
  readonly prefetch: boolean;
}

export interface HoldingReport {
  haveBlocks: number;
  haveBytes: number;
  complete: boolean;
  at: number;
  /** Bytes the node received from peers for this content. */
  fetchedBytes: number;
  /** Smoothed download rate, bytes per second (for the ETA). */
  rate: number;
  stuck: string | undefined;
  stuckDetail: string | undefined;
}

export interface ReportExtras {
  fetchedBytes?: number;
  stuck?: string;
  stuckDetail?: string;
}

/** What a leader saves of a report (and a new leader restores): the report and who made it. */
export interface SavedHolding {
  contentId: string;
  nodeId: string;
  name: string;
  attrs: Attributes;
  haveBlocks: number;
  haveBytes: number;
  complete: boolean;
  fetchedBytes: number;
  stuck: string | undefined;
  at: number;
}

/** A node that was a member and is not connected now (it may be down during a withdrawal). */
export interface Departed {
  readonly nodeId: string;
  readonly name: string;
  readonly attrs: Attributes;
  readonly leftAt: string;
}

/** Forgotten contents whose moved bytes are remembered. */
const MOVED_KEPT = 1_000;

/** Weight of the newest sample in the smoothed rate. */
const RATE_SMOOTHING = 0.3;

export class RootRegistry {
  private readonly members = new Map<string, Member>();
  private readonly holdings = new Map<string, Map<string, HoldingReport>>();
  private readonly gone = new Map<string, Departed>();
  private readonly moved = new Map<string, number>();
  private readonly watchers: ((contentId: string | undefined, nodeId?: string) => void)[] = [];

  /**
   * Told of every change a content's status depends on: its holdings (with its id) or the
   * member list (undefined: every status). The leader's views recompute only what changed
   * (src/root/state/leader-views.ts). A report names its node too: the holdings saved to
   * PostgreSQL are written row by row (src/root/state/holdings-saver.ts).
   */
  onChange(watcher: (contentId: string | undefined, nodeId?: string) => void): void {
    this.watchers.push(watcher);
  }

  private changed(contentId: string | undefined, nodeId?: string): void {
    for (const w of this.watchers) w(contentId, nodeId);
  }

  /**
   * A new leader's start: the holdings its predecessor saved (holdings-saver.ts), so statuses
   * are right before the members re-report. A node not connected yet is listed as departed
   * (offline) until it joins this root.
   */
  restore(rows: readonly SavedHolding[]): void {
    for (const r of rows) {
      let byNode = this.holdings.get(r.contentId);
      if (!byNode) this.holdings.set(r.contentId, (byNode = new Map()));
      if (byNode.has(r.nodeId)) continue;
      byNode.set(r.nodeId, { haveBlocks: r.haveBlocks, haveBytes: r.haveBytes, complete: r.complete, at: r.at, fetchedBytes: r.fetchedBytes, rate: 0, stuck: r.stuck, stuckDetail: undefined });
      if (!this.members.has(r.nodeId) && !this.gone.has(r.nodeId)) this.gone.set(r.nodeId, { nodeId: r.nodeId, name: r.name, attrs: r.attrs, leftAt: new Date(r.at).toISOString() });
      this.changed(r.contentId);
    }
  }

  /** A node's report on a content with who the node is, as saved for the next leader. */
  saved(contentId: string, nodeId: string): SavedHolding | undefined {
    const h = this.holdings.get(contentId)?.get(nodeId);
    const who = this.members.get(nodeId) ?? this.gone.get(nodeId);
    if (!h || !who) return undefined;
    return { contentId, nodeId, name: who.name, attrs: who.attrs, haveBlocks: h.haveBlocks, haveBytes: h.haveBytes, complete: h.complete, fetchedBytes: h.fetchedBytes, stuck: h.stuck, at: h.at };
  }

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
      prefetch: body.prefetch !== false,
    };
    this.members.set(member.nodeId, member);
    this.gone.delete(member.nodeId);
    conn.once('close', () => {
      if (this.members.get(member.nodeId)?.conn !== conn) return;
      this.members.delete(member.nodeId);
      this.gone.set(member.nodeId, { nodeId: member.nodeId, name: member.name, attrs: member.attrs, leftAt: new Date().toISOString() });
      this.changed(undefined);
    });
    this.changed(undefined);
    return member;
  }

  list(): Member[] {
    return [...this.members.values()];
  }

  get(nodeId: string): Member | undefined {
    return this.members.get(nodeId);
  }

  /** Members that left and have not come back. */
  departed(): Departed[] {
    return [...this.gone.values()];
  }

  report(nodeId: string, contentId: string, haveBlocks: number, haveBytes: number, totalBlocks: number, extras: ReportExtras = {}, now: number = Date.now()): void {
    let byNode = this.holdings.get(contentId);
    if (!byNode) this.holdings.set(contentId, (byNode = new Map()));
    const prev = byNode.get(nodeId);
    const complete = haveBlocks === totalBlocks;
    let rate = prev?.rate ?? 0;
    if (prev && now > prev.at) {
      const sample = (Math.max(0, haveBytes - prev.haveBytes) * 1000) / (now - prev.at);
      rate = prev.rate === 0 ? sample : RATE_SMOOTHING * sample + (1 - RATE_SMOOTHING) * prev.rate;
    }
    byNode.set(nodeId, { haveBlocks, haveBytes, complete, at: now, fetchedBytes: extras.fetchedBytes ?? prev?.fetchedBytes ?? 0, rate: complete ? 0 : rate, stuck: complete ? undefined : extras.stuck, stuckDetail: complete ? undefined : extras.stuckDetail });
    this.changed(contentId, nodeId);
  }

  /**
   * Drops what is known of a content's holdings (it was withdrawn or expired), keeping only
   * the bytes its version moved, so its status still says what it cost.
   */
  forget(contentId: string): void {
    const byNode = this.holdings.get(contentId);
    if (byNode) {
      this.moved.set(contentId, [...byNode.values()].reduce((s, h) => s + h.fetchedBytes, 0));
      // Bounded like the history of contents out of service (src/ops/history-retention.ts).
      if (this.moved.size > MOVED_KEPT) this.moved.delete(this.moved.keys().next().value!);
    }
    this.holdings.delete(contentId);
    this.changed(contentId);
  }

  /** Bytes a forgotten content moved (summed over nodes when it was forgotten). */
  movedBytes(contentId: string): number | undefined {
    return this.moved.get(contentId);
  }

  /** Every node's report on a content, by node id (read-only: the registry's own map). */
  holdingsOf(contentId: string): ReadonlyMap<string, HoldingReport> | undefined {
    return this.holdings.get(contentId);
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
   * swarm then ranks them by measured proximity and load. A member that holds nothing and
   * reports that its own store cannot keep blocks (a read-only or full volume) is left out:
   * it will not fetch, and the downloaders must not wait for it to take the blocks the
   * origin's rendezvous designates to it (issue 24 item 3: that wait cost 8.9x a dead node).
   */
  candidateHolders(contentId: string, criteria: Criteria): Holder[] {
    const out: Holder[] = [];
    for (const m of this.members.values()) {
      const h = this.holdings.get(contentId)?.get(m.nodeId);
      if (h && !h.complete && h.haveBlocks === 0 && STORE_STUCK.has(h.stuck ?? '')) continue;
      if (h?.complete || (h && h.haveBlocks > 0) || matches(criteria, m.attrs, m.nodeId)) out.push({ nodeId: m.nodeId, peer: m.peer, complete: h?.complete ?? false });
    }
    return out.sort((a, b) => Number(b.complete) - Number(a.complete));
  }
}
