/**
 * A directory content as the edges see it (HTTP /files/<name>/..., FTP, S3): look a path
 * up, following symlinks (they stay inside the tree: the manifest parser checked it, and a
 * loop ends after MAX_HOPS), and list a directory's children. The index is built once per
 * manifest. Pure.
 */
import { sha256Hex } from '../core/hash.js';
import type { FileEntry } from '../core/manifest-files.js';
import type { Manifest } from '../core/manifest.js';

const MAX_HOPS = 16;

interface Index {
  byPath: Map<string, FileEntry>;
  children: Map<string, FileEntry[]>;
}

const indexes = new WeakMap<Manifest, Index>();

function indexOf(manifest: Manifest): Index {
  let index = indexes.get(manifest);
  if (index) return index;
  index = { byPath: new Map(), children: new Map([['', []]]) };
  for (const f of manifest.files ?? []) {
    index.byPath.set(f.path, f);
    const parent = f.path.includes('/') ? f.path.slice(0, f.path.lastIndexOf('/')) : '';
    index.children.get(parent)?.push(f);
    if (f.type === 'dir') index.children.set(f.path, []);
  }
  indexes.set(manifest, index);
  return index;
}

export function isDirectoryContent(manifest: Manifest): boolean {
  return manifest.files !== undefined;
}

/** The ETag of one file of a directory content: it changes with the content id or the path (HTTP, S3). */
export function fileEtag(contentId: string, path: string): string {
  return `"${sha256Hex(`${contentId}/${path}`)}"`;
}

/** The last segment of a path. */
export function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

function joinTarget(linkPath: string, target: string): string {
  const parts = linkPath.split('/').slice(0, -1);
  for (const s of target.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') parts.pop();
    else parts.push(s);
  }
  return parts.join('/');
}

/**
 * The entry at `segments` (already decoded; none may be `.`, `..` or empty: the caller
 * refuses those), symlinks followed; the root directory is `{path: '', type: 'dir'}`.
 * Undefined when nothing is there or the links loop.
 */
export function lookupPath(manifest: Manifest, segments: readonly string[]): FileEntry | undefined {
  const { byPath } = indexOf(manifest);
  let pending = [...segments];
  let at = '';
  let hops = 0;
  while (pending.length > 0) {
    const next = at ? `${at}/${pending[0]}` : pending[0]!;
    const e = byPath.get(next);
    if (!e) return undefined;
    if (e.type === 'symlink') {
      if (++hops > MAX_HOPS) return undefined;
      const resolved = joinTarget(e.path, e.target!);
      pending = [...(resolved ? resolved.split('/') : []), ...pending.slice(1)];
      at = '';
      continue;
    }
    if (e.type === 'file' && pending.length > 1) return undefined;
    at = next;
    pending = pending.slice(1);
  }
  return at === '' ? { path: '', type: 'dir', mode: 0o755 } : byPath.get(at);
}

/** The entries directly inside directory `dir` ('' is the root), in path order. */
export function childrenOf(manifest: Manifest, dir: string): readonly FileEntry[] {
  return indexOf(manifest).children.get(dir) ?? [];
}
