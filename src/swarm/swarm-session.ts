/**
 * The I/O shell around one content's SwarmScheduler: its holders come from `HolderLinks`
 * (discovery, interest, load); it turns `request` actions into `get-block` calls paced by
 * the node's download cap, checks every block against the manifest before the store keeps
 * it, and feeds every result back through `scheduler.handle(input, now)`.
 * Scheduler state changes only inside synchronous handlers; awaits happen outside them.
 */
import { byteLength, joined } from '../core/block-bytes.js';
import { CanopyError, isCanopyError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import type { Logger } from '../core/logger.js';
import type { BlockStore } from '../store/block-store.js';
import type { Holder } from '../wire/messages.js';
import type { PeerPool } from '../wire/peer-pool.js';
import type { Bitfield } from './bitfield.js';
import { HolderLinks } from './holder-links.js';
import { parsePlacement, wantsBlock } from '../core/placement.js';
import { SwarmScheduler, type SwarmAction, type SwarmInput } from './scheduler.js';
import { msUntilOpen, parseWindow, RatePacer, type PrefetchWindow } from './prefetch-window.js';
import { stuckReason, type Stuck } from './stuck.js';
import { pipelineLimits } from './pipeline.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TokenBucket } from './token-bucket.js';
import { pieceBytes, ReplyViews, type RelayFeed } from './relay-feed.js';
import type { RelayFeeds } from './relay-feeds.js';
import { STREAM_MIN_BYTES, StreamedCopy, type Leases } from './streamed-copy.js';
import type { Reply } from '../wire/peer-connection.js';

export interface SessionDeps {
  selfId: string;
  store: BlockStore;
  pool: PeerPool;
  findHolders: (contentId: string) => Promise<Holder[]>;
  /** A block was verified and stored; `bytes` were received for it. */
  onStored: (index: number, bytes: number) => void;
  /** Block bytes received from a peer: `kept` (stored), `duplicate` (held already, dropped unhashed) or `corrupt`. */
  onReceived?: (bytes: number, outcome: 'kept' | 'duplicate' | 'corrupt') => void;
  /** Blocks arriving here, relayed to others before they are whole (cut-through, relay-feed.ts). */
  relays?: RelayFeeds;
  /** A block started arriving and can be relayed: tell the neighbours (`have` with `relay`); `started` false: its relay failed. */
  onRelaying?: (index: number, started: boolean) => void;
  /** Why the session cannot progress, or undefined once it moves again. */
  onStuck: (stuck: Stuck | undefined) => void;
  downloadBucket: TokenBucket;
  maxInFlight: number;
  maxInFlightPerPeer: number;
  /** False: fetch only urgent blocks, whatever the placement. */
  prefetch: boolean;
  log: Logger;
}

const TICK_MS = 250;
const LOAD_REFRESH_MS = 2_000;
const BLOCK_TIMEOUT_MS = 300_000;
/** Answers that mean "not this block from me": never asked of that peer again. */
const REFUSALS = new Set<string | undefined>(['ERR_BLOCK_NOT_FOUND', 'ERR_NOT_AUTHORISED', 'ERR_CONTENT_NOT_FOUND']);

export class SwarmSession {
  readonly scheduler: SwarmScheduler;
  private readonly holders: HolderLinks;
  /** Requests not yet sent (waiting for the download cap or the pacer): a cancel drops them here. */
  private readonly aborts = new Map<string, AbortController>();
  /** Requests on the wire, waiting for their answer. */
  private readonly awaiting = new Set<string>();
  /** Requests sent and then cancelled: their answer still comes (the bytes, or a refusal) and is not the peer's fault. */
  private readonly cancelled = new Set<string>();
  /** Blocks being verified and written now: a copy arriving meanwhile is a duplicate, not a second write. */
  private readonly storing = new Set<number>();
  /** Ends every request of this session when it stops. */
  private readonly stopping = new AbortController();
  /** Waiters for a block; a block verified but not kept (the store is full) is handed to them. */
  private readonly waiters = new Map<number, { resolve: (bytes?: Buffer) => void; reject: (err: Error) => void }[]>();
  /** Block fetches in progress, so a cancelled session can be waited for before its blocks are removed. */
  private readonly inFlight = new Set<Promise<void>>();
  private timers: NodeJS.Timeout[] = [];
  private lastTickAt = 0;
  /** The content's prefetch policy (window, rate): background blocks only; client reads never wait. */
  private readonly window: PrefetchWindow | undefined;
  private readonly pacer: RatePacer | undefined;
  /** Indices by block hash: a content may repeat a block, and one fetch serves every copy. */
  private readonly sameHash = new Map<string, number[]>();
  /** Block index → the request (`peer/index`) whose pieces feed its relay. */
  private readonly feedOwner = new Map<number, string>();
  private isStopped = false;
  private markComplete!: () => void;
  private markFailed!: (err: Error) => void;
  readonly complete: Promise<void>;

  constructor(
    readonly contentId: string,
    private readonly manifest: Manifest,
    have: Bitfield,
    private readonly deps: SessionDeps,
  ) {
    const policy = parsePlacement(manifest.placement);
    this.scheduler = new SwarmScheduler({
      lengths: manifest.blocks.map((b) => b.length),
      have,
      wanted: (i) => deps.prefetch && wantsBlock(policy, manifest.blocks[i]!.offset, manifest.size),
      ...pipelineLimits(manifest.blockSize, deps.maxInFlight, deps.maxInFlightPerPeer),
    });
    this.window = manifest.prefetch?.window ? parseWindow(manifest.prefetch.window) : undefined;
    this.pacer = manifest.prefetch?.rate ? new RatePacer(manifest.prefetch.rate) : undefined;
    manifest.blocks.forEach((b, i) => this.sameHash.set(b.hash, [...(this.sameHash.get(b.hash) ?? []), i]));
    this.holders = new HolderLinks(contentId, manifest.blocks.length, deps, (input) => this.handle(input), () => this.isStopped, (fn, ms) => this.timers.push(setTimeout(fn, ms)));
    this.complete = new Promise((resolve, reject) => {
      this.markComplete = resolve;
      this.markFailed = reject;
    });
  }

  start(): void {
    this.timers.push(setInterval(() => this.tick(), TICK_MS));
    this.timers.push(setInterval(() => this.holders.refreshLoads(), LOAD_REFRESH_MS));
    this.holders.discover();
    this.pump();
  }

  get stopped(): boolean {
    return this.isStopped;
  }

  /** Stops the session; `complete` resolves (stopping is not a failure) and on-demand waiters are rejected. */
  stop(): void {
    this.end();
    this.markComplete();
  }

  /** Resolves once every block fetch started by this session has ended (stored or dropped). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private fail(err: Error): void {
    this.end(err);
    this.markFailed(err);
  }

  private end(reason: Error = new CanopyError('ERR_CONNECTION_CLOSED', 'download stopped')): void {
    this.isStopped = true;
    this.timers.forEach(clearInterval);
    this.timers = [];
    this.stopping.abort(reason);
    this.holders.close();
    for (const a of this.aborts.values()) a.abort(reason);
    this.deps.relays?.drop(this.contentId, 'the download stopped');
    this.feedOwner.clear();
    // A reader waiting for a block that is held by now (stored by another writer of the node's
    // bitfield) gets it from the store: the download ending, its content complete, is no
    // failure of that read (a mirror's body broke with "unexpected EOF" right at `content complete`).
    for (const [index, list] of this.waiters) {
      const held = this.scheduler.have.has(index);
      for (const w of list) {
        if (held) w.resolve();
        else w.reject(reason);
      }
    }
    this.waiters.clear();
  }

  /**
   * Resolves when block `index` is held; it is fetched ahead of prefetch, aiming at `deadline`
   * (epoch ms). Resolves with the verified bytes when they could not be kept (the store is full).
   */
  fetchNow(index: number, deadline: number): Promise<Buffer | undefined> {
    if (this.scheduler.have.has(index)) return Promise.resolve(undefined);
    if (this.isStopped) return Promise.reject(new CanopyError('ERR_CONNECTION_CLOSED', 'download stopped'));
    const p = new Promise<Buffer | undefined>((resolve, reject) => {
      const list = this.waiters.get(index) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(index, list);
    });
    this.handle({ type: 'urgent', index, deadline });
    return p;
  }

  onHave(peerId: string, index: number, seeded: boolean, declined?: string): void {
    this.handle(!seeded ? { type: 'peer-has', peer: peerId, index } : declined === undefined ? { type: 'seeded', index } : { type: 'seeded', index, declined });
  }

  /** The periodic pass: what each peer has sent lately, and how late our own loop ran, go in first. */
  private tick(): void {
    const now = Date.now();
    const lag = this.lastTickAt === 0 ? 0 : now - this.lastTickAt - TICK_MS;
    this.lastTickAt = now;
    if (lag > TICK_MS) this.scheduler.paused(lag, now);
    for (const [id, conn] of this.holders.conns) this.scheduler.heard(id, conn.lastReceivedAt);
    this.handle({ type: 'tick' });
  }

  private pump(): void {
    this.handle({ type: 'tick' });
  }

  /** Every input goes through the scheduler's one entry point; what it returns is carried out here. */
  private handle(input: SwarmInput): void {
    if (this.isStopped) return;
    this.checkWindow();
    this.apply(this.scheduler.handle(input, Date.now()));
  }

  private apply(actions: SwarmAction[]): void {
    for (const a of actions) {
      switch (a.type) {
        case 'request': {
          const p = this.fetchBlock(a.peer, a.index);
          this.inFlight.add(p);
          void p.finally(() => this.inFlight.delete(p));
          break;
        }
        case 'cancel':
          this.cancel(a.peer, a.index);
          break;
        case 'ban':
          this.holders.ban(a.peer);
          this.deps.log.warn('banned peer', { contentId: this.contentId, peer: a.peer, reason: a.reason });
          break;
        case 'complete':
          this.markComplete();
          break;
      }
    }
  }

  /**
   * A request not yet sent is dropped here; one already sent is cancelled at the holder,
   * which drops it if it has not started sending (cancelled copies then cost no upload).
   * Its answer still comes and is used if the block is still missing, else counted as a
   * duplicate: a late copy is not a failure of the peer.
   */
  private cancel(peer: string, index: number): void {
    const key = `${peer}/${index}`;
    const unsent = this.aborts.get(key);
    if (unsent) return unsent.abort(new CanopyError('ERR_TIMEOUT', 'request cancelled by the scheduler'));
    // Already answered (a copy dropped while the first was being stored): nothing to cancel.
    if (!this.awaiting.has(key)) return;
    this.cancelled.add(key);
    void this.holders.conns.get(peer)?.notify('cancel', { contentId: this.contentId, index }).catch(() => undefined);
  }

  /** Pauses background prefetch while the content's window is closed, and says why. */
  private checkWindow(): void {
    if (!this.window) return;
    const wait = msUntilOpen(this.window, new Date());
    const closed = wait > 0 && !this.scheduler.done;
    if (closed === this.scheduler.bulkPaused) return;
    this.scheduler.bulkPaused = closed;
    this.deps.onStuck(closed ? { reason: 'window', detail: `prefetch runs ${this.manifest.prefetch!.window} local time; opens in ${Math.ceil(wait / 60_000)} min` } : undefined);
  }

  private resolveWaiters(index: number, bytes?: Buffer): void {
    for (const w of this.waiters.get(index) ?? []) w.resolve(bytes);
    this.waiters.delete(index);
  }

  private async fetchBlock(peer: string, index: number): Promise<void> {
    const key = `${peer}/${index}`;
    const abort = new AbortController();
    this.aborts.set(key, abort);
    const block = this.manifest.blocks[index]!;
    let reply: Reply | undefined;
    let streamed: StreamedCopy | undefined;
    const views = new ReplyViews();
    try {
      const conn = this.holders.conns.get(peer);
      if (!conn) throw new CanopyError('ERR_CONNECTION_CLOSED', 'peer is gone');
      await this.deps.downloadBucket.take(block.length, abort.signal);
      // Background blocks keep to the content's prefetch rate; a block a client waits for does not.
      if (this.pacer && !this.waiters.has(index)) {
        const wait = this.pacer.reserve(block.length, Date.now());
        if (wait > 0) await sleep(wait, undefined, { signal: abort.signal });
      }
      if (abort.signal.aborted) return;
      // Sent from here on: a cancel goes over the wire and the answer is awaited (see cancel()).
      this.aborts.delete(key);
      this.awaiting.add(key);
      this.scheduler.sent(peer, index, Date.now());
      const relay = this.deps.relays !== undefined;
      // Written as it arrives unless small or a client waits for it (it gets the bytes even if the store cannot keep them).
      streamed = relay && block.length >= STREAM_MIN_BYTES && !this.waiters.has(index) ? new StreamedCopy(() => this.deps.store.intake(block.hash, block.length, { stripe: this.contentId, index }), (parts, leases) => this.onPart(key, index, parts, leases)) : undefined;
      const onPart = relay && !streamed ? (parts: readonly Buffer[]) => views.add(this.onPart(key, index, parts)) : undefined;
      reply = await conn.request('get-block', { contentId: this.contentId, index, ...(relay ? { pieces: true } : {}) }, { timeoutMs: BLOCK_TIMEOUT_MS, signal: this.stopping.signal, onPart, takePart: streamed?.take });
      await this.onReply(peer, index, reply.parts, views, streamed);
    } catch (err) {
      if (abort.signal.aborted || this.isStopped || this.cancelled.has(key)) return;
      this.onFetchError(peer, index, err);
    } finally {
      this.aborts.delete(key);
      this.awaiting.delete(key);
      this.cancelled.delete(key);
      this.endFeed(key, index);
      void streamed?.drop(); // Not kept (failed, a duplicate): its temp file goes.
      // Stored (or dropped): its pooled buffers go back once no relay reader holds them (wire/frame-copier.ts).
      if (reply) views.whenDone(reply.release.bind(reply));
      this.pump();
    }
  }

  /** A piece of a block arrived: the first copy to send one feeds the block's relay (returned: it holds views of the piece). */
  private onPart(key: string, index: number, parts: readonly Buffer[], leases?: Leases): RelayFeed | undefined {
    const relays = this.deps.relays!;
    if (this.feedOwner.get(index) !== key) {
      if (this.feedOwner.has(index) || this.scheduler.have.has(index) || this.isStopped) return undefined;
      if (!relays.open(this.contentId, index, this.manifest.blocks[index]!.length)) return undefined;
      this.feedOwner.set(index, key);
      this.deps.onRelaying?.(index, true);
    }
    const feed = relays.get(this.contentId, index);
    feed?.push(parts, leases);
    return feed;
  }

  /** The request that fed a relay is over: unless the block was verified and kept (the feed completed), its readers are told it is lost. */
  private endFeed(key: string, index: number): void {
    if (this.feedOwner.get(index) !== key) return;
    this.feedOwner.delete(index);
    // Held (the feed completed, or the same bytes were kept at another index: its readers then ask again and get the stored block).
    const held = this.scheduler.have.has(index);
    this.deps.relays?.abort(this.contentId, index, held ? 'the block is held' : 'this copy failed or was dropped');
    if (!held) this.deps.onRelaying?.(index, false);
  }

  /** A block's bytes arrived: verify and keep them, unless another copy was kept first. `views` learns who else got them. */
  private async onReply(peer: string, index: number, parts: readonly Buffer[], views: ReplyViews, asked?: StreamedCopy): Promise<void> {
    const block = this.manifest.blocks[index]!;
    // Streamed unless the holder answered in one frame (an older build). In pieces: never joined (core/block-bytes.ts).
    const streamed = parts.length === 0 ? asked : undefined;
    const length = streamed ? streamed.length : byteLength(parts);
    if (this.storing.has(index)) {
      // Another copy is being verified and written: this one is dropped unhashed (the first, once kept, cancels the rest).
      this.deps.onReceived?.(length, 'duplicate');
      return;
    }
    if (this.scheduler.have.has(index)) {
      // Already held: dropped without hashing or writing; the scheduler still learns the peer's pace.
      // Held perhaps by another writer of the node's bitfield (a cancelled session settling, a
      // publish): readers waiting here for it read it from the store now.
      this.deps.onReceived?.(length, 'duplicate');
      this.handle({ type: 'block', peer, index, valid: true });
      this.resolveWaiters(index);
      return;
    }
    this.storing.add(index);
    try {
      if (streamed) await streamed.keep();
      else await this.deps.store.put(parts, block.hash, { stripe: this.contentId, index });
    } catch (err) {
      if (isCanopyError(err, 'ERR_BLOCK_HASH_MISMATCH')) {
        this.deps.onReceived?.(length, 'corrupt');
        this.deps.log.warn('peer sent a corrupt block', { contentId: this.contentId, peer, index });
        this.handle({ type: 'block', peer, index, valid: false });
        return;
      }
      // The block is good; our own store cannot keep it (full, read-only, failing). No other
      // holder can help, and fetching on would only spend the peers' upload on blocks this
      // node drops: the session ends with the reason (a reader still gets the verified bytes).
      views.kept = true;
      this.resolveWaiters(index, streamed ? undefined : joined(parts));
      this.deps.onStuck({ reason: stuckReason(err), detail: (err as Error).message });
      return this.fail(err as Error);
    } finally {
      this.storing.delete(index);
    }
    // Verified and stored: its relay readers get the rest (the held-back piece included).
    views.add(this.deps.relays?.get(this.contentId, index));
    // Readers still behind read the rest from the store, so these buffers go back sooner (relay-feed.ts).
    this.deps.relays?.complete(this.contentId, index, parts, (from) => this.deps.store.pieces(block.hash, pieceBytes(block.length), from));
    this.deps.onReceived?.(length, 'kept');
    this.handle({ type: 'block', peer, index, valid: true });
    this.deps.onStored(index, length);
    // Moving again, unless this session has just ended.
    if (!this.isStopped) this.deps.onStuck(undefined);
    this.resolveWaiters(index);
    // Other positions with the same bytes are held now too.
    for (const j of this.sameHash.get(block.hash) ?? []) {
      if (j === index || this.scheduler.have.has(j)) continue;
      this.scheduler.markHeld(j);
      this.deps.onStored(j, 0);
      this.resolveWaiters(j);
    }
  }

  private onFetchError(peer: string, index: number, err: unknown): void {
    const code = isCanopyError(err) ? err.code : undefined;
    // A busy holder is not a fault and not why we are stuck: ask others, and it again shortly.
    if (code === 'ERR_BUSY') return this.handle({ type: 'failure', peer, index, kind: 'busy' });
    // A relay whose own copy failed: not its fault; it has the block no more until it says so again.
    if (code === 'ERR_RELAY_ABORTED') return this.handle({ type: 'failure', peer, index, kind: 'lost' });
    // The origin sends this block first to a faster downloader: take it from a peer (first-copy.ts).
    if (code === 'ERR_FIRST_COPY_ELSEWHERE') return this.handle({ type: 'failure', peer, index, kind: 'declined' });
    // A holder that refuses, or answers with an error of its own (its volume failed), is not
    // asked for that block again; a broken or silent connection chokes the peer with backoff.
    const transport = code === undefined || code === 'ERR_TIMEOUT' || code === 'ERR_CONNECTION_CLOSED' || code === 'ERR_UNREACHABLE';
    // A partial holder lacking a block is expected; anything else is why this node is stuck, until a block arrives.
    if (code !== 'ERR_BLOCK_NOT_FOUND') this.deps.onStuck({ reason: stuckReason(err), detail: `${peer}: ${(err as Error).message}` });
    this.deps.log.debug('block fetch failed', { contentId: this.contentId, peer, index, err: err as Error });
    const kind = code === 'ERR_STORE_IO' || code === 'ERR_STORE_FULL' ? 'unservable' : !transport && REFUSALS.has(code) ? 'refused' : 'error';
    this.handle({ type: 'failure', peer, index, kind });
  }
}
