/**
 * The leader lease row in PostgreSQL: one transaction locks it (FOR NO KEY UPDATE) with the
 * database's clock, asks the pure rules (leader-lease.ts) what to do, and writes the
 * outcome. The database's clock is the only clock the roots compare, so skew between the
 * roots' hosts never gives two of them the lease.
 */
import type pg from 'pg';
import { inTransaction } from './pg-transaction.js';
import { decideLease, type Lease, type LeaseDecision } from './leader-lease.js';

export interface LeaseCandidate {
  id: string;
  /** What followers and the CLI are told about this root: JSON of its addresses. */
  address: string;
}

/** A root that took part in a lease round lately, with how long ago. */
export interface SeenRoot {
  holder: string;
  address: string;
  seenSecondsAgo: number;
}

/** Roots not seen for this long are no longer listed (and their rows go after an hour). */
export const SEEN_WINDOW_S = 60;

/** One round: acquire, renew, or learn who leads; this root is marked seen, and the roots seen lately come back. */
export async function stepLease(db: pg.Pool, me: LeaseCandidate, ttlMs: number): Promise<LeaseDecision & { roots: SeenRoot[] }> {
  return inTransaction(db, async (client) => {
    const { rows } = await client.query<{ holder: string; address: string; fence: string; exp: number; now: number }>(
      'SELECT holder, address, fence, extract(epoch FROM expires_at) * 1000 AS exp, extract(epoch FROM now()) * 1000 AS now FROM canopy_lease WHERE id = 1 FOR NO KEY UPDATE',
    );
    const row = rows[0]!;
    const current: Lease = { holder: row.holder, address: row.address, fence: Number(row.fence), expiresAt: Number(row.exp) };
    const decision = decideLease(current, me, Number(row.now), ttlMs);
    // A fenced write holds the row FOR KEY SHARE (postgres-state.ts), which a renewal (FOR NO
    // KEY UPDATE) does not wait for: the holder's renewal never queues behind its own writes.
    // A change of hands does wait for them (FOR UPDATE): no write of the old leader lands
    // after the fence moved on, and every later one finds the new fence and is refused.
    if (decision.action === 'acquire') await client.query('SELECT 1 FROM canopy_lease WHERE id = 1 FOR UPDATE');
    if (decision.action !== 'follow') {
      const l = decision.lease;
      await client.query('UPDATE canopy_lease SET holder = $1, address = $2, fence = $3, expires_at = to_timestamp($4 / 1000.0) WHERE id = 1', [l.holder, l.address, l.fence, l.expiresAt]);
    }
    return { ...decision, roots: await markSeen(client, me) };
  });
}

async function markSeen(client: pg.ClientBase, me: LeaseCandidate): Promise<SeenRoot[]> {
  await client.query('INSERT INTO canopy_roots(holder, address, seen_at) VALUES ($1, $2, now()) ON CONFLICT (holder) DO UPDATE SET address = EXCLUDED.address, seen_at = now()', [me.id, me.address]);
  await client.query("DELETE FROM canopy_roots WHERE seen_at < now() - interval '1 hour'");
  const { rows } = await client.query<{ holder: string; address: string; ago: number }>(
    `SELECT holder, address, extract(epoch FROM now() - seen_at) AS ago FROM canopy_roots WHERE seen_at > now() - interval '${SEEN_WINDOW_S} seconds' ORDER BY holder`,
  );
  return rows.map((r) => ({ holder: r.holder, address: r.address, seenSecondsAgo: Math.round(Number(r.ago) * 10) / 10 }));
}

/** The lease as it stands (for status views), without taking part. */
export async function readLease(db: pg.Pool): Promise<(Lease & { now: number }) | undefined> {
  const { rows } = await db.query<{ holder: string; address: string; fence: string; exp: number; now: number }>(
    'SELECT holder, address, fence, extract(epoch FROM expires_at) * 1000 AS exp, extract(epoch FROM now()) * 1000 AS now FROM canopy_lease WHERE id = 1',
  );
  const r = rows[0];
  return r && r.holder !== '' ? { holder: r.holder, address: r.address, fence: Number(r.fence), expiresAt: Number(r.exp), now: Number(r.now) } : undefined;
}

/**
 * Voluntarily ends a lease this root holds (a clean stop): a standby takes over at its next
 * round instead of waiting for the expiry.
 */
export async function releaseLease(db: pg.Pool, holder: string, fence: number): Promise<void> {
  await db.query("UPDATE canopy_lease SET expires_at = 'epoch' WHERE id = 1 AND holder = $1 AND fence = $2", [holder, fence]);
}
