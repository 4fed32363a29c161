/**
 * Walks a local directory for `canopy publish DIR` (docs/ORIGINS.md, "Directories"):
 * regular files, directories (empty ones included) and symlinks are kept with their
 * permission bits; a symlink is kept as a link, never followed, and must stay inside the
 * tree; devices, FIFOs and sockets cannot be carried and are skipped with a warning. A name
 * that is not valid UTF-8, or that the manifest's path rules refuse (a backslash, say),
 * fails the publish naming the path: nothing is silently renamed.
 */
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { CanopyError } from '../core/errors.js';
import { mapLimit } from '../core/map-limit.js';
import { pathProblem, targetProblem } from '../core/manifest-files.js';
import type { TreeItem } from './directory-layout.js';

export interface WalkedFile {
  /** Where it is on disk. */
  readonly abs: string;
  readonly size: number;
  readonly mtimeMs: number;
}

export interface Walk {
  items: TreeItem[];
  /** Regular files by tree path, to read them and to see whether they changed meanwhile. */
  disk: Map<string, WalkedFile>;
  warnings: string[];
}

function entryError(rel: string, why: string): CanopyError {
  return new CanopyError('ERR_DIRECTORY_ENTRY', `cannot publish "${rel}": ${why}`, { details: { path: rel } });
}

function decodeName(raw: Buffer, parent: string): string {
  const name = raw.toString('utf8');
  if (!Buffer.from(name, 'utf8').equals(raw)) throw entryError(parent ? `${parent}/${name}` : name, 'its name is not valid UTF-8');
  return name;
}

/**
 * Entries looked at at once: one lstat after another, each a round trip through libuv's
 * thread pool, a tree of 2,000 files took 0.1-0.5 s to walk (notes/issue-20.md, Session 10).
 */
export const WALK_IN_FLIGHT = 32;

type Found = { item: TreeItem; file?: WalkedFile } | { skipped: string };

export async function walkDirectory(root: string): Promise<Walk> {
  const walk: Walk = { items: [], disk: new Map(), warnings: [] };
  // A level of the tree at a time: its directories read at once, then all their entries looked
  // at at once. One directory after another, a tree of 80 directories waited 80 rounds of
  // trips through the thread pool before the first byte was read (notes/issue-20.md S14).
  let level: string[] = [''];
  while (level.length > 0) {
    const listed = await mapLimit(level, WALK_IN_FLIGHT, (dir) => readdir(path.join(root, dir), { encoding: 'buffer' }));
    const rels = level.flatMap((dir, i) => listed[i]!.map((raw) => checkedPath(dir, raw)));
    const next: string[] = [];
    // In readdir order, as one after another would have found them.
    for (const found of await mapLimit(rels, WALK_IN_FLIGHT, (rel) => lookAt(root, rel))) {
      if ('skipped' in found) {
        walk.warnings.push(`skipped "${found.skipped}": a device, FIFO or socket cannot be published`);
        continue;
      }
      walk.items.push(found.item);
      if (found.item.type === 'dir') next.push(found.item.path);
      if (found.file) walk.disk.set(found.item.path, found.file);
    }
    level = next;
  }
  return walk;
}

function checkedPath(dir: string, raw: Buffer): string {
  const rel = dir ? `${dir}/${decodeName(raw, dir)}` : decodeName(raw, dir);
  const problem = pathProblem(rel);
  if (problem) throw entryError(rel, `the path ${problem}`);
  return rel;
}

async function lookAt(root: string, rel: string): Promise<Found> {
  const abs = path.join(root, rel);
  const st = await lstat(abs);
  const mode = st.mode & 0o7777;
  if (st.isDirectory()) return { item: { path: rel, type: 'dir', mode } };
  if (st.isFile()) return { item: { path: rel, type: 'file', mode, size: st.size }, file: { abs, size: st.size, mtimeMs: st.mtimeMs } };
  if (!st.isSymbolicLink()) return { skipped: rel };
  const target = await readlink(abs);
  const bad = targetProblem(rel, target);
  if (bad) throw entryError(rel, `it is a symlink to "${target}", which ${bad}; only links that stay inside the tree can be carried (replace it with a copy)`);
  return { item: { path: rel, type: 'symlink', mode, target } };
}
