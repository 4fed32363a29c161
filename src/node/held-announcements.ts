/**
 * Announcements a node dropped only because their publisher key was not in its publisher
 * list, kept a while in case a newer list arrives: the list travels root → member directly,
 * the announcement over the control tree, so right after `canopy publishers add` (or before
 * a new node's catalog sync) the announcement can arrive first. When a newer list arrives the
 * node judges them again, from scratch. Bounded in count and age, so an insider flooding
 * announcements from unknown keys costs a little memory and nothing else (the catalog sync
 * at the next join remains the fallback for anything pushed out).
 */
export interface HeldAnnouncement {
  contentId: string;
  manifest: unknown;
  access: unknown;
  at: number;
}

export class HeldAnnouncements {
  private readonly held = new Map<string, HeldAnnouncement>();

  constructor(
    private readonly max = 64,
    private readonly ttlMs = 10 * 60_000,
  ) {}

  hold(contentId: string, manifest: unknown, access: unknown, now = Date.now()): void {
    this.held.delete(contentId);
    this.held.set(contentId, { contentId, manifest, access, at: now });
    // Oldest first out (Map keeps insertion order).
    while (this.held.size > this.max) this.held.delete(this.held.keys().next().value!);
  }

  /** Everything still fresh, removed from the set (the caller judges each again). */
  take(now = Date.now()): HeldAnnouncement[] {
    const out = [...this.held.values()].filter((h) => now - h.at <= this.ttlMs);
    this.held.clear();
    return out;
  }

  get size(): number {
    return this.held.size;
  }
}
