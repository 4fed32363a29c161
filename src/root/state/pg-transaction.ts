/** Runs `fn` in one transaction on a pooled connection: COMMIT if it resolves, ROLLBACK if it throws. */
import type pg from 'pg';

export async function inTransaction<T>(db: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  // The pool listens for errors only on idle clients. A checked-out client whose connection
  // is lost (PostgreSQL restarted, the backend terminated) emits 'error'; with no listener
  // that ends the process, which took a standby root down when PostgreSQL restarted under a
  // lease step. The query in flight, or the next one, fails with it: this only keeps it, so
  // the broken connection is closed on release instead of going back to the pool.
  let lost: Error | undefined;
  const onError = (err: Error) => void (lost ??= err);
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.off('error', onError);
    client.release(lost);
  }
}
