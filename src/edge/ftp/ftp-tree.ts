/**
 * The read-only directory tree an FTP user sees:
 *
 *   /<name>                      newest live content with that name
 *   /by-id/<content id>/<name>   every content, by id
 *
 * Paths are resolved against the session's working directory and normalised lexically
 * ("..", ".", repeated slashes); nothing outside this tree exists, so no path can escape it.
 */
import type { Manifest } from '../../core/manifest.js';

export interface TreeContent {
  contentId: string;
  manifest: Manifest;
}

export type TreeEntry = { kind: 'dir'; path: string } | { kind: 'file'; path: string; content: TreeContent };

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
      if (!c || parts.length > 3) return undefined;
      if (parts.length === 2) return { kind: 'dir', path };
      return parts[2] === c.manifest.name ? { kind: 'file', path, content: c } : undefined;
    }
    if (parts.length !== 1) return undefined;
    const c = newestByName(all).get(parts[0]!);
    return c ? { kind: 'file', path, content: c } : undefined;
  }

  list(path: string): DirItem[] | undefined {
    const entry = this.resolve(path);
    if (!entry) return undefined;
    if (entry.kind === 'file') return [fileItem(entry.content)];
    const parts = path.split('/').filter(Boolean);
    const all = this.contents();
    if (parts.length === 0) {
      const newest = [...newestByName(all).values()].map(fileItem);
      return [{ name: 'by-id', kind: 'dir', size: 0, modified: latest(all) }, ...newest.sort((a, b) => a.name.localeCompare(b.name))];
    }
    if (parts.length === 1) return all.map((c) => ({ name: c.contentId, kind: 'dir' as const, size: 0, modified: new Date(c.manifest.createdAt) }));
    const c = all.find((x) => x.contentId === parts[1])!;
    return [fileItem(c)];
  }
}

function fileItem(c: TreeContent): DirItem {
  return { name: c.manifest.name, kind: 'file', size: c.manifest.size, modified: new Date(c.manifest.createdAt) };
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
