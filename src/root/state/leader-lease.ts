/**
 * The leader lease of several roots sharing one PostgreSQL, as pure decisions (the database
 * row is read and written by the caller, in one transaction, with the database's clock).
 *
 * One row: holder, its address, a fencing number and an expiry. A root takes the lease when
 * it is free or expired, bumping the fence; the holder renews it before it expires, keeping
 * the fence. Every write a leader makes carries its fence and is refused by the database if
 * the fence moved on, so a root that lost its lease (paused, cut off) can never write again,
 * even if it has not noticed yet. It also stops acting itself (signing, announcing) a safety
 * margin before its lease runs out, measured on its own monotonic clock from when it asked.
 *
 * Not yet wired into the root: see docs/OPERATIONS.md, "Running several roots".
 */
export interface Lease {
  holder: string;
  /** Where followers send writes and nodes find the leader (its admin API or peer address). */
  address: string;
  fence: number;
  /** Milliseconds, on the database's clock. */
  expiresAt: number;
}

export type LeaseDecision = { action: 'acquire' | 'renew'; lease: Lease } | { action: 'follow'; leader: Lease };

/** What root `me` should do with the lease row `current` at database time `now`. */
export function decideLease(current: Lease | undefined, me: { id: string; address: string }, now: number, ttlMs: number): LeaseDecision {
  if (current && current.holder === me.id && current.expiresAt > now) return { action: 'renew', lease: { ...current, address: me.address, expiresAt: now + ttlMs } };
  if (!current || current.expiresAt <= now) return { action: 'acquire', lease: { holder: me.id, address: me.address, fence: (current?.fence ?? 0) + 1, expiresAt: now + ttlMs } };
  return { action: 'follow', leader: current };
}

/**
 * Until when (local monotonic ms) a root that was granted `ttlMs` by a request it sent at
 * `askedAt` may act as leader: the lease started no earlier than the request, and the
 * margin covers clock rate drift and the time a signed message takes to leave.
 */
export function actUntil(askedAt: number, ttlMs: number, marginMs: number): number {
  return askedAt + Math.max(0, ttlMs - marginMs);
}

/** Whether a write fenced with `fence` may still be applied when the lease row has `current`. */
export function fenceHolds(fence: number, current: Lease | undefined): boolean {
  return current !== undefined && current.fence === fence;
}
