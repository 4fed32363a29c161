/**
 * "Fetch this one block now": the narrow path the virtual file layer uses when a reader
 * needs a block this node does not hold. It asks the holders one after another until one
 * answers with bytes that hash to the manifest's value, stores them (so the next reader
 * and the background download find them), and gives up at the deadline. Concurrent asks
 * for the same block share one fetch.
 *
 * This is deliberately separate from the background downloader: the swarm scheduler
 * (issue 5) can take it over by implementing `BlockSource` with its own priority queue;
 * callers only ever see `fetchBlock(contentId, index, { deadline, signal })`.
 */
import { CanopyError, isCanopyError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import type { Logger } from '../core/logger.js';
import type { BlockStore } from '../store/block-store.js';
import type { Holder } from '../wire/messages.js';
import type { PeerPool } from '../wire/peer-pool.js';

export interface FetchOptions {
  /** Epoch milliseconds after which the fetch fails with ERR_TIMEOUT. */
  deadline?: number;
  signal?: AbortSignal;
}

/** What the virtual file layer needs from the swarm: one verified block, now. */
export interface BlockSource {
  fetchBlock(contentId: string, index: number, options?: FetchOptions): Promise<Buffer>;
}

export interface BlockFetcherDeps {
  store: BlockStore;
  pool: PeerPool;
  manifestOf: (contentId: string) => Manifest;
  findHolders: (contentId: string) => Promise<Holder[]>;
  /** Called after a fetched block is stored (the node reports its holdings). */
  /** A block was stored; `bytes` were received for it (counted as what the content moved). */
  onStored?: (contentId: string, index: number, bytes: number) => void;
  log: Logger;
}

export const DEFAULT_FETCH_DEADLINE_MS = 30_000;
const HOLDERS_TTL_MS = 2_000;
const RETRY_PAUSE_MS = 200;

export interface FetcherStats {
  fetched: number;
  fetchedBytes: number;
  failed: number;
  waitMs: number;
}

export class BlockFetcher implements BlockSource {
  private readonly inFlight = new Map<string, Promise<Buffer>>();
  private readonly holders = new Map<string, { at: number; list: Promise<Holder[]> }>();
  private turn = 0;
  readonly stats: FetcherStats = { fetched: 0, fetchedBytes: 0, failed: 0, waitMs: 0 };

  constructor(private readonly deps: BlockFetcherDeps) {}

  fetchBlock(contentId: string, index: number, options: FetchOptions = {}): Promise<Buffer> {
    const key = `${contentId}:${index}`;
    let p = this.inFlight.get(key);
    if (!p) {
      p = this.fetchOnce(contentId, index, options.deadline ?? Date.now() + DEFAULT_FETCH_DEADLINE_MS).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, p);
    }
    return options.signal ? raceAbort(p, options.signal) : p;
  }

  private async fetchOnce(contentId: string, index: number, deadline: number): Promise<Buffer> {
    const manifest = this.deps.manifestOf(contentId);
    const block = manifest.blocks[index];
    if (!block) throw new CanopyError('ERR_BLOCK_NOT_FOUND', `content ${contentId.slice(0, 12)} has no block ${index}`);
    const t0 = Date.now();
    let lastError: unknown;
    while (Date.now() < deadline) {
      const holders = await this.listHolders(contentId);
      if (holders.length === 0) lastError = new CanopyError('ERR_NOT_HELD', `no node holds ${manifest.name} yet`);
      for (let k = 0; k < holders.length && Date.now() < deadline; k++) {
        const holder = holders[(this.turn + k) % holders.length]!;
        try {
          const conn = await this.deps.pool.get(holder.peer);
          const reply = await conn.request('get-block', { contentId, index }, { timeoutMs: Math.max(1, deadline - Date.now()) });
          // put checks the hash first; a full store (nothing left to evict) still lets the
          // verified bytes reach the reader, they are just not kept.
          const kept = await this.deps.store.put(reply.payload, block.hash, { stripe: contentId, index }).then(
            () => true,
            (err: unknown) => {
              if (!isCanopyError(err, 'ERR_STORE_FULL')) throw err;
              this.deps.log.warn('block served without keeping it: the store is full', { contentId, index });
              return false;
            },
          );
          if (kept) this.deps.onStored?.(contentId, index, reply.payload.length);
          this.turn++;
          this.stats.fetched++;
          this.stats.fetchedBytes += reply.payload.length;
          this.stats.waitMs += Date.now() - t0;
          return reply.payload;
        } catch (err) {
          lastError = err;
          if (isCanopyError(err, 'ERR_NOT_AUTHORISED')) throw err;
          this.deps.log.warn('on-demand block fetch failed', { contentId, index, holder: holder.nodeId, err: err as Error });
        }
      }
      this.holders.delete(contentId);
      await new Promise((r) => setTimeout(r, Math.min(RETRY_PAUSE_MS, Math.max(0, deadline - Date.now()))));
    }
    this.stats.failed++;
    throw new CanopyError('ERR_TIMEOUT', `block ${index} of ${manifest.name} could not be fetched in time: ${(lastError as Error | undefined)?.message ?? 'no holder answered'}`, { cause: lastError });
  }

  /** Holder lists are cached briefly: a player reading block after block would otherwise ask the root for each one. */
  private listHolders(contentId: string): Promise<Holder[]> {
    const cached = this.holders.get(contentId);
    if (cached && Date.now() - cached.at < HOLDERS_TTL_MS) return cached.list;
    const list = this.deps.findHolders(contentId).catch((err: Error) => {
      this.deps.log.warn('cannot list holders', { contentId, err });
      return [];
    });
    this.holders.set(contentId, { at: Date.now(), list });
    return list;
  }
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new CanopyError('ERR_TIMEOUT', 'block fetch aborted');
}
