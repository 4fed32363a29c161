/**
 * The root's state store against a real PostgreSQL (a throw-away cluster, test/helpers/postgres.ts):
 * migrations run once and are versioned, writes land in order and survive a database restart,
 * the CA key rests sealed, and a root with another CA or the wrong key file is refused
 * before it writes anything.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { CanopyError } from '../../src/core/errors.js';
import { PostgresRootState } from '../../src/root/state/postgres-state.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/root/state/pg-migrations.js';
import { openRootState } from '../../src/root/state/open-root-state.js';
import { createCaCertificate, generateKeyPair } from '../../src/security/x509.js';
import { TestPostgres } from '../helpers/postgres.js';
import { Leadership } from '../../src/root/state/leadership.js';
import { inTransaction } from '../../src/root/state/pg-transaction.js';
import { tempDir } from '../helpers/cli.js';

async function generateCa(): Promise<{ certPem: string; keyPem: string }> {
  const keys = generateKeyPair();
  return { certPem: await createCaCertificate(keys, 'test'), keyPem: keys.privateKeyPem };
}

const manifest = (name: string) => ({ name, createdAt: '2026-01-01T00:00:00.000Z', blocks: [] }) as never;

describe('root state in PostgreSQL', () => {
  let db: TestPostgres;
  const key = randomBytes(32);
  before(async () => {
    db = await TestPostgres.start();
  });
  after(() => db?.stop());

  it('migrates once, writes in order after adopting the CA, and reads it back after a database restart', async () => {
    const ca = await generateCa();
    const [a, b] = await Promise.all([PostgresRootState.open({ url: db.url(), stateKey: key }), PostgresRootState.open({ url: db.url(), stateKey: key })]);
    assert.equal(await a.schemaVersion(), SCHEMA_VERSION);
    // Each migration applied once although two roots opened the database at the same moment.
    assert.deepEqual(await db.query('SELECT version FROM canopy_schema ORDER BY version'), MIGRATIONS.map((m) => ({ version: m.version })));
    await b.close();

    const snap = await a.load();
    const store = a.authorityStore(snap);
    assert.equal(store.load(), undefined);
    store.save({ serial: 3, usedTokens: { t1: 9 }, records: {}, revoked: [], revocations: null });
    a.record({ kind: 'content', contentId: 'c'.repeat(64), manifest: manifest('build') });
    // Held until the CA is adopted: a root that turns out to be the wrong one writes nothing.
    assert.deepEqual(await db.query('SELECT id FROM canopy_contents'), []);
    await a.adoptCa({ certPem: ca.certPem, keyPem: ca.keyPem });
    a.record({ kind: 'withdrawal', withdrawal: { contentId: 'c'.repeat(64), at: '2026-01-02T00:00:00.000Z', reason: 'bad build' } });
    store.save({ serial: 4, usedTokens: { t1: 9 }, records: {}, revoked: ['n'], revocations: null });
    await a.flush();
    await a.close();

    const sealed = await db.query<{ key_sealed: string }>('SELECT key_sealed FROM canopy_ca');
    assert.ok(sealed[0]!.key_sealed.startsWith('v1:'));
    assert.ok(!sealed[0]!.key_sealed.includes('PRIVATE KEY'));

    await db.halt();
    await db.run();
    const errors: string[] = [];
    const c = await PostgresRootState.open({ url: db.url(), stateKey: key, onError: (e) => errors.push((e as CanopyError).code ?? e.message) });
    const again = await c.load();
    assert.deepEqual(again.contents.map((x) => x.contentId), ['c'.repeat(64)]);
    assert.deepEqual(again.withdrawals, [{ contentId: 'c'.repeat(64), at: '2026-01-02T00:00:00.000Z', reason: 'bad build' }]);
    assert.equal(again.authority?.serial, 4);
    await c.adoptCa({ certPem: ca.certPem, keyPem: ca.keyPem });
    // A write made while the database is down (restarting) is retried and lands once it is back, not kept as a failure.
    await db.halt();
    c.record({ kind: 'content', contentId: 'e'.repeat(64), manifest: manifest('during-restart') });
    await sleep(600);
    await db.run();
    await c.flush();
    assert.deepEqual(await db.query('SELECT id FROM canopy_contents ORDER BY id'), [{ id: 'c'.repeat(64) }, { id: 'e'.repeat(64) }]);
    assert.ok(errors.includes('ERR_STATE_UNAVAILABLE'), `the failed first try was reported: ${errors.join(', ')}`);
    c.record({ kind: 'forget', contentId: 'e'.repeat(64) });
    // History retention forgets a withdrawn content's manifest; its withdrawal stays for the retention.
    c.record({ kind: 'forget', contentId: 'c'.repeat(64) });
    await c.flush();
    assert.deepEqual(await db.query('SELECT id FROM canopy_contents'), []);
    assert.equal((await db.query('SELECT id FROM canopy_withdrawals')).length, 1);
    // Past the retention the withdrawal goes too (issue 25).
    c.record({ kind: 'forget-withdrawal', contentId: 'c'.repeat(64) });
    await c.flush();
    assert.deepEqual(await db.query('SELECT id FROM canopy_withdrawals'), []);
    await c.close();

    // Another network's root, or this one with the wrong key file: refused, nothing written.
    const other = await generateCa();
    const d = await PostgresRootState.open({ url: db.url(), stateKey: key });
    d.record({ kind: 'content', contentId: 'd'.repeat(64), manifest: manifest('other') });
    await assert.rejects(d.adoptCa({ certPem: other.certPem, keyPem: other.keyPem }), (err: CanopyError) => err.code === 'ERR_STATE_MISMATCH');
    await d.close();
    const e = await PostgresRootState.open({ url: db.url(), stateKey: randomBytes(32) });
    await assert.rejects(e.adoptCa({ certPem: ca.certPem, keyPem: ca.keyPem }), (err: CanopyError) => err.code === 'ERR_STATE_KEY');
    await e.close();
    assert.deepEqual(await db.query('SELECT id FROM canopy_contents'), []);
  });

  it('refuses a schema newer than this Canopy, and an unreachable database, with clear errors', async () => {
    await db.query('INSERT INTO canopy_schema(version) VALUES (999)');
    await assert.rejects(PostgresRootState.open({ url: db.url(), stateKey: key }), (err: CanopyError) => err.code === 'ERR_STATE_MISMATCH' && /999/.test(err.message));
    await db.query('DELETE FROM canopy_schema WHERE version = 999');
    const dir = tempDir('canopy-state-key-');
    writeFileSync(`${dir.path}/k`, randomBytes(32).toString('hex'));
    await assert.rejects(openRootState({ dataDir: dir.path, state: 'postgres://postgres:secret@127.0.0.1:1/canopy', stateKeyFile: `${dir.path}/k` }), (err: CanopyError) => err.code === 'ERR_STATE_UNAVAILABLE' && !err.message.includes('secret'));
    dir.remove();
  });

  it('one root leads at a time; the writes of a deposed leader are refused by its fence', async () => {
    const [a, b] = [await PostgresRootState.open({ url: db.url(), stateKey: key }), await PostgresRootState.open({ url: db.url(), stateKey: key })];
    const lost: Error[] = [];
    const la = new Leadership(a.db, (err) => lost.push(err));
    const lb = new Leadership(b.db, (err) => lost.push(err));
    la.addresses = () => ({ api: 'http://a' });
    assert.equal(await la.tryOnce(), true);
    assert.equal(await lb.tryOnce(), false, 'a live lease is not taken');
    assert.equal(lb.view().leader?.api, 'http://a', 'the standby knows who leads');
    a.fenceWith(la.currentFence);
    await a.adoptCa(await a.storedCa().then((ca) => ca!));
    a.record({ kind: 'withdrawal', withdrawal: { contentId: 'f'.repeat(64), at: '2026-01-03T00:00:00.000Z', reason: 'fenced ok' } });
    await a.flush();
    // The leader pauses past its lease (as if cut off): the standby takes it with the next fence.
    await db.query("UPDATE canopy_lease SET expires_at = 'epoch'");
    assert.equal(await lb.tryOnce(), true);
    assert.equal(lb.currentFence, la.currentFence + 1);
    a.record({ kind: 'withdrawal', withdrawal: { contentId: 'e'.repeat(64), at: '2026-01-03T00:00:00.000Z', reason: 'too late' } });
    await assert.rejects(a.flush(), (err: CanopyError) => err.code === 'ERR_NOT_LEADER');
    assert.deepEqual(await db.query("SELECT reason FROM canopy_withdrawals WHERE id IN ($1, $2)", ['f'.repeat(64), 'e'.repeat(64)]), [{ reason: 'fenced ok' }]);
    await lb.stop();
    assert.equal(await la.tryOnce(), true, 'a lease given up is free at once');
    await la.stop();
    await Promise.all([a.close(), b.close()]);
  });
  it('a leader writes the addresses it listens on at once, not at its next renewal (a standby never names port 0)', async () => {
    const [a, b] = [await PostgresRootState.open({ url: db.url(), stateKey: key }), await PostgresRootState.open({ url: db.url(), stateKey: key })];
    const la = new Leadership(a.leaseDb, () => undefined);
    const lb = new Leadership(b.leaseDb, () => undefined);
    // Configured with "any free port": the lease row shows that until the node listens.
    let api = 'http://127.0.0.1:0';
    la.addresses = () => ({ api, peer: '127.0.0.1:0' });
    assert.equal(await la.tryOnce(), true);
    assert.equal(await lb.tryOnce(), false);
    assert.equal(lb.view().leader?.api, 'http://127.0.0.1:0');
    // Listening now; no renewal round runs here (keep() was not called): only publishAddresses writes the row.
    api = 'http://127.0.0.1:41234';
    await la.publishAddresses();
    assert.equal(await lb.tryOnce(), false);
    assert.equal(lb.view().leader?.api, 'http://127.0.0.1:41234', 'the standby names where the leader listens');
    assert.equal(la.leads(), true, 'the round that wrote the addresses renewed the lease');
    await la.stop();
    await lb.stop();
    await Promise.all([a.close(), b.close()]);
  });

  it('a renewal does not wait for the leader\'s write in flight, a takeover does; a deposed store answers a stuck flush at once', async () => {
    const [a, b] = [await PostgresRootState.open({ url: db.url(), stateKey: key }), await PostgresRootState.open({ url: db.url(), stateKey: key })];
    const la = new Leadership(a.leaseDb, () => undefined);
    const lb = new Leadership(b.leaseDb, () => undefined);
    await db.query("UPDATE canopy_lease SET expires_at = 'epoch'");
    assert.equal(await la.tryOnce(), true);
    // A write of the leader in flight: its transaction holds the lease row as every fenced write does (postgres-state.ts apply).
    const writer = new pg.Client({ connectionString: db.url() });
    await writer.connect();
    await writer.query('BEGIN');
    assert.equal((await writer.query('SELECT 1 FROM canopy_lease WHERE id = 1 AND fence = $1 FOR KEY SHARE', [la.currentFence])).rowCount, 1);
    assert.equal(await la.tryOnce(), true, 'the holder renews while its write is open');
    await db.query("UPDATE canopy_lease SET expires_at = 'epoch'");
    let took: boolean | undefined;
    const takeover = lb.tryOnce().then((t) => (took = t));
    await sleep(500);
    assert.equal(took, undefined, 'a change of hands waits for the write in flight');
    await writer.query('COMMIT');
    await takeover;
    assert.equal(took, true);
    assert.equal(lb.currentFence, la.currentFence + 1);
    // The old leader's next write is stuck behind a lock (as on a database cut off): deposed, its flush is answered at once.
    a.fenceWith(la.currentFence);
    await a.adoptCa(await a.storedCa().then((ca) => ca!));
    await writer.query('BEGIN');
    await writer.query('SELECT 1 FROM canopy_lease WHERE id = 1 FOR UPDATE');
    a.record({ kind: 'withdrawal', withdrawal: { contentId: 'd'.repeat(64), at: '2026-01-03T00:00:00.000Z', reason: 'stuck' } });
    const flushed = a.flush().then(() => 'ok', (err: CanopyError) => err.code);
    await sleep(200);
    a.abandon(new CanopyError('ERR_NOT_LEADER', 'deposed'));
    assert.equal(await flushed, 'ERR_NOT_LEADER');
    await writer.query('ROLLBACK');
    await writer.end();
    await lb.stop();
    await Promise.all([a.close(), b.close()]);
  });
  it('a connection lost in the middle of a transaction fails that transaction, not the process', async () => {
    // What a standby root's lease step met when PostgreSQL restarted: before, the checked-out
    // client's 'error' had no listener and the process ended (CI, Session 26).
    const pool = new pg.Pool({ connectionString: db.url(), max: 1 });
    pool.on('error', () => undefined);
    const admin = new pg.Client({ connectionString: db.url() });
    await admin.connect();
    try {
      await assert.rejects(
        inTransaction(pool, async (client) => {
          const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
          // The termination arrives while no query runs: the client emits 'error' now.
          await sleep(300);
          await client.query('SELECT 1');
        }),
      );
      // The broken connection was closed, not pooled: the next transaction gets a new one.
      assert.equal(await inTransaction(pool, async (client) => (await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one), 1);
    } finally {
      await admin.end();
      await pool.end();
    }
  });
});
