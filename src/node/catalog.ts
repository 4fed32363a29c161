/**
 * The contents this node knows (manifests, checked against their ids) and how much of
 * each it holds. Holdings are derived from the block index rather than stored, so they
 * can never disagree with what is on disk.
 */
import { CanopyError } from '../core/errors.js';
import { contentIdOf, parseManifest, type Manifest } from '../core/manifest.js';
import type { BlockStore } from '../store/block-store.js';

export interface Holding {
  haveBlocks: number;
  haveBytes: number;
  totalBlocks: number;
  size: number;
  complete: boolean;
}

export class Catalog {
  private readonly cache = new Map<string, Manifest>();

  constructor(private readonly store: BlockStore) {}

  /** Records a manifest after checking it hashes to `contentId`. Returns false if already known. */
  add(contentId: string, untrusted: unknown): boolean {
    if (this.get(contentId)) return false;
    const manifest = parseManifest(untrusted, contentId);
    this.store.index.putContent({ id: contentId, name: manifest.name, manifest: JSON.stringify(manifest), created_at: manifest.createdAt });
    this.cache.set(contentId, manifest);
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
    let haveBlocks = 0;
    let haveBytes = 0;
    for (const b of m.blocks) {
      if (this.store.has(b.hash)) {
        haveBlocks++;
        haveBytes += b.length;
      }
    }
    return { haveBlocks, haveBytes, totalBlocks: m.blocks.length, size: m.size, complete: haveBlocks === m.blocks.length };
  }
}
