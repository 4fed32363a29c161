/**
 * The node's distributor for incoming blocks: one SwarmSession per content being fetched.
 * `fetch` prefetches what the content's placement asks for (and resumes from what the
 * store already holds after a restart); `fetchNow` is for on-demand reads (the edge servers
 * call it when a client waits for a block this node lacks). One download cap (token bucket)
 * is shared by all sessions, so a node never takes more than its share of a branch link.
 */
import type { Manifest } from '../core/manifest.js';
import type { Logger } from '../core/logger.js';
import type { BlockStore } from '../store/block-store.js';
import type { Holder } from '../wire/messages.js';
import type { PeerPool } from '../wire/peer-pool.js';
import type { Bitfield } from './bitfield.js';
import { SwarmSession } from './swarm-session.js';
import { TokenBucket } from './token-bucket.js';
import type { Stuck } from './stuck.js';
import { RelayFeeds } from './relay-feeds.js';

export { stuckReason, type Stuck, type StuckReason } from './stuck.js';

export interface DownloaderDeps {
  selfId: string;
  store: BlockStore;
  pool: PeerPool;
  findHolders: (contentId: string) => Promise<Holder[]>;
  /** The node's live record of which blocks of a content it holds. */
  bitfield: (contentId: string) => Bitfield;
  /** A block was verified and stored (advertise it, report progress). */
  onStored: (contentId: string, manifest: Manifest, index: number) => void;
  /** A block started arriving and can be relayed to others (cut-through): advertise it; `started` false: its relay failed. */
  onRelaying?: (contentId: string, index: number, started: boolean) => void;
  /** Block bytes received from peers, by outcome (see SessionDeps.onReceived). */
  onReceived?: (bytes: number, outcome: 'kept' | 'duplicate' | 'corrupt') => void;
  /** Why a content cannot progress now, or undefined once it moves again (only changes are reported). */
  onStuck?: (contentId: string, stuck: Stuck | undefined) => void;
  log: Logger;
  /** False: sessions prefetch nothing whatever the placement (the node is an on-demand cache). */
  prefetch: boolean;
  /** Download cap in bytes per second; 0 for none. */
  downloadCap: number;
  maxInFlight: number;
  maxInFlightPerPeer: number;
}

/** How long a session with nothing to fetch stays up for further on-demand reads. */
const IDLE_MS = 60_000;

export class Downloader {
  /** Blocks arriving here, which the peer service relays before they are whole. */
  readonly relays = new RelayFeeds();
  private readonly sessions = new Map<string, SwarmSession>();
  private readonly idle = new Map<string, NodeJS.Timeout>();
  private readonly bucket: TokenBucket;
  private stopped = false;
  /** Sessions cancelled while blocks were still in flight, until those are settled. */
  private readonly cancelled = new Map<string, SwarmSession>();
  /** Bytes received from peers per content (blocks already held are never fetched). */
  private readonly fetched = new Map<string, number>();
  /** Contents with a stuck reason reported and not yet cleared. */
  private readonly stuck = new Map<string, string>();

  constructor(private readonly deps: DownloaderDeps) {
    this.bucket = new TokenBucket(deps.downloadCap);
  }

  /** Changes the download cap at run time (SIGHUP reload); 0 = none. */
  setDownloadCap(rate: number): void {
    this.bucket.setRate(rate);
  }

  /** Fetches the blocks the placement wants; resolves once they are all held. */
  async fetch(contentId: string, manifest: Manifest): Promise<void> {
    const session = this.session(contentId, manifest);
    try {
      await session.complete;
    } finally {
      // A failed session (the store is full) is not reused: the next fetch starts afresh.
      if (session.stopped && this.sessions.get(contentId) === session) this.sessions.delete(contentId);
    }
    // Cancelled (this node no longer qualifies, or lost blocks and starts over): not an error.
    if (session.stopped) return;
    this.deps.log.info('content complete', { contentId, blocks: session.scheduler.have.count, of: manifest.blocks.length, ...session.scheduler.stats });
    this.retire(contentId, session);
  }

  /**
   * Fetches one block ahead of all prefetch; resolves once it is stored, or with its verified
   * bytes when the store could not keep them. `deadline` is epoch ms.
   */
  async fetchNow(contentId: string, manifest: Manifest, index: number, deadline = Date.now() + 2_000): Promise<Buffer | undefined> {
    const session = this.session(contentId, manifest);
    const bytes = await session.fetchNow(index, deadline);
    this.retire(contentId, session);
    return bytes;
  }

  /** Routes a holder's `have`/`seeded` to the session it concerns. */
  onHave(peerId: string, contentId: string, index: number, seeded: boolean, declined?: string): void {
    this.sessions.get(contentId)?.onHave(peerId, index, seeded, declined);
  }

  /** Stops fetching one content now; blocks already in flight are stored or dropped (see `settled`). */
  cancel(contentId: string): void {
    const session = this.sessions.get(contentId);
    if (!session) return;
    clearTimeout(this.idle.get(contentId));
    this.idle.delete(contentId);
    this.sessions.delete(contentId);
    session.stop();
    this.cancelled.set(contentId, session);
    void session.settled().then(() => this.cancelled.get(contentId) === session && this.cancelled.delete(contentId));
  }

  /** Bytes this process received from peers for a content: what its version really moved here. */
  fetchedBytes(contentId: string): number {
    return this.fetched.get(contentId) ?? 0;
  }

  private addFetched(contentId: string, bytes: number): void {
    this.fetched.set(contentId, this.fetchedBytes(contentId) + bytes);
  }

  /**
   * Forgets a content out of service (after `cancel` and `settled`): its bytes received and its
   * stuck reason. Without this both stayed for every content ever fetched (issue 25).
   */
  forget(contentId: string): void {
    this.fetched.delete(contentId);
    this.stuck.delete(contentId);
  }

  /** Whether anything is kept for this content (tests: a retired content leaves nothing). */
  keeps(contentId: string): boolean {
    return this.fetched.has(contentId) || this.stuck.has(contentId) || this.sessions.has(contentId) || this.idle.has(contentId) || this.cancelled.has(contentId);
  }

  /** Resolves once no block of this content is being written by a cancelled session. */
  async settled(contentId: string): Promise<void> {
    await this.cancelled.get(contentId)?.settled();
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.sessions.values()) s.stop();
    for (const t of this.idle.values()) clearTimeout(t);
    this.sessions.clear();
  }

  private session(contentId: string, manifest: Manifest): SwarmSession {
    clearTimeout(this.idle.get(contentId));
    this.idle.delete(contentId);
    let session = this.sessions.get(contentId);
    if (!session) {
      session = new SwarmSession(contentId, manifest, this.deps.bitfield(contentId), {
        ...this.deps,
        onStored: (index, bytes) => {
          this.addFetched(contentId, bytes);
          this.deps.onStored(contentId, manifest, index);
        },
        onStuck: (stuck) => this.setStuck(contentId, stuck),
        downloadBucket: this.bucket,
        relays: this.relays,
        onRelaying: (index, started) => this.deps.onRelaying?.(contentId, index, started),
      });
      this.sessions.set(contentId, session);
      if (!this.stopped) session.start();
    }
    return session;
  }

  private setStuck(contentId: string, stuck: Stuck | undefined): void {
    const key = stuck ? `${stuck.reason}\n${stuck.detail}` : undefined;
    if (this.stuck.get(contentId) === key) return;
    if (key) this.stuck.set(contentId, key);
    else this.stuck.delete(contentId);
    this.deps.onStuck?.(contentId, stuck);
  }

  /** Stops a session once it has nothing left to do for a while (on-demand reads may follow). */
  private retire(contentId: string, session: SwarmSession): void {
    if (!session.scheduler.done || this.sessions.get(contentId) !== session) return;
    clearTimeout(this.idle.get(contentId));
    if (session.scheduler.have.complete) {
      session.stop();
      this.sessions.delete(contentId);
      return;
    }
    this.idle.set(
      contentId,
      setTimeout(() => {
        if (!session.scheduler.done) return;
        session.stop();
        this.sessions.delete(contentId);
        this.idle.delete(contentId);
      }, IDLE_MS).unref(),
    );
  }
}
