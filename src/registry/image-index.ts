/**
 * An image as one Canopy content. The content's bytes are the image's blobs one after the
 * other (each blob is one track, so blocks never straddle two blobs and a layer shared by
 * two images is cut into the same blocks), then this index as a JSON `header` track, first
 * in fetch order: which registry and repository, which tag, the top manifest's digest, and
 * where each blob lies. The manifest's signature covers the index like every other byte,
 * so a node trusts the digest → offset mapping as much as the blocks. See docs/REGISTRY.md.
 */
import { CanopyError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import { isDigest, isRegistryHost, isRepository, isTag } from './reference.js';

export const IMAGE_MEDIA_TYPE = 'application/vnd.canopy.oci-image.v1+json';
export const IMAGE_INDEX_FORMAT = 'canopy-oci-image';
/** An index longer than this is refused: a million blobs is not an image. */
export const MAX_INDEX_BYTES = 16 * 2 ** 20;

export interface ImageBlob {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  /** Byte offset of the blob in the content. */
  readonly offset: number;
  /** A manifest or index (served under /manifests/), not a layer or config. */
  readonly manifest: boolean;
}

export interface ImageIndex {
  readonly format: typeof IMAGE_INDEX_FORMAT;
  readonly version: 1;
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  /** The digest of what the reference named: an index or a manifest. */
  readonly digest: string;
  readonly blobs: readonly ImageBlob[];
}

/** The content name of an image: registry, repository (with `~` for `/`, which names may not hold) and tag or short digest. */
export function imageContentName(index: Pick<ImageIndex, 'registry' | 'repository' | 'tag' | 'digest'>): string {
  return `${index.registry}~${index.repository.replaceAll('/', '~')}:${index.tag ?? index.digest.slice(7, 19)}`;
}

/** The index track of an image content: its `header` track, or undefined if the content is not an image. */
export function indexTrack(manifest: Manifest): { offset: number; length: number } | undefined {
  if (manifest.mediaType !== IMAGE_MEDIA_TYPE) return undefined;
  const t = manifest.tracks.find((x) => x.kind === 'header');
  return t && t.length <= MAX_INDEX_BYTES ? { offset: t.offset, length: t.length } : undefined;
}

/** Strict reading of an index: unknown keys, bad digests or blobs outside the content are refused. */
export function parseImageIndex(bytes: Buffer, contentSize: number): ImageIndex {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw invalid(`not JSON: ${(err as Error).message}`);
  }
  if (!isRecord(v)) throw invalid('not an object');
  onlyKeys(v, ['format', 'version', 'registry', 'repository', 'tag', 'digest', 'blobs'], 'index');
  if (v.format !== IMAGE_INDEX_FORMAT || v.version !== 1) throw invalid(`format must be ${IMAGE_INDEX_FORMAT} version 1`);
  if (typeof v.registry !== 'string' || !isRegistryHost(v.registry)) throw invalid('registry must be host[:port]');
  if (typeof v.repository !== 'string' || !isRepository(v.repository)) throw invalid('repository is not a repository name');
  if (v.tag !== undefined && (typeof v.tag !== 'string' || !isTag(v.tag))) throw invalid('tag is not a tag');
  if (typeof v.digest !== 'string' || !isDigest(v.digest)) throw invalid('digest is not a sha256 digest');
  if (!Array.isArray(v.blobs) || v.blobs.length === 0) throw invalid('blobs must be a non-empty array');
  const seen = new Set<string>();
  const blobs = v.blobs.map((b: unknown, i): ImageBlob => {
    if (!isRecord(b)) throw invalid(`blob ${i} is not an object`);
    onlyKeys(b, ['digest', 'mediaType', 'size', 'offset', 'manifest'], `blob ${i}`);
    if (typeof b.digest !== 'string' || !isDigest(b.digest) || seen.has(b.digest)) throw invalid(`blob ${i} digest is not a new sha256 digest`);
    seen.add(b.digest);
    if (typeof b.mediaType !== 'string' || b.mediaType.length > 255 || !/^[\w.+-]+\/[\w.+-]+$/.test(b.mediaType)) throw invalid(`blob ${i} mediaType must be type/subtype`);
    if (!isCount(b.size) || !isCount(b.offset) || b.offset + b.size > contentSize) throw invalid(`blob ${i} must lie inside the content`);
    if (typeof b.manifest !== 'boolean') throw invalid(`blob ${i} manifest must be true or false`);
    return { digest: b.digest, mediaType: b.mediaType, size: b.size, offset: b.offset, manifest: b.manifest };
  });
  // A blob pulled through (src/root/pull-through.ts) is a content of that one blob, untagged: its digest is the blob's.
  const blobOnly = blobs.length === 1 && v.tag === undefined && blobs[0]!.digest === v.digest;
  if (!blobOnly && !blobs.some((b) => b.manifest && b.digest === v.digest)) throw invalid('the top digest is not one of its manifests (or the one blob of an untagged index)');
  return { format: IMAGE_INDEX_FORMAT, version: 1, registry: v.registry, repository: v.repository, ...(v.tag !== undefined ? { tag: v.tag as string } : {}), digest: v.digest, blobs };
}

function invalid(why: string): CanopyError {
  return new CanopyError('ERR_OCI_MANIFEST_INVALID', `image index: ${why}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function onlyKeys(v: Record<string, unknown>, keys: string[], what: string): void {
  for (const k of Object.keys(v)) if (!keys.includes(k)) throw invalid(`${what} has an unknown key "${k}"`);
}
