/**
 * Bounded views of the catalog, so answers and metrics stay the size of the live set however
 * long a network runs (issue 25): the live contents; the history (contents withdrawn or
 * expired), newest first, in pages with an opaque cursor; and the bytes a node holds per live
 * content with a block shared by several versions counted once, under the newest live one.
 */
import { CanopyError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import type { Catalog } from './catalog.js';

export interface CatalogEntry {
  contentId: string;
  manifest: Manifest;
}

/** History entries in an answer when the caller does not ask for a number. */
export const DEFAULT_HISTORY = 10;
/** The most history entries one answer carries. */
export const MAX_HISTORY = 100;

export interface HistoryPage {
  entries: CatalogEntry[];
  /** Pass as `cursor` for the next (older) page; null when this is the last. */
  next: string | null;
  /** Contents out of service whose records are still kept. */
  total: number;
}

export function liveContents(catalog: Catalog, now: number = Date.now()): CatalogEntry[] {
  return catalog.list().filter((c) => catalog.state(c.contentId, now) === 'live');
}

/** When a content went out of service: its withdrawal, or its expiry time. */
export function outOfServiceAt(catalog: Catalog, c: CatalogEntry): string {
  return catalog.withdrawal(c.contentId)?.at ?? c.manifest.expires ?? c.manifest.createdAt;
}

/** Out-of-service contents, newest first (by when they left service, then id). */
export function historyOf(catalog: Catalog, now: number = Date.now()): CatalogEntry[] {
  const keyed = catalog
    .list()
    .filter((c) => catalog.state(c.contentId, now) !== 'live')
    .map((c) => ({ c, key: `${outOfServiceAt(catalog, c)}|${c.contentId}` }));
  keyed.sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
  return keyed.map((k) => k.c);
}

/** Parses `limit` (default DEFAULT_HISTORY, at most MAX_HISTORY). */
export function historyLimit(text: string | null): number {
  if (text === null || text === '') return DEFAULT_HISTORY;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > MAX_HISTORY) throw new CanopyError('ERR_USAGE', `limit: "${text}" must be an integer from 0 to ${MAX_HISTORY}`);
  return n;
}

/** One page of history after `cursor` (an opaque string from a previous page's `next`). */
export function historyPage(catalog: Catalog, limit: number, cursor: string | null, now: number = Date.now()): HistoryPage {
  const all = historyOf(catalog, now);
  let start = 0;
  if (cursor) {
    const after = decodeCursor(cursor);
    start = all.findIndex((c) => `${outOfServiceAt(catalog, c)}|${c.contentId}` < after);
    if (start < 0) start = all.length;
  }
  const entries = all.slice(start, start + limit);
  const last = entries[entries.length - 1];
  const next = last && start + limit < all.length ? encodeCursor(`${outOfServiceAt(catalog, last)}|${last.contentId}`) : null;
  return { entries, next, total: all.length };
}

function encodeCursor(key: string): string {
  return Buffer.from(key).toString('base64url');
}

function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString();
  if (!/^[^|]+\|[0-9a-f]{64}$/.test(key)) throw new CanopyError('ERR_USAGE', `cursor: "${cursor.slice(0, 40)}" is not a cursor from a previous page`);
  return key;
}

/**
 * Bytes this node holds of each live content, a block shared by several live versions
 * counted once (under the newest), so summing the series gives the bytes really held.
 */
export function liveHoldings(catalog: Catalog, has: (hash: string) => boolean, now: number = Date.now()): { contentId: string; name: string; size: number; haveBytes: number }[] {
  const live = liveContents(catalog, now).sort((a, b) => (a.manifest.createdAt < b.manifest.createdAt ? 1 : -1));
  const counted = new Set<string>();
  return live.map((c) => {
    let haveBytes = 0;
    for (const b of c.manifest.blocks) {
      if (counted.has(b.hash) || !has(b.hash)) continue;
      counted.add(b.hash);
      haveBytes += b.length;
    }
    return { contentId: c.contentId, name: c.manifest.name, size: c.manifest.size, haveBytes };
  });
}

/** A history page as full statuses (the dashboard's view), by the root's `status`. */
export function historyStatuses<T>(catalog: Catalog, limit: number, cursor: string | null, status: (contentId: string) => T): { contents: T[]; next: string | null; total: number } {
  const page = historyPage(catalog, limit, cursor);
  return { contents: page.entries.map((c) => status(c.contentId)), next: page.next, total: page.total };
}

/**
 * Bytes still held of each withdrawn or expired content that no live content shares: the
 * lifecycle deletes them within seconds, so a series here means a withdrawal not applied
 * (the alert rule of that name). Only contents with such bytes appear, so the series stay
 * bounded however many contents a network has retired.
 */
export function withdrawnHeld(catalog: Catalog, has: (hash: string) => boolean, now: number = Date.now()): { contentId: string; name: string; haveBytes: number }[] {
  const live = new Set(liveContents(catalog, now).flatMap((c) => c.manifest.blocks.map((b) => b.hash)));
  const out: { contentId: string; name: string; haveBytes: number }[] = [];
  for (const c of historyOf(catalog, now)) {
    let haveBytes = 0;
    const counted = new Set<string>();
    for (const b of c.manifest.blocks) {
      if (live.has(b.hash) || counted.has(b.hash) || !has(b.hash)) continue;
      counted.add(b.hash);
      haveBytes += b.length;
    }
    if (haveBytes > 0) out.push({ contentId: c.contentId, name: c.manifest.name, haveBytes });
  }
  return out;
}
