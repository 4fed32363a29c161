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

export function contentObjects(contentId: string, manifest: Manifest): S3Object[] {
  const lastModified = new Date(Date.parse(manifest.createdAt)).toISOString();
  // The ETag is the content id, as on the HTTP edge; S3 clients treat a non-MD5 ETag as opaque.
  if (!manifest.files) return [{ key: manifest.name, size: manifest.size, etag: `"${contentId}"`, lastModified, contentType: mediaTypeOf(manifest.name, manifest.mediaType), offset: 0 }];
  // A file of a directory content is named by the content and its path: its ETag changes with either.
  const objects = manifest.files.filter((f) => f.type === 'file').map((f) => ({ key: f.path, size: f.size!, etag: fileEtag(contentId, f.path), lastModified, contentType: mediaTypeOf(f.path, 'application/octet-stream'), offset: f.offset! }));
  // Entries are sorted by path in UTF-8 byte order already, which is S3's key order.
  return objects;
}
