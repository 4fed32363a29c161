/**
 * A non-root node's link to the root: joins, learns the catalog, receives announcements,
 * reports holdings, and asks for holders. If the link drops, it dials again with backoff
 * and re-joins, so a restarted root or node heals without operator action. Given several
 * root addresses (several roots on one database), it moves on to the next one whenever one
 * cannot be joined, and says so when the root it joined is another one than before. Each join
 * reply names the roots seen lately on the database; the link adds them to its list and has
 * the list kept (known-roots.ts), so a restarted member finds the leader by itself.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../core/logger.js';
import type { RevokedSignal } from './revoked-signal.js';
import type { PeerConnection } from '../wire/peer-connection.js';
import type { Holder, JoinBody, JoinReply, OciPullBody, ProgressBody } from '../wire/messages.js';
import type { PeerPool } from '../wire/peer-pool.js';
import type { PeerAddress } from '../wire/transport.js';
import { mergeRoots, parseRootList } from './known-roots.js';

export interface RootLinkDeps {
  pool: PeerPool;
  /** Every root address known (several roots on one database: only the leader listens for members). */
  roots: readonly PeerAddress[];
  /** After each join: every root address now known (those given, then those the root named), to be kept for the next start. */
  onRoots?: (roots: readonly PeerAddress[]) => void;
  joinBody: () => JoinBody;
  /** The catalog sync of every join: applied before the node serves anything. */
  onCatalog: (reply: JoinReply) => void;
  onJoined: () => void;
  /** Joined a root with another id than the last one (a standby took over): the tree must re-form under it. */
  onRootChanged?: (root: { id: string; addr: PeerAddress }) => void;
  /** Told that this node is revoked: the link stops instead of retrying. */
  revoked?: RevokedSignal;
  log: Logger;
}

const MAX_BACKOFF_MS = 5_000;
/** With several roots, the next one is tried soon: a standby takes over within seconds. */
const MAX_BACKOFF_SEVERAL_MS = 1_000;
/** The root waits for the upstream (its own limit is 30 s per request, plus a token round trip). */
const OCI_PULL_TIMEOUT_MS = 75_000;

export class RootLink {
  rootId: string | undefined;
  private conn: PeerConnection | undefined;
  private stopped = false;
  private running = false;
  private readonly ready: Promise<void>;
  /** Index in `roots` of the address dialled now; moves on when one cannot be joined. */
  private at = 0;
  /** The addresses dialled in turn: those given, then those roots named in their join replies. */
  private roots: PeerAddress[];
  private markReady!: () => void;

  constructor(private readonly deps: RootLinkDeps) {
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    this.roots = [...deps.roots];
  }

  /** Every root address this link knows now. */
  knownRoots(): readonly PeerAddress[] {
    return this.roots;
  }

  /** Starts the link; later calls do nothing (the loop reconnects by itself). */
  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    void this.loop();
  }

  /** Whether the link was started (the node was placed in the tree once): from then on it follows the roots by itself. */
  get started(): boolean {
    return this.running;
  }

  stop(): void {
    this.stopped = true;
    this.conn?.destroy();
  }

  /** The root address this link uses now. */
  get address(): PeerAddress {
    return this.roots[this.at]!;
  }

  /** Resolves once the node has joined (at least once). */
  joined(): Promise<void> {
    return this.ready;
  }

  async holders(contentId: string): Promise<Holder[]> {
    const conn = await this.connection();
    const reply = await conn.request('holders', { contentId });
    return (reply.header.holders as Holder[]) ?? [];
  }

  /** Asks the root to pull a manifest or part of a blob through from its upstream registry. */
  async ociPull(body: OciPullBody): Promise<{ header: Record<string, unknown>; payload: Buffer }> {
    const conn = await this.connection();
    return conn.request('oci-pull', body, { timeoutMs: OCI_PULL_TIMEOUT_MS });
  }

  progress(body: ProgressBody): void {
    if (this.conn && !this.conn.isClosed) void this.conn.notify('progress', { ...body }).catch(() => undefined);
  }

  private async connection(): Promise<PeerConnection> {
    await this.ready;
    if (this.conn && !this.conn.isClosed) return this.conn;
    return this.deps.pool.get(this.address);
  }

  private async loop(): Promise<void> {
    let backoff = 100;
    
    while (!this.stopped) {
      try {
        const conn = await this.deps.pool.get(this.address);
        const before = this.rootId;
        // The root's id is the one its TLS certificate proves, not the one it states; known
        // before the join reply, because the root sends trust updates right behind it.
        this.rootId = conn.remoteId;
        if (before !== undefined && this.rootId !== undefined && this.rootId !== before) this.deps.onRootChanged?.({ id: this.rootId, addr: this.address });
        const reply = await conn.request('join', this.deps.joinBody());
        this.rootId ??= String(reply.header.rootId);
        this.conn = conn;
        backoff = 100;
        this.deps.log.info('joined root', { root: this.rootId });
        this.markReady();
        this.learn(reply.header.roots);
        this.deps.onCatalog({ rootId: this.rootId, catalog: (reply.header.catalog as JoinReply['catalog']) ?? [], withdrawn: (reply.header.withdrawn as JoinReply['withdrawn']) ?? [], horizon: reply.header.horizon, publishers: reply.header.publishers });
        this.deps.onJoined();
        await new Promise<void>((resolve) => conn.once('close', () => resolve()));
        if (!this.stopped) this.deps.log.warn('lost the root; reconnecting');
      } catch (err) {
        if (this.stopped) return;
        if (this.deps.revoked?.check(err)) {
          this.stopped = true;
          return;
        }
        this.deps.log.warn('cannot join root', { err: err as Error, retryMs: backoff, root: `${this.address.host}:${this.address.port}` });
        // Another root may lead now: the next address is tried next.
        this.at = (this.at + 1) % this.roots.length;
      }
      await sleep(backoff);
      backoff = Math.min(backoff * 2, this.roots.length > 1 ? MAX_BACKOFF_SEVERAL_MS : MAX_BACKOFF_MS);
    }
  }

  /** Roots the joined root named (those seen lately on its database) are added after the known ones, and the list is kept. */
  private learn(named: unknown): void {
    this.roots = mergeRoots(this.roots, parseRootList(named));
    try {
      this.deps.onRoots?.(this.roots);
    } catch (err) {
      this.deps.log.warn('cannot save the root addresses', { err: err as Error });
    }
  }
}
