/**
 * The objects under an S3 prefix as a directory tree (docs/ORIGINS.md, "S3 origins"): each
 * key, less the prefix, is a path; its parents are directories; a zero-byte key ending in
 * `/` (what consoles make for "folders") is a directory, so empty ones are kept. A key the
 * manifest's path rules refuse (`a//b`, `../x`, a backslash), or one that is both a file
 * and a directory (`a` and `a/b`), fails the publish naming the key: nothing is renamed.
 * The tree's version digests every key, size and ETag, so any change (an object added,
 * removed or rewritten) is a new version. Pure.
 */
import { createHash } from 'node:crypto';
import { CanopyError } from '../../core/errors.js';
import { pathProblem } from '../../core/manifest-files.js';
import type { TreeItem } from '../../ingest/directory-layout.js';
import type { OriginVersion } from './origin.js';

export interface S3Listed {
  key: string;
  size: number;
  etag?: string;
  lastModified?: Date;
}

export interface S3TreeEntry extends S3Listed {
  /** The key less the prefix: the path in the tree. */
  path: string;
}

export interface S3TreeShape {
  items: TreeItem[];
  /** The regular files, by path. */
  files: Map<string, S3TreeEntry>;
}

const FILE_MODE = 0o644;
const DIR_MODE = 0o755;

function keyError(key: string, why: string): CanopyError {
  return new CanopyError('ERR_DIRECTORY_ENTRY', `cannot publish the S3 object "${key}": ${why}`, { details: { path: key } });
}

export function treeOfKeys(prefix: string, objects: readonly S3Listed[]): S3TreeShape {
  const dirs = new Set<string>();
  const files = new Map<string, S3TreeEntry>();
  for (const o of objects) {
    if (!o.key.startsWith(prefix)) throw keyError(o.key, `it is not under the prefix "${prefix}"`);
    let rel = o.key.slice(prefix.length);
    if (rel === '') continue; // The prefix's own "folder" marker.
    const marker = rel.endsWith('/');
    if (marker) {
      if (o.size !== 0) throw keyError(o.key, 'it ends with "/" but holds bytes');
      rel = rel.slice(0, -1);
    }
    const problem = pathProblem(rel);
    if (problem) throw keyError(o.key, `its path in the tree "${rel}" ${problem}`);
    if (marker) dirs.add(rel);
    else files.set(rel, { ...o, path: rel });
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const d of dirs) if (files.has(d)) throw keyError(prefix + d, `it is a file, and also a directory (other keys start with "${prefix}${d}/")`);
  const items: TreeItem[] = [...dirs].map((path) => ({ path, type: 'dir' as const, mode: DIR_MODE }));
  for (const f of files.values()) items.push({ path: f.path, type: 'file', mode: FILE_MODE, size: f.size });
  return { items, files };
}

/** One version for the whole prefix: the total size, a digest of every key, size and ETag, the newest modification. */
export function treeVersion(objects: readonly S3Listed[]): OriginVersion {
  const h = createHash('sha256');
  let size = 0;
  let newest = 0;
  for (const o of [...objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    h.update(`${o.key}\0${o.size}\0${o.etag ?? ''}\n`);
    size += o.size;
    newest = Math.max(newest, o.lastModified?.getTime() ?? 0);
  }
  return { size, etag: `"tree-${h.digest('hex').slice(0, 32)}"`, lastModified: newest ? new Date(newest).toUTCString() : undefined };
}
