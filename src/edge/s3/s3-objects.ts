/**
 * The objects of a content as the S3 API lists them. A single-file content is one object
 * whose key is the file's name; `offset` places an object in the content's virtual file
 * (a directory content, issue 20 step 2, lists one object per file).
 */
import type { Manifest } from '../../core/manifest.js';
import { mediaTypeOf } from '../media-type.js';
import type { ObjectEntry } from './list-objects.js';

export interface S3Object extends ObjectEntry {
  contentType: string;
  /** Where the object's bytes start in the content's virtual file. */
  offset: number;
}

export function contentObjects(contentId: string, manifest: Manifest): S3Object[] {
  // The ETag is the content id, as on the HTTP edge; S3 clients treat a non-MD5 ETag as opaque.
  return [{ key: manifest.name, size: manifest.size, etag: `"${contentId}"`, lastModified: new Date(Date.parse(manifest.createdAt)).toISOString(), contentType: mediaTypeOf(manifest.name, manifest.mediaType), offset: 0 }];
}
