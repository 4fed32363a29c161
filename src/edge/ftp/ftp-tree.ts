/**
 * The read-only directory tree an FTP user sees:
 *
 *   /<name>                      newest live content with that name
 *   /by-id/<content id>/<name>   every content, by id
 *
 * A directory content (a manifest with `files`) is a directory at either place, holding
 * its tree (symlinks followed inside it, directory-view.ts); a file of it is a range of the
 * content's bytes.
 *
 * Paths are resolved against the session's working directory and normalised lexically
 * ("..", ".", repeated slashes); nothing outside this tree exists, so no path can escape it.
 */
import type { Manifest } from '../../core/manifest.js';
import { baseName, childrenOf, lookupPath } from '../directory-view.js';

export interface TreeContent {
  contentId: string;
  manifest: Manifest;
}

export type TreeEntry =
  | { kind: 'dir'; path: string; content?: TreeContent; inside?: string }
  | { kind: 'file'; path: string; content: TreeContent; name: string; offset: number; size: number; modified: Date };

export interface DirItem {
  name: string;
  kind: 'dir' | 'file';
  size: number;
  modified: Date;
}

/** Joins and normalises an FTP path; the result is absolute and never goes above "/". */
export function normalisePath(cwd: string, arg: string): string {
  const parts: string[] = [];
  for (const p of (arg.startsWith('/') ? arg : `${cwd}/${arg}`).split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return `/${parts.join('/')}`;
}

export class FtpTree {
  constructor(private readonly contents: () => TreeContent[]) {}

  resolve(path: string): TreeEntry | undefined {
    const parts = path.split('/').filter(Boolean);
    const all = this.contents();
    if (parts.length === 0) return { kind: 'dir', path: '/' };
    if (parts[0] === 'by-id') {
      if (parts.length === 1) return { kind: 'dir', path };
      const c = all.find((x) => x.contentId === parts[1]);
      if (!c) return undefined;
      if (parts.length === 2) return { kind: 'dir', path };
      return parts[2] === c.manifest.name ? within(c, path, parts.slice(3)) : undefined;
    }
    const c = newestByName(all).get(parts[0]!);
    return c ? within(c, path, parts.slice(1)) : undefined;
  }

  list(path: string): DirItem[] | undefined {
    const entry = this.resolve(path);
    if (!entry) return undefined;
    if (entry.kind === 'file') return [{ name: entry.name, kind: 'file', size: entry.size, modified: entry.modified }];
    if (entry.content && entry.inside !== undefined) {
      const modified = new Date(entry.content.manifest.createdAt);
      return childrenOf(entry.content.manifest, entry.inside).flatMap((f) => {
        // A symlink is listed as what it points to (FTP has no links); a dangling one is not listed.
        const to = f.type === 'symlink' ? lookupPath(entry.content!.manifest, f.path.split('/')) : f;
        return to ? [{ name: baseName(f.path), kind: to.type === 'file' ? ('file' as const) : ('dir' as const), size: to.size ?? 0, modified }] : [];
      });
    }
    const parts = path.split('/').filter(Boolean);
    const all = this.contents();
    if (parts.length === 0) {
      const newest = [...newestByName(all).values()].map(topItem);
      return [{ name: 'by-id', kind: 'dir', size: 0, modified: latest(all) }, ...newest.sort((a, b) => a.name.localeCompare(b.name))];
    }
    if (parts.length === 1) return all.map((c) => ({ name: c.contentId, kind: 'dir' as const, size: 0, modified: new Date(c.manifest.createdAt) }));
    const c = all.find((x) => x.contentId === parts[1])!;
    return [topItem(c)];
  }
}

/** The entry at `rest` inside content `c`: the content itself (a file, or the top of a directory content) or a path in its tree. */
function within(c: TreeContent, path: string, rest: string[]): TreeEntry | undefined {
  const modified = new Date(c.manifest.createdAt);
  if (!c.manifest.files) return rest.length === 0 ? { kind: 'file', path, content: c, name: c.manifest.name, offset: 0, size: c.manifest.size, modified } : undefined;
  const e = lookupPath(c.manifest, rest);
  if (!e) return undefined;
  if (e.type === 'file') return { kind: 'file', path, content: c, name: baseName(e.path), offset: e.offset!, size: e.size!, modified };
  return { kind: 'dir', path, content: c, inside: e.path };
}

function topItem(c: TreeContent): DirItem {
  return { name: c.manifest.name, kind: c.manifest.files ? 'dir' : 'file', size: c.manifest.files ? 0 : c.manifest.size, modified: new Date(c.manifest.createdAt) };
}

function newestByName(all: TreeContent[]): Map<string, TreeContent> {
  const out = new Map<string, TreeContent>();
  for (const c of all) {
    const seen = out.get(c.manifest.name);
    if (!seen || seen.manifest.createdAt < c.manifest.createdAt) out.set(c.manifest.name, c);
  }
  return out;
}

function latest(all: TreeContent[]): Date {
  return new Date(all.reduce((t, c) => Math.max(t, Date.parse(c.manifest.createdAt)), 0));
}
