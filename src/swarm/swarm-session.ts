/**
 * The I/O shell around one content's SwarmScheduler: finds holders through the root, opens
 * `interest` with each (bitfield, load, round trip), keeps their load and round trip fresh,
 * turns `request` actions into `get-block` calls paced by the node's download cap, checks
 * every block against the manifest before the store keeps it, and feeds results back.
 * Scheduler state changes only inside synchronous handlers; awaits happen outside them.
 */
import { CanopyError, isCanopyError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import type { Logger } from '../core/logger.js';
import type { BlockStore } from '../store/block-store.js';
import type { Holder, InterestReply } from '../wire/messages.js';
import type { PeerConnection } from '../wire/peer-connection.js';
import type { PeerPool } from '../wire/peer-pool.js';
import { Bitfield } from './bitfield.js';
import type { PeerLoad } from './peer-state.js';
import { parsePlacement, wantsBlock } from '../core/placement.js';
import { SwarmScheduler, type SwarmAction } from './scheduler.js';
import { msUntilOpen, parseWindow, RatePacer, type PrefetchWindow } from './prefetch-window.js';
import { stuckReason, type Stuck } from './stuck.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TokenBucket } from './token-bucket.js';

export interface SessionDeps {
  selfId: string;
  store: BlockStore;
  pool: PeerPool;
  findHolders: (contentId: string) => Promise<Holder[]>;
  /** A block was verified and stored; `bytes` were received for it. */
  onStored: (index: number, bytes: number) => void;
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
const DISCOVER_MS = [500, 1_000, 2_000, 3_000];
const BLOCK_TIMEOUT_MS = 300_000;
const IN_FLIGHT_BYTES = 24 * 2 ** 20;

export class SwarmSession {
  readonly scheduler: SwarmScheduler;
  private readonly conns = new Map<string, PeerConnection>();
  private readonly connecting = new Set<string>();
  private readonly banned = new Set<string>();
  private readonly aborts = new Map<string, AbortController>();
  private readonly waiters = new Map<number, { resolve: () => void; reject: (err: Error) => void }[]>();
  /** Block fetches in progress, so a cancelled session can be waited for before its blocks are removed. */
  private readonly inFlight = new Set<Promise<void>>();
  private timers: NodeJS.Timeout[] = [];
  private discoverRound = 0;
  /** The content's prefetch policy (window, rate): background blocks only; client reads never wait. */
  private readonly window: PrefetchWindow | undefined;
  private readonly pacer: RatePacer | undefined;
  /** Indices by block hash: a content may repeat a block, and one fetch serves every copy. */
  private readonly sameHash = new Map<string, number[]>();
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
    // Outstanding bytes, not requests, are what matter: too deep a pipeline makes every block
    // arrive late (they share the download link), so a block one node just got from the
    // origin would reach it too late for the others to fetch it from that node.
    const inFlight = Math.min(deps.maxInFlight, Math.max(4, Math.floor(IN_FLIGHT_BYTES / manifest.blockSize)));
    this.scheduler = new SwarmScheduler({
      lengths: manifest.blocks.map((b) => b.length),
      have,
      wanted: (i) => deps.prefetch && wantsBlock(policy, manifest.blocks[i]!.offset, manifest.size),
      maxInFlight: inFlight,
      maxInFlightPerPeer: Math.min(deps.maxInFlightPerPeer, Math.max(2, Math.ceil(inFlight / 3))),
    });
    this.window = manifest.prefetch?.window ? parseWindow(manifest.prefetch.window) : undefined;
    this.pacer = manifest.prefetch?.rate ? new RatePacer(manifest.prefetch.rate) : undefined;
    manifest.blocks.forEach((b, i) => this.sameHash.set(b.hash, [...(this.sameHash.get(b.hash) ?? []), i]));
    this.complete = new Promise((resolve, reject) => {
      this.markComplete = resolve;
      this.markFailed = reject;
    });
  }

  start(): void {
    this.timers.push(setInterval(() => this.pump(), TICK_MS));
    this.timers.push(setInterval(() => this.refreshLoads(), LOAD_REFRESH_MS));
    this.discover();
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
    for (const a of this.aborts.values()) a.abort(reason);
    for (const list of this.waiters.values()) for (const w of list) w.reject(reason);
    this.waiters.clear();
  }

  /** Resolves when block `index` is held; it is fetched ahead of prefetch, aiming at `deadline` (epoch ms). */
  fetchNow(index: number, deadline: number): Promise<void> {
    if (this.scheduler.have.has(index)) return Promise.resolve();
    if (this.isStopped) return Promise.reject(new CanopyError('ERR_CONNECTION_CLOSED', 'download stopped'));
    const p = new Promise<void>((resolve, reject) => {
      const list = this.waiters.get(index) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(index, list);
    });
    this.scheduler.urgent(index, deadline);
    this.pump();
    return p;
  }

  onHave(peerId: string, index: number, seeded: boolean): void {
    if (seeded) this.scheduler.seeded(index, Date.now());
    else this.scheduler.peerHas(peerId, index);
    this.pump();
  }

  private pump(): void {
    if (this.isStopped) return;
    this.checkWindow();
    this.apply(this.scheduler.schedule(Date.now()));
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
          this.aborts.get(`${a.peer}/${a.index}`)?.abort(new CanopyError('ERR_TIMEOUT', 'request cancelled by the scheduler'));
          // The holder drops it too if it has not started sending: cancelled copies cost no upload.
          void this.conns.get(a.peer)?.notify('cancel', { contentId: this.contentId, index: a.index }).catch(() => undefined);
          break;
        case 'ban':
          this.banned.add(a.peer);
          this.deps.log.warn('banned peer', { contentId: this.contentId, peer: a.peer, reason: a.reason });
          break;
        case 'complete':
          this.markComplete();
          break;
      }
    }
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

  private discover(): void {
    if (this.isStopped) return;
    const delay = DISCOVER_MS[Math.min(this.discoverRound++, DISCOVER_MS.length - 1)]!;
    this.deps
      .findHolders(this.contentId)
      .then((holders) => {
        this.scheduler.setSwarm(this.deps.selfId, holders.filter((h) => !h.complete).map((h) => h.nodeId));
        if (!holders.some((h) => h.nodeId !== this.deps.selfId) && this.conns.size === 0) this.deps.onStuck({ reason: 'no-peer', detail: 'no node holds this content yet' });
        holders.forEach((h) => this.connect(h));
      })
      .catch((err: Error) => this.deps.log.debug('cannot list holders', { contentId: this.contentId, err }))
      .finally(() => {
        if (!this.isStopped) this.timers.push(setTimeout(() => this.discover(), delay));
      });
  }

  private connect(holder: Holder): void {
    const id = holder.nodeId;
    if (id === this.deps.selfId || this.conns.has(id) || this.connecting.has(id) || this.banned.has(id)) return;
    this.connecting.add(id);
    void (async () => {
      try {
        const conn = await this.deps.pool.get(holder.peer);
        const t0 = performance.now();
        const reply = await conn.request('interest', { contentId: this.contentId }, { timeoutMs: 10_000 });
        const rtt = performance.now() - t0;
        const body = reply.header as unknown as InterestReply;
        const have = Bitfield.fromBytes(this.manifest.blocks.length, reply.payload);
        if (this.isStopped || conn.isClosed) return;
        this.conns.set(id, conn);
        this.scheduler.addPeer(id, have, loadOf(body), rtt, have.complete);
        conn.once('close', () => this.dropPeer(id, conn));
        this.pump();
      } catch (err) {
        this.deps.log.debug('cannot open interest', { contentId: this.contentId, peer: id, err: err as Error });
      } finally {
        this.connecting.delete(id);
      }
    })();
  }

  private dropPeer(id: string, conn: PeerConnection): void {
    if (this.conns.get(id) !== conn) return;
    this.conns.delete(id);
    this.scheduler.removePeer(id);
    this.pump();
  }

  private refreshLoads(): void {
    for (const [id, conn] of this.conns) {
      const t0 = performance.now();
      conn
        .request('load', { contentId: this.contentId }, { timeoutMs: 10_000 })
        .then((reply) => this.scheduler.updatePeer(id, loadOf(reply.header as unknown as PeerLoad), performance.now() - t0))
        .catch(() => undefined);
    }
  }

  private resolveWaiters(index: number): void {
    for (const w of this.waiters.get(index) ?? []) w.resolve();
    this.waiters.delete(index);
  }

  private async fetchBlock(peer: string, index: number): Promise<void> {
    const key = `${peer}/${index}`;
    const abort = new AbortController();
    this.aborts.set(key, abort);
    const block = this.manifest.blocks[index]!;
    try {
      const conn = this.conns.get(peer);
      if (!conn) throw new CanopyError('ERR_CONNECTION_CLOSED', 'peer is gone');
      await this.deps.downloadBucket.take(block.length, abort.signal);
      // Background blocks keep to the content's prefetch rate; a block a client waits for does not.
      if (this.pacer && !this.waiters.has(index)) {
        const wait = this.pacer.reserve(block.length, Date.now());
        if (wait > 0) await sleep(wait, undefined, { signal: abort.signal });
      }
      const reply = await conn.request('get-block', { contentId: this.contentId, index }, { timeoutMs: BLOCK_TIMEOUT_MS, signal: abort.signal });
      try {
        await this.deps.store.put(reply.payload, block.hash, { stripe: this.contentId, index });
      } catch (err) {
        // No room and nothing left to evict: no other holder can help; the node is told.
        if (isCanopyError(err, 'ERR_STORE_FULL')) {
          this.deps.onStuck({ reason: 'no-space', detail: err.message });
          return this.fail(err);
        }
        if (!isCanopyError(err, 'ERR_BLOCK_HASH_MISMATCH')) throw err;
        this.deps.log.warn('peer sent a corrupt block', { contentId: this.contentId, peer, index });
        this.apply(this.scheduler.onBlock(peer, index, false, Date.now()));
        return;
      }
      // A second copy (endgame, a duplicated urgent request) is overhead, not what the version moved.
      const duplicate = this.scheduler.have.has(index);
      this.apply(this.scheduler.onBlock(peer, index, true, Date.now()));
      this.deps.onStored(index, duplicate ? 0 : reply.payload.length);
      // Moving again, unless this session has just ended (a full store keeps its reason).
      if (!this.isStopped) this.deps.onStuck(undefined);
      this.resolveWaiters(index);
      // Other positions with the same bytes are held now too.
      for (const j of this.sameHash.get(block.hash) ?? []) {
        if (j === index || this.scheduler.have.has(j)) continue;
        this.scheduler.markHeld(j);
        this.deps.onStored(j, 0);
        this.resolveWaiters(j);
      }
    } catch (err) {
      if (abort.signal.aborted) return;
      const refused = isCanopyError(err) && ['ERR_BLOCK_NOT_FOUND', 'ERR_NOT_AUTHORISED', 'ERR_CONTENT_NOT_FOUND'].includes(err.code);
      // A partial holder lacking a block is expected; anything else is why this node is stuck, until a block arrives.
      if (!isCanopyError(err, 'ERR_BLOCK_NOT_FOUND')) this.deps.onStuck({ reason: stuckReason(err), detail: `${peer}: ${(err as Error).message}` });
      this.deps.log.debug('block fetch failed', { contentId: this.contentId, peer, index, err: err as Error });
      this.scheduler.onFailure(peer, index, refused ? 'refused' : 'error', Date.now());
    } finally {
      this.aborts.delete(key);
      this.pump();
    }
  }
}

function loadOf(v: PeerLoad): PeerLoad {
  const n = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : 0);
  return { uploads: n(v.uploads), queuedBytes: n(v.queuedBytes), rate: n(v.rate), cap: n(v.cap) };
}
