/**
 * How long a node keeps the records of contents out of service (withdrawn or expired): the
 * newest HISTORY_KEEP_COUNT, none older than HISTORY_KEEP_MS after it left service. Past
 * that the manifest and block list go (index.db and the catalog's memory stop growing with
 * every content ever published); the withdrawal itself (id, time, reason: about 150 bytes)
 * is kept, so a node that was down is still told and no record can come back as live.
 */
import type { Catalog } from './catalog.js';
import type { Logger } from '../core/logger.js';
import { historyOf, outOfServiceAt } from './catalog-views.js';

export const HISTORY_KEEP_MS = 7 * 86_400_000;
export const HISTORY_KEEP_COUNT = 1_000;
const PRUNE_EVERY_MS = 60_000;

export interface HistoryKeep {
  ms: number;
  count: number;
}

/** Prunes the records past the retention; returns the ids pruned. */
export function pruneHistory(catalog: Catalog, now: number, keep: HistoryKeep = { ms: HISTORY_KEEP_MS, count: HISTORY_KEEP_COUNT }): string[] {
  const pruned: string[] = [];
  historyOf(catalog, now).forEach((c, i) => {
    if (i < keep.count && now - Date.parse(outOfServiceAt(catalog, c)) <= keep.ms) return;
    catalog.forget(c.contentId);
    pruned.push(c.contentId);
  });
  return pruned;
}

/** Prunes at start and every minute. */
export function startHistoryRetention(catalog: Catalog, log: Logger, keep?: HistoryKeep): () => void {
  const run = () => {
    try {
      const pruned = pruneHistory(catalog, Date.now(), keep);
      if (pruned.length > 0) log.info('pruned records of contents out of service', { count: pruned.length });
    } catch (err) {
      log.warn('history pruning failed', { err: err as Error });
    }
  };
  run();
  const timer = setInterval(run, PRUNE_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
