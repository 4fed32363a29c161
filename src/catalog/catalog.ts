/**
 * The contents this node knows (manifests, checked against their ids) and how much of
 * each it holds. Holdings are derived from the block index rather than stored, so they
 * can never disagree with what is on disk.
 */
import { CanopyError } from '../core/errors.js';
import { contentIdOf, isExpired, parseManifest, type Manifest } from '../core/manifest.js';
import type { BlockStore } from '../store/block-store.js';

export interface Holding {
  haveBlocks: number;
  haveBytes: number;
  totalBlocks: number;
  size: number;
  complete: boolean;
}

export interface Withdrawal {
  contentId: string;
  at: string;
  reason: string;
}

/** Why a content is not served: withdrawn by its publisher or an admin, or past `expires`. */
export type ContentState = 'live' | 'withdrawn' | 'expired';

export interface Version {
  contentId: string;
  manifest: Manifest;
  version: number;
  state: ContentState;
}

/** A change to the catalog, as a root's shared state store records it. */
export type CatalogRecord = { kind: 'content'; contentId: string; manifest: Manifest } | { kind: 'withdrawal'; withdrawal: Withdrawal } | { kind: 'forget'; contentId: string } | { kind: 'forget-withdrawal'; contentId: string };

export class Catalog {
  /** Told of every new content and withdrawal (a root mirrors them into its state database). */
  private readonly listeners: ((r: CatalogRecord) => void)[] = [];
  private readonly cache = new Map<string, Manifest>();
  private readonly withdrawn = new Map<string, Withdrawal>();
  /** Contents with an `expires` time, so the expiry sweep need not read every manifest. */
  private readonly expiring = new Map<string, number>();

  /** Only the index and `held` are used: a standby root keeps a catalog over an in-memory index (src/root/state/standby-mirror.ts). */
  constructor(private readonly store: Pick<BlockStore, 'index' | 'held'>) {
    for (const w of store.index.allWithdrawals()) this.withdrawn.set(w.id, { contentId: w.id, at: w.at, reason: w.reason });
    for (const c of this.list()) this.noteExpiry(c.contentId, c.manifest);
  }

  /** Live contents whose `expires` is at or before `now`. */
  expiredLive(now: number): string[] {
    return [...this.expiring].filter(([id, at]) => at <= now && !this.withdrawn.has(id)).map(([id]) => id);
  }

  private noteExpiry(contentId: string, manifest: Manifest): void {
    if (manifest.expires !== undefined && !this.withdrawn.has(contentId)) this.expiring.set(contentId, Date.parse(manifest.expires));
  }

  /** Takes a content out of service (persisted). Returns false if it already was. */
  withdraw(contentId: string, at: string, reason: string): boolean {
    if (this.withdrawn.has(contentId)) return false;
    this.store.index.putWithdrawal({ id: contentId, at, reason });
    this.withdrawn.set(contentId, { contentId, at, reason });
    this.expiring.delete(contentId);
    this.tell({ kind: 'withdrawal', withdrawal: { contentId, at, reason } });
    return true;
  }

  /**
   * Forgets the record of a content out of service (history retention, ./history-retention.ts):
   * its manifest goes; its withdrawal stays until `forgetWithdrawal`, so the content is not
   * taken for live again while the root still sends that withdrawal.
   */
  forget(contentId: string): void {
    if (this.state(contentId) === 'live') throw new CanopyError('ERR_USAGE', `content ${contentId.slice(0, 12)} is live: only withdrawn or expired records are pruned`);
    this.store.index.deleteContent(contentId);
    this.cache.delete(contentId);
    this.expiring.delete(contentId);
    this.tell({ kind: 'forget', contentId });
  }

  /**
   * Forgets a withdrawal past the retention, once the content's manifest is gone (else the
   * content would read as live again). From then on only the root's catalog sync, which no
   * longer lists it, says it is out of service (../node/unlisted-contents.ts).
   */
  forgetWithdrawal(contentId: string): void {
    if (this.get(contentId)) throw new CanopyError('ERR_USAGE', `content ${contentId.slice(0, 12)} still has its record: forget it before its withdrawal`);
    if (!this.withdrawn.delete(contentId)) return;
    this.store.index.deleteWithdrawal(contentId);
    this.tell({ kind: 'forget-withdrawal', contentId });
  }

  onRecord(listener: (r: CatalogRecord) => void): void {
    this.listeners.push(listener);
  }

  private tell(r: CatalogRecord): void {
    for (const l of this.listeners) l(r);
  }

  withdrawal(contentId: string): Withdrawal | undefined {
    return this.withdrawn.get(contentId);
  }

  withdrawals(): Withdrawal[] {
    return [...this.withdrawn.values()];
  }

  state(contentId: string, now: number = Date.now()): ContentState {
    const w = this.withdrawn.get(contentId);
    if (w) return w.reason === 'expired' ? 'expired' : 'withdrawn';
    const m = this.get(contentId);
    return m && isExpired(m, now) ? 'expired' : 'live';
  }

  isLive(contentId: string, now: number = Date.now()): boolean {
    return this.get(contentId) !== undefined && this.state(contentId, now) === 'live';
  }

  /** Every version published under a name, oldest first, numbered from 1. */
  versions(name: string): Version[] {
    return this.store.index
      .contentsByName(name)
      .reverse()
      .map((r, i) => ({ contentId: r.id, manifest: this.require(r.id), version: i + 1, state: this.state(r.id) }));
  }

  /** Like resolve, but only live contents, and a name gives its newest live version. */
  resolveLive(ref: string): { contentId: string; manifest: Manifest } | undefined {
    const found = this.resolve(ref);
    // An id names one version exactly: live or nothing. A name falls back to older live versions.
    if (found?.contentId.startsWith(ref)) return this.isLive(found.contentId) ? found : undefined;
    const live = this.versions(ref).filter((v) => v.state === 'live');
    const newest = live[live.length - 1];
    return newest ? { contentId: newest.contentId, manifest: newest.manifest } : undefined;
  }

  /** Block hashes used by any live content other than `except`: these must never be freed. */
  liveHashes(except: string): Set<string> {
    const out = new Set<string>();
    for (const c of this.list()) {
      if (c.contentId !== except && this.isLive(c.contentId)) for (const b of c.manifest.blocks) out.add(b.hash);
    }
    return out;
  }

  /** Records a manifest after checking it hashes to `contentId`. Returns false if already known. */
  add(contentId: string, untrusted: unknown): boolean {
    if (this.get(contentId)) return false;
    const manifest = parseManifest(untrusted, contentId);
    this.store.index.putContent({ id: contentId, name: manifest.name, manifest: JSON.stringify(manifest), created_at: manifest.createdAt });
    this.cache.set(contentId, manifest);
    this.noteExpiry(contentId, manifest);
    this.tell({ kind: 'content', contentId, manifest });
    return true;
  }

  addOwn(manifest: Manifest): string {
    const id = contentIdOf(manifest);
    this.add(id, manifest);
    return id;
  }

  get(contentId: string): Manifest | undefined {
    const cached = this.cache.get(contentId);
    if (cached) return cached;
    const row = this.store.index.getContent(contentId);
    if (!row) return undefined;
    const manifest = JSON.parse(row.manifest) as Manifest;
    this.cache.set(contentId, manifest);
    return manifest;
  }

  require(contentId: string): Manifest {
    const m = this.get(contentId);
    if (!m) throw new CanopyError('ERR_CONTENT_NOT_FOUND', `content ${contentId.slice(0, 12)} is not known here`);
    return m;
  }

  /** Resolves a full id, a unique id prefix (8+ hex digits) or a content name (newest first). */
  resolve(ref: string): { contentId: string; manifest: Manifest } | undefined {
    if (/^[0-9a-f]{64}$/.test(ref)) {
      const m = this.get(ref);
      return m ? { contentId: ref, manifest: m } : undefined;
    }
    const rows = this.store.index.allContents();
    const byPrefix = /^[0-9a-f]{8,63}$/.test(ref) ? rows.filter((r) => r.id.startsWith(ref)) : [];
    const row = byPrefix.length === 1 ? byPrefix[0] : this.store.index.contentsByName(ref)[0];
    return row ? { contentId: row.id, manifest: this.require(row.id) } : undefined;
  }

  list(): { contentId: string; manifest: Manifest }[] {
    return this.store.index.allContents().map((r) => ({ contentId: r.id, manifest: this.require(r.id) }));
  }

  holding(contentId: string): Holding {
    const m = this.require(contentId);
    const { blocks: haveBlocks, bytes: haveBytes } = this.store.held(contentId);
    return { haveBlocks, haveBytes, totalBlocks: m.blocks.length, size: m.size, complete: haveBlocks === m.blocks.length };
  }
}
