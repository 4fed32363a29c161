/**
 * How long a node keeps the records of contents out of service (withdrawn or expired). The
 * manifest and block list: the newest HISTORY_KEEP_COUNT, none kept longer than the retention
 * (default HISTORY_KEEP_MS, `keepHistory` in the config) after the content left service. The
 * withdrawal itself (id, time, reason: about 150 bytes) is kept for the whole retention,
 * then it goes too, so index.db, memory and the root's catalog sync stop growing with every
 * content ever withdrawn. A member that was away longer than the retention learns what it
 * missed from the sync's live list instead: it retires what the list lacks and the root may
 * have pruned (the sync's `horizon`, ../node/unlisted-contents.ts).
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

export interface Pruned {
  /** Contents whose manifest and block list were forgotten. */
  records: string[];
  /** Contents whose withdrawal was forgotten (their record went before, or in the same run). */
  withdrawals: string[];
}

/** Prunes the records and withdrawals past the retention. */
export function pruneHistory(catalog: Catalog, now: number, keep: HistoryKeep = { ms: HISTORY_KEEP_MS, count: HISTORY_KEEP_COUNT }): Pruned {
  const pruned: Pruned = { records: [], withdrawals: [] };
  const past = (at: string) => now - Date.parse(at) > keep.ms;
  historyOf(catalog, now).forEach((c, i) => {
    if (i < keep.count && !past(outOfServiceAt(catalog, c))) return;
    catalog.forget(c.contentId);
    pruned.records.push(c.contentId);
  });
  // Past the count but within the time, a withdrawal outlives its record: the root still sends it.
  for (const w of catalog.withdrawals()) {
    if (!past(w.at) || catalog.get(w.contentId)) continue;
    catalog.forgetWithdrawal(w.contentId);
    pruned.withdrawals.push(w.contentId);
  }
  return pruned;
}

/**
 * The time before which a content out of service may have no record left here: a catalog
 * sync carries it, so a member retires what the sync no longer lists only if it is older.
 */
export function historyHorizon(now: number, keepMs: number): string {
  return new Date(now - keepMs).toISOString();
}

/** Prunes at start and every minute. */
export function startHistoryRetention(catalog: Catalog, log: Logger, keep?: HistoryKeep): () => void {
  const run = () => {
    try {
      const { records, withdrawals } = pruneHistory(catalog, Date.now(), keep);
      if (records.length + withdrawals.length > 0) log.info('pruned records of contents out of service', { count: records.length, withdrawals: withdrawals.length });
    } catch (err) {
      log.warn('history pruning failed', { err: err as Error });
    }
  };
  run();
  const timer = setInterval(run, PRUNE_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
