/**
 * Which of the leader's views to recompute in a round, and when the next round comes
 * (leader-views.ts). A view is recomputed when something it depends on changed since it was
 * last computed (a content's holdings: its status; the member list: every view), when it
 * is new, or when it is older than VIEW_STALE_MS: a status also moves with the clock alone
 * (a rate goes stale after 5 s, a silent node is stalled after 30 s), which no event tells.
 * At 10,000 members a status is ~10,000 rows: recomputing every one every 2 s held the
 * leader's event loop for seconds and cost it its lease (issue 18). Pure: the caller passes
 * the clock.
 */

/** A view unchanged by any event is still recomputed this often (its clock-driven fields). */
export const VIEW_STALE_MS = 10_000;
/** The next round waits at least this many times the last round's busy time: the views take at most ~1/(1+n) of the event loop. */
export const BUSY_FACTOR = 9;

export class ViewSchedule {
  /** Bumped at every change; a view computed at an older sequence than its last change is due. */
  private seq = 0;
  private everythingAt = 0;
  private readonly changedAt = new Map<string, number>();
  private readonly computed = new Map<string, { seq: number; at: number }>();

  /** Something a view depends on changed: the named one, or every view (undefined). */
  touch(name?: string): void {
    this.seq++;
    if (name === undefined) this.everythingAt = this.seq;
    else this.changedAt.set(name, this.seq);
  }

  /** The views among `names` to recompute at `now`, in the order given. */
  due(names: readonly string[], now: number): string[] {
    return names.filter((name) => {
      const c = this.computed.get(name);
      if (!c) return true;
      return c.seq < this.everythingAt || c.seq < (this.changedAt.get(name) ?? 0) || now - c.at >= VIEW_STALE_MS;
    });
  }

  /** `name` was computed at `now` from the state as it is (every change so far is in it). */
  done(name: string, now: number): void {
    this.computed.set(name, { seq: this.seq, at: now });
    this.changedAt.delete(name);
  }

  /** Forgets the views no longer listed (a retired content's status). */
  keepOnly(names: ReadonlySet<string>): void {
    for (const name of this.computed.keys()) if (!names.has(name)) this.computed.delete(name);
    for (const name of this.changedAt.keys()) if (!names.has(name)) this.changedAt.delete(name);
  }
}

/** How long after a round that kept the event loop busy for `busyMs` the next one starts. */
export function nextRoundDelay(everyMs: number, busyMs: number): number {
  return Math.max(everyMs, Math.ceil(BUSY_FACTOR * busyMs));
}
