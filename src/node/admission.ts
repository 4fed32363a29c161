/**
 * A member's admission policy, as pure decisions: what this node may hold, must pin, may
 * serve, and what an announcement, a change of its own attributes, or a new publisher list
 * does to each content. No I/O and no clock: the callers (announcement-intake.ts,
 * trust-changes.ts, holdings.ts) gather the facts and carry the decisions out.
 */
import type { Attributes } from '../core/attributes.js';
import { matches, parseCriteria } from '../core/criteria.js';
import type { Manifest } from '../core/manifest.js';

/** What the policy knows of this node. */
export interface Self {
  readonly nodeId: string;
  readonly attrs: Attributes;
  /** Whether this node prefetches what it qualifies for (false: an on-demand cache). */
  readonly prefetch: boolean;
  /** The origin id this node's own local ingests carry, if it ever ingested locally. */
  readonly localIngestId?: string | undefined;
}

/** Whether this node meets a content's criteria (it may hold it and fetch it). */
export function qualifies(manifest: Manifest, self: Self): boolean {
  return matches(parseCriteria(manifest.criteria), self.attrs, self.nodeId);
}

/**
 * Contents this node must keep (pinned, never evicted): its own, and those it qualifies
 * for and prefetches. With --no-prefetch the node is an on-demand cache: what its clients
 * read stays evictable.
 */
export function mustHold(manifest: Manifest, self: Self): boolean {
  const own = manifest.origin === self.nodeId || (self.localIngestId !== undefined && manifest.origin === self.localIngestId);
  return own || (self.prefetch && qualifies(manifest, self));
}

/** What is known of an announcement when it arrives. */
export interface AnnouncementFacts {
  /** The root withdrew this content already. */
  readonly withdrawn: boolean;
  /** This node accepted it before (removing a key stops new contents, it does not withdraw old ones). */
  readonly known: boolean;
  /** Its publisher key is in this node's copy of the root's publisher list. */
  readonly publisherAuthorised: boolean;
  /** This node has a publisher list at all (a new node gets it with the catalog sync). */
  readonly haveList: boolean;
}

/**
 * - `ignore`: withdrawn; nothing to do.
 * - `hold`: kept aside until a newer publisher list (`expected` when no list came yet: not an attack).
 * - `check`: go on to check the manifest and record it.
 */
export type AnnouncementDecision = { readonly kind: 'ignore' } | { readonly kind: 'hold'; readonly expected: boolean } | { readonly kind: 'check' };

export function judgeAnnouncement(f: AnnouncementFacts): AnnouncementDecision {
  if (f.withdrawn) return { kind: 'ignore' };
  if (!f.known && !f.publisherAuthorised) return { kind: 'hold', expected: !f.haveList };
  return { kind: 'check' };
}

/** What a recorded, live content means for this node. */
export interface Admission {
  readonly pin: boolean;
  readonly qualified: boolean;
  /** Fetch it in the background now. Never before the catalog sync: the node must know what was withdrawn. */
  readonly prefetch: boolean;
}

export function admit(manifest: Manifest, self: Self, synced: boolean): Admission {
  const qualified = qualifies(manifest, self);
  return { pin: mustHold(manifest, self), qualified, prefetch: self.prefetch && synced && qualified };
}

/** May this node serve (or fetch on demand) a content now: only after the catalog sync, only while it is live. */
export function mayServe(state: { synced: boolean; live: boolean }): 'yes' | 'not-synced' | 'not-live' {
  if (!state.synced) return 'not-synced';
  return state.live ? 'yes' : 'not-live';
}

/**
 * This node's own attributes changed: each live content it now qualifies for is fetched,
 * each it no longer qualifies for is evicted (blocks shared with a kept content stay).
 */
export function afterAttributeChange(contents: readonly { contentId: string; manifest: Manifest; live: boolean }[], self: Self): { contentId: string; action: 'prefetch' | 'evict' }[] {
  return contents.filter((c) => c.live).map((c) => ({ contentId: c.contentId, action: qualifies(c.manifest, self) ? 'prefetch' : 'evict' }));
}

/**
 * A newer publisher list arrived: every held announcement is judged again (those still
 * unauthorised are held again); nothing already accepted is dropped.
 */
export function afterPublisherList<T>(held: readonly T[]): { retry: readonly T[] } {
  return { retry: held };
}
