/**
 * The optional `files` section of a manifest (docs/PROTOCOL.md, "Directory contents"): a
 * content that is a directory tree lists every entry with its path, type and mode; a
 * regular file's bytes are the range [offset, offset + size) of the content. The parser is
 * strict about paths, because edges turn them into URLs, FTP paths and S3 keys and a
 * downloader may write them to disk: relative, '/'-separated, no empty, `.` or `..`
 * segment, no NUL or backslash, valid UTF-8 text, at most 4096 bytes; entries sorted by
 * path in UTF-8 byte order with no repeat, every parent a listed directory, file ranges
 * inside the content and not overlapping. Pure.
 */
import { CanopyError } from './errors.js';

export const MAX_FILES = 1 << 20;
export const MAX_PATH_BYTES = 4096;
export const MAX_SEGMENT_BYTES = 255;
export const FILE_TYPES = ['file', 'dir', 'symlink'] as const;
export type FileType = (typeof FILE_TYPES)[number];

export interface FileEntry {
  readonly path: string;
  readonly type: FileType;
  /** Permission bits (0..0o7777); the type is `type`. */
  readonly mode: number;
  /** Regular files: their bytes in the content. */
  readonly offset?: number;
  readonly size?: number;
  /** Symlinks: the link text, itself a safe relative path that stays inside the tree. */
  readonly target?: string;
}

function invalid(why: string): CanopyError {
  return new CanopyError('ERR_MANIFEST_INVALID', `invalid manifest: ${why}`);
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Why a path is not a safe relative path inside a tree, or undefined if it is. */
export function pathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string' || path.length === 0) return 'must be a non-empty string';
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return `is longer than ${MAX_PATH_BYTES} bytes`;
  if (path.startsWith('/')) return 'is absolute';
  if (/[\0\\]/.test(path)) return 'has a NUL or a backslash';
  if (/[\uD800-\uDFFF]/.test(path.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))) return 'is not valid Unicode text';
  for (const s of path.split('/')) {
    if (s === '' || s === '.' || s === '..') return `has an empty, "." or ".." segment`;
    if (Buffer.byteLength(s) > MAX_SEGMENT_BYTES) return `has a segment longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  return undefined;
}

/** A symlink's target, resolved against the link's directory, must stay inside the tree. */
export function targetProblem(linkPath: string, target: unknown): string | undefined {
  if (typeof target !== 'string' || target.length === 0 || Buffer.byteLength(target) > MAX_PATH_BYTES) return 'must be a non-empty string';
  if (target.startsWith('/') || /[\0\\]/.test(target)) return 'is absolute or has a NUL or a backslash';
  const parts = linkPath.split('/').slice(0, -1);
  for (const s of target.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') {
      if (parts.length === 0) return 'leaves the tree';
      parts.pop();
    } else parts.push(s);
  }
  return undefined;
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function checkEntry(e: unknown, i: number, size: number): FileEntry {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) throw invalid(`files[${i}] is not an object`);
  const o = e as Record<string, unknown>;
  const problem = pathProblem(o.path);
  if (problem) throw invalid(`files[${i}].path ${problem}`);
  const path = o.path as string;
  if (!(FILE_TYPES as readonly unknown[]).includes(o.type)) throw invalid(`files[${i}].type must be one of ${FILE_TYPES.join(', ')}`);
  if (!isCount(o.mode) || o.mode > 0o7777) throw invalid(`files[${i}].mode must be permission bits 0..0o7777`);
  const keys = { file: ['path', 'type', 'mode', 'offset', 'size'], dir: ['path', 'type', 'mode'], symlink: ['path', 'type', 'mode', 'target'] }[o.type as FileType];
  const extra = Object.keys(o).filter((k) => !keys.includes(k));
  if (extra.length > 0 || Object.keys(o).length !== keys.length) throw invalid(`files[${i}] (${String(o.type)}) takes exactly ${keys.join(', ')}`);
  if (o.type === 'file') {
    if (!isCount(o.offset) || !isCount(o.size) || o.offset + o.size > size) throw invalid(`files[${i}] must lie inside the content's ${size} bytes`);
  }
  if (o.type === 'symlink') {
    const t = targetProblem(path, o.target);
    if (t) throw invalid(`files[${i}].target ${t}`);
  }
  return o as unknown as FileEntry;
}

/** Checks an untrusted `files` value against a content of `size` bytes; returns the entries. */
export function checkFiles(value: unknown, size: number): FileEntry[] {
  if (!Array.isArray(value) || value.length > MAX_FILES) throw invalid(`files must be an array of at most ${MAX_FILES} entries`);
  const entries = value.map((e, i) => checkEntry(e, i, size));
  const dirs = new Set<string>();
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (i > 0 && compareUtf8(entries[i - 1]!.path, e.path) >= 0) throw invalid(`files[${i}] is out of order or repeats a path (entries are sorted by path, UTF-8 bytes)`);
    const parent = e.path.includes('/') ? e.path.slice(0, e.path.lastIndexOf('/')) : undefined;
    if (parent !== undefined && !dirs.has(parent)) throw invalid(`files[${i}]: its directory ${parent} is not listed as a dir before it`);
    if (e.type === 'dir') dirs.add(e.path);
  }
  const ranges = entries.filter((e) => e.type === 'file' && e.size! > 0).sort((a, b) => a.offset! - b.offset!);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i - 1]!.offset! + ranges[i - 1]!.size! > ranges[i]!.offset!) throw invalid(`files ${ranges[i - 1]!.path} and ${ranges[i]!.path} overlap`);
  }
  return entries;
}
