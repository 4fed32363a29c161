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
import { PrefetchGate } from './prefetch-gate.js';

export interface DownloaderDeps {
  store: BlockStore;
  pool: PeerPool;
  findHolders: (contentId: string) => Promise<Holder[]>;
  onProgress: (contentId: string, manifest: Manifest, final: boolean) => void;
  /** Why the download cannot progress now (undefined once it moves again). */
  onStuck?: (contentId: string, stuck: Stuck | undefined) => void;
  log: Logger;
  concurrency: number;
}

/** Why a node cannot make progress on a content: shown in the convergence view. */
export type StuckReason = 'refused' | 'no-space' | 'no-peer' | 'error' | 'window';
export interface Stuck {
  reason: StuckReason;
  detail: string;
}

/** Classifies a failed block fetch. */
export function stuckReason(err: unknown): StuckReason {
  if (isCanopyError(err, 'ERR_NOT_AUTHORISED')) return 'refused';
  // The holders named by the root cannot be reached (down, partitioned): no peer to fetch from.
  if (isCanopyError(err, 'ERR_UNREACHABLE') || isCanopyError(err, 'ERR_CONNECTION_CLOSED')) return 'no-peer';
  const cause = (err as { cause?: { code?: string } } | null)?.cause;
  if (cause?.code === 'ENOSPC' || cause?.code === 'EDQUOT') return 'no-space';
  return 'error';
}

const RETRY_DELAY_MS = 500;
const MAX_ROUNDS = 1000;

export class Downloader {
  private readonly running = new Map<string, Promise<void>>();
  private readonly cancelled = new Set<string>();
  private readonly fetched = new Map<string, number>();
  /** Contents for which a stuck reason was reported and not yet cleared. */
  private readonly stuck = new Set<string>();
  private stopped = false;
  private readonly gate: PrefetchGate;

  constructor(private readonly deps: DownloaderDeps) {
    this.gate = new PrefetchGate((id, detail) => this.setStuck(id, detail ? { reason: 'window', detail } : undefined));
  }

  /** Starts fetching a content unless it is already being fetched; resolves when complete. */
  fetch(contentId: string, manifest: Manifest): Promise<void> {
    let run = this.running.get(contentId);
    if (!run) {
      run = this.run(contentId, manifest).finally(() => this.running.delete(contentId));
      this.running.set(contentId, run);
    }
    return run;
  }

  stop(): void {
    this.stopped = true;
  }

  /** Stops fetching a content for good; resolves once no more of its blocks can be stored. */
  async cancel(contentId: string): Promise<void> {
    this.cancelled.add(contentId);
    await this.running.get(contentId)?.catch(() => undefined);
  }

  /** Bytes this process received from peers for a content (blocks already held are not fetched). */
  fetchedBytes(contentId: string): number {
    return this.fetched.get(contentId) ?? 0;
  }

  /** Reports why a content cannot progress, or that it moves again (only changes are reported). */
  private setStuck(contentId: string, stuck: Stuck | undefined): void {
    if (!stuck && !this.stuck.has(contentId)) return;
    if (stuck) this.stuck.add(contentId);
    else this.stuck.delete(contentId);
    this.deps.onStuck?.(contentId, stuck);
  }

  private halted(contentId: string): boolean {
    return this.stopped || this.cancelled.has(contentId);
  }

  private async run(contentId: string, manifest: Manifest): Promise<void> {
    const { store, log } = this.deps;
    for (let round = 0; round < MAX_ROUNDS && !this.halted(contentId); round++) {
      // One fetch per distinct missing hash: a content may repeat a block, and a block held for another content is not fetched at all.
      const seen = new Set<string>();
      const missing = manifest.blocks.map((_, i) => i).filter((i) => {
        const hash = manifest.blocks[i]!.hash;
        if (seen.has(hash) || store.has(hash)) return false;
        seen.add(hash);
        return true;
      });
      if (missing.length === 0) {
        this.setStuck(contentId, undefined);
        this.deps.onProgress(contentId, manifest, true);
        log.info('content complete', { contentId, blocks: manifest.blocks.length });
        return;
      }
      const holders = await this.deps.findHolders(contentId).catch((err: Error) => {
        log.warn('cannot list holders', { contentId, err });
        return [];
      });
      if (holders.length === 0) {
        this.setStuck(contentId, { reason: 'no-peer', detail: 'no node holds this content yet' });
        await sleep(RETRY_DELAY_MS);
        continue;
      }
      const failure = await this.fetchBlocks(contentId, manifest, missing, holders);
      if (failure) {
        this.setStuck(contentId, failure);
        await sleep(RETRY_DELAY_MS);
      }
    }
    if (!this.halted(contentId)) throw new CanopyError('ERR_DISTRIBUTION_FAILED', `gave up fetching ${contentId.slice(0, 12)} after ${MAX_ROUNDS} rounds`);
  }

  /** Fetches a round of blocks; returns why the round stalled if any fetch failed and none succeeded since. */
  private async fetchBlocks(contentId: string, manifest: Manifest, missing: number[], holders: Holder[]): Promise<Stuck | undefined> {
    const queue = [...missing];
    let turn = 0;
    let failures = 0;
    let last: Stuck | undefined;
    const worker = async () => {
      while (queue.length > 0 && !this.halted(contentId) && failures < holders.length * 4) {
        const index = queue.shift()!;
        const holder = holders[turn++ % holders.length]!;
        try {
          // Background prefetch follows the content's bandwidth policy; client reads do not come here.
          await this.gate.admit(contentId, manifest, manifest.blocks[index]!.length, () => this.halted(contentId));
          if (this.halted(contentId)) return;
          const conn = await this.deps.pool.get(holder.peer);
          const reply = await conn.request('get-block', { contentId, index });
          if (this.halted(contentId)) return;
          await this.deps.store.put(reply.payload, manifest.blocks[index]!.hash);
          this.fetched.set(contentId, this.fetchedBytes(contentId) + reply.payload.length);
          last = undefined;
          this.setStuck(contentId, undefined);
          this.deps.onProgress(contentId, manifest, false);
        } catch (err) {
          failures++;
          last = { reason: stuckReason(err), detail: `${holder.nodeId}: ${(err as Error).message}` };
          // A partial holder (an origin still receiving an upload) lacking a block is expected.
          const expected = !holder.complete && (err as { code?: string }).code === 'ERR_BLOCK_NOT_FOUND';
          this.deps.log[expected ? 'debug' : 'warn']('block fetch failed', { contentId, index, holder: holder.nodeId, err: err as Error });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.deps.concurrency, missing.length) }, worker));
    return last;
  }
}
