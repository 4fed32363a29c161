/**
 * Announcement intake: what a member does with an announcement or a withdrawal, whether it
 * came flooded over the tree, relayed by a peer, or with the catalog sync of a join. Only
 * the root announces and withdraws: a flood's origin must be the root, a withdrawal must
 * carry the root's CA signature, a manifest's publisher key must be in the root's signed
 * list (admission.ts decides; announcements from a key not yet listed are held until a
 * newer list arrives).
 */
import type { KeyObject } from 'node:crypto';
import type { Logger } from '../core/logger.js';
import type { Catalog } from '../catalog/catalog.js';
import type { EdgeAccessStore } from '../security/edge-access-store.js';
import type { TrustUpdate } from '../security/peer-trust.js';
import { verifyWithdrawal } from '../security/withdrawal.js';
import type { BlockStore } from '../store/block-store.js';
import type { JoinReply } from '../wire/messages.js';
import { admit, judgeAnnouncement, type Self, isOwn, qualifies } from './admission.js';
import type { ContentLifecycle } from './content-lifecycle.js';
import { HeldAnnouncements } from './held-announcements.js';
import type { Holdings } from './holdings.js';
import { liveContents } from '../catalog/catalog-views.js';
import { UNLISTED_REASON, unlistedContents } from './unlisted-contents.js';

export interface IntakeDeps {
  catalog: Catalog;
  store: BlockStore;
  access: EdgeAccessStore;
  lifecycle: ContentLifecycle;
  holdings: Holdings;
  caPublicKey: KeyObject;
  /** This node's copy of the root's publisher list. */
  publishers: { isAuthorised(key: unknown): boolean; haveList(): boolean };
  self: () => Self;
  /** The root's node id, once known. */
  rootId: () => string | undefined;
  /** Applies the publisher list that comes with a catalog sync (trust-changes.ts). */
  onTrustUpdate: (update: TrustUpdate) => void;
  /** The root has the catalog from the start; a member learns it at its first join. */
  synced: boolean;
  log: Logger;
}

export class AnnouncementIntake {
  /** Announcements from publisher keys not (yet) in this node's list, judged again when a newer list arrives. */
  readonly held = new HeldAnnouncements();
  private isSynced: boolean;
  /** The contents known when the last join was sent (./unlisted-contents.ts). */
  private knownAtJoin: Set<string> | undefined;

  constructor(private readonly deps: IntakeDeps) {
    this.isSynced = deps.synced;
  }

  /** Whether the catalog (withdrawals included) has been learnt from the root. */
  get synced(): boolean {
    return this.isSynced;
  }

  onAnnounce(contentId: string, untrusted: unknown, access?: unknown): void {
    const { catalog, log } = this.deps;
    const publisher = typeof untrusted === 'object' && untrusted !== null ? (untrusted as { publisher?: unknown }).publisher : undefined;
    const shown = typeof publisher === 'string' ? publisher.slice(0, 64) : null;
    const decision = judgeAnnouncement({ withdrawn: !!catalog.withdrawal(contentId), known: !!catalog.get(contentId), publisherAuthorised: this.deps.publishers.isAuthorised(publisher), haveList: this.deps.publishers.haveList() });
    if (decision.kind === 'ignore') return;
    if (decision.kind === 'hold') {
      this.held.hold(contentId, untrusted, access);
      // Before the first list (a new node, whose catalog sync brings it), that is expected, not an attack.
      if (decision.expected) log.debug('announcement held until the publisher list arrives', { contentId, publisher: shown });
      else log.warn('dropped an announcement signed by a publisher key the root has not authorised', { contentId, publisher: shown });
      return;
    }
    if (!this.record(contentId, untrusted, access, shown)) return;
    const manifest = catalog.require(contentId);
    if (!catalog.isLive(contentId)) return;
    const admission = admit(manifest, this.deps.self(), this.synced);
    this.deps.store.pin(contentId, admission.pin);
    if (!admission.qualified) {
      if (isOwn(manifest, this.deps.self())) this.deps.holdings.disqualified(contentId, manifest);
      else log.info('not qualified for content', { contentId, criteria: manifest.criteria });
      return;
    }
    this.deps.holdings.prefetch(contentId, manifest);
  }

  /** Records the access statement and the manifest; false (and a warning) when either is invalid. */
  private record(contentId: string, untrusted: unknown, access: unknown, shown: string | null): boolean {
    const { log } = this.deps;
    if (access !== undefined && access !== null) {
      try {
        this.deps.access.record(contentId, access);
      } catch (err) {
        // A content whose access statement is forged is dropped whole: serving it as public would leak it.
        log.warn('dropped announcement with an invalid access statement', { contentId, err: err as Error });
        return false;
      }
    }
    try {
      this.deps.catalog.add(contentId, untrusted);
    } catch (err) {
      log.warn('dropped invalid announcement', { contentId, publisher: shown, err: err as Error });
      return false;
    }
    return true;
  }

  /** A newer publisher list arrived: every held announcement is judged again. */
  retryHeld(): void {
    for (const h of this.held.take()) this.onAnnounce(h.contentId, h.manifest, h.access);
  }

  onTreeDelivery(via: 'flood' | 'route', origin: string, payload: unknown): void {
    const p = payload as { type?: unknown; contentId?: unknown; manifest?: unknown; access?: unknown };
    if (via !== 'flood' || (p.type !== 'announce' && p.type !== 'withdraw') || typeof p.contentId !== 'string') return;
    // Only the root announces and withdraws (the flood's origin is checked; access statements
    // are CA-signed; the root's list of authorised publisher keys is still to come).
    if (origin !== this.deps.rootId()) {
      this.deps.log.warn(`dropped ${p.type === 'announce' ? 'an announcement' : 'a withdrawal'} not from the root`, { origin, contentId: p.contentId });
      return;
    }
    if (p.type === 'announce') return this.onAnnounce(p.contentId, p.manifest, p.access);
    this.applyWithdrawal(p, 'flood');
  }

  /**
   * Obeys a withdrawal only if the root signed it with the cluster CA key: a flood's origin is
   * only what the flooder says, so a member could otherwise take any content out of service.
   */
  applyWithdrawal(value: unknown, via: 'flood' | 'peer' | 'sync'): void {
    let w;
    try {
      w = verifyWithdrawal(value, this.deps.caPublicKey);
    } catch (err) {
      this.deps.log.warn('dropped a withdrawal without a valid root signature', { via, err: err as Error });
      return;
    }
    void this.deps.lifecycle.withdraw(w.contentId, w.at, w.reason);
  }

  /** A join is being sent: what is known now is what its sync can speak for. */
  joining(): void {
    this.knownAtJoin = new Set(this.deps.catalog.list().map((c) => c.contentId));
  }

  /**
   * Applies the catalog sync of a join: withdrawals first, and the contents the root no
   * longer lists (so nothing out of service is fetched or served), then the live contents;
   * only then does the node serve.
   */
  onCatalogSync(reply: JoinReply): void {
    // The list that authorises the catalog's publishers comes with it, and is applied first.
    if (reply.publishers !== undefined && reply.publishers !== null) this.deps.onTrustUpdate({ records: [], publishers: reply.publishers });
    // Withdrawals are marked synchronously, so the node may serve (and fetch) once they are applied.
    for (const w of reply.withdrawn ?? []) this.applyWithdrawal(w, 'sync');
    this.retireUnlisted(reply);
    if (!this.isSynced) this.deps.log.info('catalog synced; serving', { contents: reply.catalog.length, withdrawn: reply.withdrawn?.length ?? 0 });
    this.isSynced = true;
    for (const c of reply.catalog) this.onAnnounce(c.contentId, c.manifest, c.access);
    // Local ingests outside the criteria are kept: said once, loudly (./owned-outside-criteria.ts).
    const self = this.deps.self();
    for (const c of this.deps.catalog.list()) if (isOwn(c.manifest, self) && !qualifies(c.manifest, self)) this.deps.holdings.disqualified(c.contentId, c.manifest);
  }

  /** Retires the contents whose withdrawal the root may have pruned while this node was away. */
  private retireUnlisted(reply: JoinReply): void {
    const knownAtJoin = this.knownAtJoin;
    this.knownAtJoin = undefined;
    // A root before this version sends no horizon: its withdrawals are all there is.
    const horizon = typeof reply.horizon === 'string' ? Date.parse(reply.horizon) : Number.NaN;
    if (!knownAtJoin || !Number.isFinite(horizon)) return;
    const { catalog, lifecycle, log } = this.deps;
    const gone = unlistedContents({ live: liveContents(catalog), listed: new Set(reply.catalog.map((c) => c.contentId)), knownAtJoin, horizon, self: this.deps.self() });
    if (gone.length === 0) return;
    log.info('retiring contents the root no longer lists (their withdrawal is past its retention)', { count: gone.length, contentIds: gone.slice(0, 20) });
    const at = new Date().toISOString();
    for (const id of gone) void lifecycle.withdraw(id, at, UNLISTED_REASON);
  }
}
