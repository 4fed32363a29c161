/**
 * "Fetch this one block now": what the virtual file layer asks when a reader needs a block
 * this node does not hold. There is one way to fetch a block, the swarm's: this adapter
 * hands the request to the node's downloader (`fetchNow`: the block goes ahead of every
 * prefetch, to the peer expected soonest, under the content's bound on urgent bytes in
 * flight), waits for it to be verified and stored, and reads it back. The swarm session is
 * the one owner of a content's fetch state (bitfield, stuck reason, bytes fetched).
 * A reader gives up at its deadline; the block may still arrive for the next one.
 */
import { CanopyError } from '../core/errors.js';
import { unpooled, type Lease } from '../core/block-pool.js';
import type { Manifest } from '../core/manifest.js';
import type { BlockStore } from '../store/block-store.js';

export interface FetchOptions {
  /** Epoch milliseconds after which the fetch fails with ERR_TIMEOUT. */
  deadline?: number;
  signal?: AbortSignal;
}

/** What the virtual file layer needs from the swarm: one verified block, now. */
export interface BlockSource {
  fetchBlock(contentId: string, index: number, options?: FetchOptions): Promise<Buffer>;
  /** `fetchBlock`, read back into a block pool buffer (core/block-pool.ts) the caller releases. */
  fetchLease?(contentId: string, index: number, options?: FetchOptions): Promise<Lease>;
  /** Fetches a block to disk only (read-ahead): nothing is read back into memory. */
  fetchToDisk?(contentId: string, index: number, options?: FetchOptions): Promise<void>;
}

export interface BlockFetcherDeps {
  store: BlockStore;
  manifestOf: (contentId: string) => Manifest;
  /**
   * The swarm's on-demand path: resolves once the block is held, or with its verified bytes
   * when the store could not keep them (full): the reader still gets them.
   */
  fetchNow: (contentId: string, index: number, deadline: number) => Promise<Buffer | undefined>;
}

export const DEFAULT_FETCH_DEADLINE_MS = 30_000;

export class BlockFetcher implements BlockSource {
  constructor(private readonly deps: BlockFetcherDeps) {}

  async fetchBlock(contentId: string, index: number, options: FetchOptions = {}): Promise<Buffer> {
    const lease = await this.fetchLease(contentId, index, options);
    if (!lease.pooled) return lease.bytes;
    const copy = Buffer.from(lease.bytes);
    lease.release();
    return copy;
  }

  async fetchLease(contentId: string, index: number, options: FetchOptions = {}): Promise<Lease> {
    const manifest = this.deps.manifestOf(contentId);
    const block = manifest.blocks[index];
    if (!block) throw new CanopyError('ERR_BLOCK_NOT_FOUND', `content ${contentId.slice(0, 12)} has no block ${index}`);
    const deadline = options.deadline ?? Date.now() + DEFAULT_FETCH_DEADLINE_MS;
    const fetched = this.deps.fetchNow(contentId, index, deadline);
    const bytes = await within(fetched, deadline, options.signal, `block ${index} of ${manifest.name} could not be fetched in time`);
    return bytes ? unpooled(bytes) : await this.deps.store.getLease(block.hash);
  }

  async fetchToDisk(contentId: string, index: number, options: FetchOptions = {}): Promise<void> {
    const manifest = this.deps.manifestOf(contentId);
    if (!manifest.blocks[index]) throw new CanopyError('ERR_BLOCK_NOT_FOUND', `content ${contentId.slice(0, 12)} has no block ${index}`);
    const deadline = options.deadline ?? Date.now() + DEFAULT_FETCH_DEADLINE_MS;
    await within(this.deps.fetchNow(contentId, index, deadline), deadline, options.signal, `block ${index} of ${manifest.name} could not be fetched in time`);
  }
}

/** `p`, unless the deadline passes or the signal aborts first (the fetch itself goes on). */
function within<T>(p: Promise<T>, deadline: number, signal: AbortSignal | undefined, timeoutMessage: string): Promise<T> {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => finish(() => reject(new CanopyError('ERR_TIMEOUT', timeoutMessage))), Math.max(0, deadline - Date.now()));
    const onAbort = () => finish(() => reject(abortError(signal!)));
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    };
    p.then(
      (v) => finish(() => resolve(v)),
      (e: unknown) => finish(() => reject(e as Error)),
    );
  });
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new CanopyError('ERR_TIMEOUT', 'block fetch aborted');
}
