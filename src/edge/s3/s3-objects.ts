/**
 * The objects of a content as the S3 API lists them. A single-file content is one object
 * whose key is the file's name; a directory content (a manifest with `files`) is one object
 * per regular file, keyed by its path, whose bytes are a range of the content's virtual
 * file (`offset`). Directories and symlinks are not objects (S3 has neither).
 */
import type { Manifest } from '../../core/manifest.js';
import { fileEtag } from '../directory-view.js';
import { mediaTypeOf } from '../media-type.js';
import type { ObjectEntry } from './list-objects.js';

export interface S3Object extends ObjectEntry {
  contentType: string;
  /** Where the object's bytes start in the content's virtual file. */
  offset: number;
}

/**
 * Per manifest (the catalog keeps one object per content): the objects, and each by key. A
 * GetObject then finds its key in a map, instead of listing the whole content again: the AWS
 * CLI reads a 1 GiB object as 128 ranged GETs, and a directory content may hold 65,536 files.
 */
const memo = new WeakMap<Manifest, { contentId: string; list: S3Object[]; byKey: Map<string, S3Object> }>();

function objectsOf(contentId: string, manifest: Manifest): { list: S3Object[]; byKey: Map<string, S3Object> } {
  const hit = memo.get(manifest);
  if (hit?.contentId === contentId) return hit;
  const list = contentObjects(contentId, manifest);
  const entry = { contentId, list, byKey: new Map(list.map((o) => [o.key, o])) };
  memo.set(manifest, entry);
  return entry;
}

/** The objects of a content, listed (memoised per manifest: do not modify). */
export function listedObjects(contentId: string, manifest: Manifest): readonly S3Object[] {
  return objectsOf(contentId, manifest).list;
}

/** One object of a content by key. */
export function objectAt(contentId: string, manifest: Manifest, key: string): S3Object | undefined {
  return objectsOf(contentId, manifest).byKey.get(key);
}

export function contentObjects(contentId: string, manifest: Manifest): S3Object[] {
  const lastModified = new Date(Date.parse(manifest.createdAt)).toISOString();
  // The ETag is the content id, as on the HTTP edge; S3 clients treat a non-MD5 ETag as opaque.
  if (!manifest.files) return [{ key: manifest.name, size: manifest.size, etag: `"${contentId}"`, lastModified, contentType: mediaTypeOf(manifest.name, manifest.mediaType), offset: 0 }];
  // A file of a directory content is named by the content and its path: its ETag changes with either.
  const objects = manifest.files.filter((f) => f.type === 'file').map((f) => ({ key: f.path, size: f.size!, etag: fileEtag(contentId, f.path), lastModified, contentType: mediaTypeOf(f.path, 'application/octet-stream'), offset: f.offset! }));
  // Entries are sorted by path in UTF-8 byte order already, which is S3's key order.
  return objects;
}
