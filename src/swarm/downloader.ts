/**
 * Fetches every missing block of a content from the nodes that hold it, several requests
 * in flight, spread round-robin over holders, each block checked against the manifest
 * before it is stored. The swarm issue replaces the holder choice and block order with the
 * scheduler core; this loop keeps the same shape (events in, requests out).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CanopyError, isCanopyError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import type { Logger } from '../node/logger.js';
import type { BlockStore } from '../store/block-store.js';
import type { Holder } from '../wire/messages.js';
import type { PeerPool } from '../wire/peer-pool.js';

export interface DownloaderDeps {
  store: BlockStore;
  pool: PeerPool;
  findHolders: (contentId: string) => Promise<Holder[]>;
  onProgress: (contentId: string, manifest: Manifest, final: boolean) => void;
  log: Logger;
  concurrency: number;
}

const RETRY_DELAY_MS = 500;
const MAX_ROUNDS = 1000;

export class Downloader {
  private readonly running = new Map<string, Promise<void>>();
  private stopped = false;
  private readonly cancelled = new Set<string>();

  constructor(private readonly deps: DownloaderDeps) {}

  /** Starts fetching a content unless it is already being fetched; resolves when complete. */
  fetch(contentId: string, manifest: Manifest): Promise<void> {
    let run = this.running.get(contentId);
    if (!run) {
      run = this.run(contentId, manifest).finally(() => {
        this.running.delete(contentId);
        this.cancelled.delete(contentId);
      });
      this.running.set(contentId, run);
    }
    return run;
  }

  stop(): void {
    this.stopped = true;
  }

  /** Resolves when no fetch of this content is running (any in-flight block has been stored or dropped). */
  async settled(contentId: string): Promise<void> {
    await this.running.get(contentId)?.catch(() => undefined);
  }

  /** Stops fetching one content (this node no longer qualifies for it). */
  cancel(contentId: string): void {
    if (this.running.has(contentId)) this.cancelled.add(contentId);
  }

  private async run(contentId: string, manifest: Manifest): Promise<void> {
    const { store, log } = this.deps;
    for (let round = 0; round < MAX_ROUNDS && !this.stopped && !this.cancelled.has(contentId); round++) {
      const missing = manifest.blocks.map((_, i) => i).filter((i) => !store.has(manifest.blocks[i]!.hash));
      if (missing.length === 0) {
        this.deps.onProgress(contentId, manifest, true);
        log.info('content complete', { contentId, blocks: manifest.blocks.length });
        return;
      }
      const holders = await this.deps.findHolders(contentId).catch((err: Error) => {
        log.warn('cannot list holders', { contentId, err });
        return [];
      });
      if (holders.length === 0) {
        await sleep(RETRY_DELAY_MS);
        continue;
      }
      const failures = await this.fetchBlocks(contentId, manifest, missing, holders);
      if (failures > 0) await sleep(RETRY_DELAY_MS);
    }
    if (!this.stopped && !this.cancelled.has(contentId)) throw new CanopyError('ERR_DISTRIBUTION_FAILED', `gave up fetching ${contentId.slice(0, 12)} after ${MAX_ROUNDS} rounds`);
  }

  private async fetchBlocks(contentId: string, manifest: Manifest, missing: number[], holders: Holder[]): Promise<number> {
    const queue = [...missing];
    let turn = 0;
    let failures = 0;
    let storeFull: unknown;
    const worker = async () => {
      while (queue.length > 0 && !this.stopped && !this.cancelled.has(contentId) && failures < holders.length * 4 && storeFull === undefined) {
        const index = queue.shift()!;
        const holder = holders[turn++ % holders.length]!;
        try {
          const conn = await this.deps.pool.get(holder.peer);
          const reply = await conn.request('get-block', { contentId, index });
          await this.deps.store.put(reply.payload, manifest.blocks[index]!.hash, { stripe: contentId, index });
          this.deps.onProgress(contentId, manifest, false);
        } catch (err) {
          // No room and nothing left to evict: retrying other holders cannot help.
          if (isCanopyError(err, 'ERR_STORE_FULL')) storeFull = err;
          failures++;
          // A partial holder (an origin still receiving an upload) lacking a block is expected.
          const expected = !holder.complete && (err as { code?: string }).code === 'ERR_BLOCK_NOT_FOUND';
          this.deps.log[expected ? 'debug' : 'warn']('block fetch failed', { contentId, index, holder: holder.nodeId, err: err as Error });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.deps.concurrency, missing.length) }, worker));
    if (storeFull !== undefined) throw storeFull;
    return failures;
  }
}
