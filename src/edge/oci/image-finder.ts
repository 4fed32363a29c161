/**
 * Which images this node may serve, and where a tag or digest lies in them. Images are the
 * live contents of the image media type that the node may serve (it meets their criteria:
 * enforcement happens here, a node that does not is a mirror without the image). Each
 * image's index (its header track) is read once through the virtual file, so it may come
 * from a peer, and kept: contents are immutable. Newest first: a tag preheated again names
 * the new version.
 */
import type { Manifest } from '../../core/manifest.js';
import type { Catalog } from '../../catalog/catalog.js';
import { IMAGE_MEDIA_TYPE, indexTrack, parseImageIndex, type ImageBlob, type ImageIndex } from '../../registry/image-index.js';
import { sameRegistry } from '../../registry/reference.js';
import type { VirtualFile } from '../../vfile/virtual-file.js';

export interface ImageFinderDeps {
  catalog: Catalog;
  /** Whether this node may serve the content (live, meets its criteria, public). */
  servable: (contentId: string, manifest: Manifest) => boolean;
  open: (contentId: string, manifest: Manifest) => VirtualFile;
}

export interface FoundBlob {
  contentId: string;
  manifest: Manifest;
  index: ImageIndex;
  blob: ImageBlob;
}

const MAX_KEPT = 4096;

export class ImageFinder {
  private readonly indexes = new Map<string, ImageIndex>();

  constructor(private readonly deps: ImageFinderDeps) {}

  /** The manifest a tag names in this repository (newest image first). */
  async byTag(repository: string, ns: string | undefined, tag: string): Promise<FoundBlob | undefined> {
    for (const image of await this.images(repository, ns)) {
      if (image.index.tag !== tag) continue;
      const blob = image.index.blobs.find((b) => b.digest === image.index.digest);
      if (blob) return { ...image, blob };
    }
    return undefined;
  }

  /** A manifest (`manifest` true) or blob by digest in this repository. */
  async byDigest(repository: string, ns: string | undefined, digest: string, manifest: boolean): Promise<FoundBlob | undefined> {
    for (const image of await this.images(repository, ns)) {
      const blob = image.index.blobs.find((b) => b.digest === digest && b.manifest === manifest);
      if (blob) return { ...image, blob };
    }
    return undefined;
  }

  private async images(repository: string, ns: string | undefined): Promise<{ contentId: string; manifest: Manifest; index: ImageIndex }[]> {
    const out: { contentId: string; manifest: Manifest; index: ImageIndex }[] = [];
    const candidates = this.deps.catalog
      .list()
      .filter((c) => c.manifest.mediaType === IMAGE_MEDIA_TYPE && this.deps.servable(c.contentId, c.manifest))
      .sort((a, b) => Date.parse(b.manifest.createdAt) - Date.parse(a.manifest.createdAt));
    for (const c of candidates) {
      const index = await this.index(c.contentId, c.manifest);
      // `ns` is the registry containerd pulled for; without it (skopeo, a direct client) any registry's image matches.
      if (index && index.repository === repository && (ns === undefined || sameRegistry(ns, index.registry))) out.push({ contentId: c.contentId, manifest: c.manifest, index });
    }
    return out;
  }

  private async index(contentId: string, manifest: Manifest): Promise<ImageIndex | undefined> {
    const known = this.indexes.get(contentId);
    if (known) return known;
    const track = indexTrack(manifest);
    if (!track) return undefined;
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of this.deps.open(contentId, manifest).read(track.offset, track.offset + track.length - 1)) chunks.push(Buffer.from(chunk));
    } catch {
      // Not readable now (no holder yet): not cached, asked again next time.
      return undefined;
    }
    let index: ImageIndex;
    try {
      index = parseImageIndex(Buffer.concat(chunks), manifest.size);
    } catch {
      // A malformed index (the publisher's mistake; its signature is valid) makes the content no image.
      return undefined;
    }
    if (this.indexes.size >= MAX_KEPT) this.indexes.delete(this.indexes.keys().next().value!);
    this.indexes.set(contentId, index);
    return index;
  }
}
