/**
 * Which contents a member retires after a catalog sync because the root no longer lists them.
 * The root keeps a withdrawal only for its retention (../catalog/history-retention.ts); a
 * member that was away longer never gets it, so the sync's live list speaks for what it
 * leaves out. Only for what the root may have pruned, though: a content is retired here
 * only if it was created before the sync's `horizon` (anything out of service since is
 * still in the sync's withdrawals, or still live), if this member knew it when the join
 * left (an announcement racing the join, or a root whose copy of the catalog lags, is not
 * taken for pruned), and if it is not the member's own local ingest (never in the root's
 * catalog). Pure: the intake gathers the facts and retires what this returns.
 */
import type { Manifest } from '../core/manifest.js';
import { isOwn, type Self } from './admission.js';

/** The reason a member records for a content it retired this way (its state reads `withdrawn`). */
export const UNLISTED_REASON = 'no longer in the root catalog';

export interface SyncFacts {
  /** Contents this member holds as live now. */
  readonly live: readonly { contentId: string; manifest: Manifest }[];
  /** The contents the sync lists as live. */
  readonly listed: ReadonlySet<string>;
  /** The contents this member knew when it sent the join. */
  readonly knownAtJoin: ReadonlySet<string>;
  /** The sync's horizon (ms since the epoch). */
  readonly horizon: number;
  readonly self: Self;
}

export function unlistedContents(f: SyncFacts): string[] {
  return f.live.filter((c) => !f.listed.has(c.contentId) && f.knownAtJoin.has(c.contentId) && !isOwn(c.manifest, f.self) && Date.parse(c.manifest.createdAt) < f.horizon).map((c) => c.contentId);
}
