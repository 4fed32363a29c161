/**
 * Holdings and progress: which blocks of each content this node holds (bitfields kept
 * current as blocks arrive and leave), why a download is stuck, the progress reports to the
 * root (at most every 200 ms, and when complete), background prefetch, and what a failed
 * volume or a lost qualification does to what is held.
 */
import type { Manifest } from '../core/manifest.js';
import type { OwnedOutsideCriteria } from './owned-outside-criteria.js';
import type { Logger } from '../core/logger.js';
import type { Catalog } from '../catalog/catalog.js';
import type { BlockStore, VolumeFailure } from '../store/block-store.js';
import { Bitfield } from '../swarm/bitfield.js';
import type { Downloader, Stuck } from '../swarm/downloader.js';
import type { HaveBroadcaster } from '../swarm/have-broadcaster.js';
import { mustHold, isOwn, qualifies, type Self } from './admission.js';
import type { RootLink } from './root-link.js';

const PROGRESS_INTERVAL_MS = 200;

export interface HoldingsDeps {
  catalog: Catalog;
  store: BlockStore;
  broadcaster: HaveBroadcaster;
  /** Built after this (it asks for bitfields); read at call time. */
  downloader: () => Downloader;
  rootLink: RootLink | undefined;
  self: () => Self;
  /** Whether the catalog sync happened (nothing is prefetched before it). */
  synced: () => boolean;
  /** Local ingests kept outside the criteria (./owned-outside-criteria.ts). */
  ownedOutside: OwnedOutsideCriteria;
  log: Logger;
}

export class Holdings {
  private readonly bitfields = new Map<string, Bitfield>();
  private readonly stuck = new Map<string, Stuck>();
  private readonly lastReport = new Map<string, number>();

  constructor(private readonly deps: HoldingsDeps) {}

  /** Which blocks of a content this node holds: read from the index once, then kept current as blocks arrive. */
  bitfield(contentId: string): Bitfield {
    let b = this.bitfields.get(contentId);
    if (!b) {
      const m = this.deps.catalog.require(contentId);
      const bits = new Bitfield(m.blocks.length);
      m.blocks.forEach((blk, i) => this.deps.store.has(blk.hash) && bits.set(i));
      this.bitfields.set(contentId, bits);
      b = bits;
    }
    return b;
  }

  /** A block was stored (swarm or upload): set it and tell the peers that listen. */
  stored(contentId: string, index: number): void {
    if (this.bitfield(contentId).set(index)) this.deps.broadcaster.have(contentId, index);
  }

  /**
   * Forgets everything kept for a content out of service (its retirement): the bitfield, the
   * stuck reason and the time of the last progress report. Without this each entry stayed
   * for every content ever fetched (issue 25).
   */
  drop(contentId: string): void {
    this.bitfields.delete(contentId);
    this.stuck.delete(contentId);
    this.lastReport.delete(contentId);
  }

  /** Whether anything is kept for this content (tests: a retired content leaves nothing). */
  keeps(contentId: string): boolean {
    return this.bitfields.has(contentId) || this.stuck.has(contentId) || this.lastReport.has(contentId);
  }

  /**
   * Blocks of a content left the store (eviction, a failed volume): the cached bitfield and
   * any swarm session built on it are dropped, so this node never advertises what it lost.
   */
  forgetHeld(contentId: string): void {
    this.deps.downloader().cancel(contentId);
    this.bitfields.delete(contentId);
  }

  reportProgress(contentId: string, manifest: Manifest, final: boolean): void {
    const { catalog } = this.deps;
    // First: a late report of a retired content must not bring its entry back after drop().
    if (!catalog.isLive(contentId)) return;
    const now = Date.now();
    if (!final && now - (this.lastReport.get(contentId) ?? 0) < PROGRESS_INTERVAL_MS) return;
    this.lastReport.set(contentId, now);
    if (!qualifies(manifest, this.deps.self()) && !final) return;
    const h = catalog.holding(contentId);
    if (h.complete) this.stuck.delete(contentId);
    const fetched = this.deps.downloader().fetchedBytes(contentId);
    const stuck = this.stuck.get(contentId);
    this.deps.rootLink?.progress({ contentId, haveBlocks: h.haveBlocks, haveBytes: h.haveBytes, ...(fetched > 0 ? { fetchedBytes: fetched } : {}), ...(stuck ? { stuck: stuck.reason, stuckDetail: stuck.detail.slice(0, 500) } : {}) });
  }

  /** Reports every content as complete-or-not (after a (re)join, after an eviction). */
  reportNow(contentId: string): void {
    const manifest = this.deps.catalog.get(contentId);
    if (manifest) this.reportProgress(contentId, manifest, true);
  }

  onStuck(contentId: string, stuck: Stuck | undefined): void {
    const was = this.stuck.get(contentId);
    if (stuck && this.deps.catalog.isLive(contentId)) this.stuck.set(contentId, stuck);
    else this.stuck.delete(contentId);
    if (was?.reason !== stuck?.reason) this.reportNow(contentId);
  }

  /**
   * Fetches in the background a live content this node qualifies for. Nothing is fetched
   * before the catalog sync (an announcement relayed by the tree, or a trust update, may come
   * first): the node must know what was withdrawn; the sync announces every live content again.
   */
  prefetch(contentId: string, manifest: Manifest): void {
    const self = this.deps.self();
    if (!self.prefetch || !this.deps.synced() || !this.deps.catalog.isLive(contentId) || !qualifies(manifest, self)) return;
    this.deps
      .downloader()
      .fetch(contentId, manifest)
      .then(() => this.reportProgress(contentId, manifest, true))
      .catch((err: Error) => this.deps.log.error('download failed', { contentId, err }));
  }

  /**
   * A volume failed and took blocks with it: tell the root what we hold now (so we stop
   * being listed as a complete holder), then re-fetch what the placement says we must hold.
   */
  onVolumeFailed(failure: VolumeFailure): void {
    const { catalog, log } = this.deps;
    for (const { contentId, manifest } of catalog.list()) {
      this.forgetHeld(contentId);
      const holding = catalog.holding(contentId);
      const must = mustHold(manifest, this.deps.self());
      if (holding.complete || (holding.haveBlocks === 0 && !must)) continue;
      this.reportProgress(contentId, manifest, true);
      if (!must) continue;
      log.warn('re-fetching blocks lost with a volume', { contentId, volume: failure.id, missing: holding.totalBlocks - holding.haveBlocks });
      this.deps.downloader().fetch(contentId, manifest).catch((err: Error) => log.error('re-fetch failed', { contentId, err }));
    }
  }

  /** Stops the download of a content this node no longer qualifies for, then removes its blocks. */
  disqualified(contentId: string, manifest: Manifest): void {
    if (isOwn(manifest, this.deps.self())) return this.deps.ownedOutside.note(contentId, manifest);
    const downloader = this.deps.downloader();
    downloader.cancel(contentId);
    void downloader
      .settled(contentId)
      .then(() => this.evict(contentId, manifest))
      .catch((err: Error) => this.deps.log.error('eviction failed', { contentId, err }));
  }

  /** Removes the blocks of a content this node no longer qualifies for (blocks shared with a content it keeps stay). */
  private async evict(contentId: string, manifest: Manifest): Promise<void> {
    const { catalog, store } = this.deps;
    const self = this.deps.self();
    const kept = new Set<string>();
    for (const c of catalog.list()) if (c.contentId !== contentId && catalog.isLive(c.contentId) && (qualifies(c.manifest, self) || isOwn(c.manifest, self))) c.manifest.blocks.forEach((b) => kept.add(b.hash));
    let removed = 0;
    for (const b of manifest.blocks) {
      if (kept.has(b.hash) || !store.has(b.hash)) continue;
      await store.delete(b.hash);
      removed++;
    }
    if (removed > 0) this.deps.log.info('evicted content no longer authorised here', { contentId, blocks: removed });
    this.forgetHeld(contentId);
    this.reportProgress(contentId, manifest, true);
  }
}
