/**
 * A root's state in PostgreSQL (node-postgres, `pg`). Writes are queued and applied one at a
 * time in the order the root made them, so the database sees the same history as the root's
 * memory; nothing is written until `adoptCa` has checked that the database belongs to this
 * root's CA. A write that failed for want of the database (a restart, a dropped connection)
 * is tried again until it lands or the root loses its lease; any other failed write is kept
 * as the store's error: `flush` throws it (with ERR_STATE_UNAVAILABLE) and `onError` is
 * told, so it is never silently lost.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { AuthorityState, AuthorityStore } from '../../security/authority.js';
import type { CatalogRecord } from '../../catalog/catalog.js';
import { CanopyError } from '../../core/errors.js';
import { fingerprint } from '../../security/x509.js';
import { openCaKey, sealCaKey } from './ca-key-box.js';
import { inTransaction } from './pg-transaction.js';
import { MIGRATION_LOCK, MIGRATIONS, SCHEMA_VERSION } from './pg-migrations.js';
import type { Attributes } from '../../core/attributes.js';
import type { SavedHolding } from '../root-registry.js';
import type { CaMaterial, DocumentStore, RootSnapshot, RootState } from './root-state.js';

type Write = (db: pg.ClientBase) => Promise<unknown>;

const UPSERT_HOLDINGS = `INSERT INTO canopy_holdings
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(content_id TEXT, node_id TEXT, name TEXT, attrs JSONB, have_blocks INTEGER, have_bytes BIGINT, complete BOOLEAN, fetched_bytes BIGINT, stuck TEXT, reported_at BIGINT)
  ON CONFLICT (content_id, node_id) DO UPDATE SET name = EXCLUDED.name, attrs = EXCLUDED.attrs, have_blocks = EXCLUDED.have_blocks, have_bytes = EXCLUDED.have_bytes,
    complete = EXCLUDED.complete, fetched_bytes = EXCLUDED.fetched_bytes, stuck = EXCLUDED.stuck, reported_at = EXCLUDED.reported_at`;

export interface PostgresStateOptions {
  url: string;
  /** The 32-byte key that seals the CA private key (docs/SECURITY.md). */
  stateKey: Buffer;
  onError?: (err: Error) => void;
}

export class PostgresRootState implements RootState {
  readonly kind = 'postgres' as const;
  /** Shared with the leader lease (leadership.ts). */
  readonly db: pg.Pool;
  /** The leader lease's own connection (leadership.ts): a renewal never waits for a connection behind the writes. */
  readonly leaseDb: pg.Pool;
  private adopted = false;
  /** Set once this root leads: every write is applied only while the lease row still has it. */
  private fence: number | undefined;
  private pending: Write[] = [];
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  /** Set once this root lost its lease: nothing it still has queued can land, so nothing waits for it. */
  private abandoned: Error | undefined;
  private abandonNow!: () => void;
  private readonly abandonedNow = new Promise<void>((resolve) => (this.abandonNow = resolve));

  private constructor(
    private readonly options: PostgresStateOptions,
    Pool: typeof pg.Pool,
  ) {
    this.db = new Pool({ connectionString: options.url, max: 4, connectionTimeoutMillis: 10_000 });
    // An idle client losing its server must not crash the root; the next query reports it.
    this.db.on('error', (err) => options.onError?.(err));
    this.leaseDb = new Pool({ connectionString: options.url, max: 1, connectionTimeoutMillis: 10_000 });
    this.leaseDb.on('error', (err) => options.onError?.(err));
  }

  /** Connects and brings the schema up to date. */
  static async open(options: PostgresStateOptions): Promise<PostgresRootState> {
    // Loaded here, not at the top: members and embedded roots never open PostgreSQL, and the
    // driver costs each of them resident memory (notes/issue-23.md, Session 8).
    const { default: pgModule } = await import('pg');
    const state = new PostgresRootState(options, pgModule.Pool);
    try {
      await state.migrate();
    } catch (err) {
      await Promise.all([state.db.end(), state.leaseDb.end()]);
      throw unavailable(err, `cannot use the state database ${redact(options.url)}`);
    }
    return state;
  }

  private async migrate(): Promise<void> {
    await inTransaction(this.db, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS canopy_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
      const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM canopy_schema');
      const have = rows[0]?.v ?? 0;
      if (have > SCHEMA_VERSION) throw new CanopyError('ERR_STATE_MISMATCH', `the state database has schema version ${have}, newer than this Canopy's ${SCHEMA_VERSION}: upgrade this root`);
      for (const m of MIGRATIONS.filter((x) => x.version > have)) {
        await client.query(m.sql);
        await client.query('INSERT INTO canopy_schema(version) VALUES ($1)', [m.version]);
      }
    });
  }

  async schemaVersion(): Promise<number> {
    const { rows } = await this.db.query<{ v: number }>('SELECT max(version) AS v FROM canopy_schema');
    return rows[0]!.v;
  }

  async load(): Promise<RootSnapshot> {
    const contents = await this.db.query<{ id: string; manifest: unknown }>('SELECT id, manifest FROM canopy_contents ORDER BY created_at, id');
    const withdrawals = await this.db.query<{ id: string; at: string; reason: string }>('SELECT id, at, reason FROM canopy_withdrawals ORDER BY at, id');
    const authority = await this.db.query<{ state: AuthorityState }>('SELECT state FROM canopy_authority WHERE id = 1');
    const documents = await this.db.query<{ name: string; doc: unknown }>('SELECT name, doc FROM canopy_documents');
    return {
      documents: Object.fromEntries(documents.rows.map((r) => [r.name, r.doc])),
      contents: contents.rows.map((r) => ({ contentId: r.id, manifest: r.manifest })),
      withdrawals: withdrawals.rows.map((r) => ({ contentId: r.id, at: r.at, reason: r.reason })),
      authority: authority.rows[0]?.state,
    };
  }

  authorityStore(snapshot: RootSnapshot): AuthorityStore {
    return {
      load: () => snapshot.authority,
      save: (state) => {
        // Copied now: the authority goes on changing its state object after this call.
        const doc = JSON.stringify(state);
        this.enqueue((db) => db.query('INSERT INTO canopy_authority(id, state, updated_at) VALUES (1, $1, now()) ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, updated_at = now()', [doc]));
      },
      flush: () => this.flush(),
    };
  }

  documentStore<T>(name: string, snapshot: RootSnapshot): DocumentStore<T> {
    return {
      load: () => snapshot.documents[name] as T | undefined,
      save: (doc) => {
        const text = JSON.stringify(doc);
        this.enqueue((db) => db.query('INSERT INTO canopy_documents(name, doc, updated_at) VALUES ($1, $2, now()) ON CONFLICT (name) DO UPDATE SET doc = EXCLUDED.doc, updated_at = now()', [name, text]));
      },
    };
  }

  /**
   * The leader's read views (leader-views.ts): changed ones rewritten, gone ones deleted, in
   * the ordered, fenced write queue like every other write. One transaction per view: a
   * takeover waits for the write in flight (apply), and a publish's write queued behind the
   * views waits for them, so neither waits for ten multi-megabyte statuses at once.
   */
  putViews(changed: [name: string, json: string][], gone: string[]): void {
    for (const [name, json] of changed) this.enqueue((db) => db.query('INSERT INTO canopy_views(name, view, at) VALUES ($1, $2, now()) ON CONFLICT (name) DO UPDATE SET view = EXCLUDED.view, at = now()', [name, json]));
    if (gone.length > 0) this.enqueue((db) => db.query('DELETE FROM canopy_views WHERE name = ANY($1)', [gone]));
  }

  /**
   * Holdings members reported (holdings-saver.ts): upserted and, for contents forgotten,
   * deleted, in one fenced transaction of the write queue.
   */
  putHoldings(rows: readonly SavedHolding[], forgotten: readonly string[]): void {
    if (rows.length === 0 && forgotten.length === 0) return;
    const json = JSON.stringify(rows.map((r) => ({ content_id: r.contentId, node_id: r.nodeId, name: r.name, attrs: r.attrs, have_blocks: r.haveBlocks, have_bytes: r.haveBytes, complete: r.complete, fetched_bytes: r.fetchedBytes, stuck: r.stuck ?? null, reported_at: r.at })));
    this.enqueue(async (db) => {
      if (forgotten.length > 0) await db.query('DELETE FROM canopy_holdings WHERE content_id = ANY($1)', [forgotten]);
      if (rows.length > 0) await db.query(UPSERT_HOLDINGS, [json]);
    });
  }

  /** Every saved holding (a new leader's start). */
  async loadHoldings(): Promise<SavedHolding[]> {
    const { rows } = await this.db.query<{ content_id: string; node_id: string; name: string; attrs: Attributes; have_blocks: number; have_bytes: string; complete: boolean; fetched_bytes: string; stuck: string | null; reported_at: string }>('SELECT * FROM canopy_holdings');
    return rows.map((r) => ({ contentId: r.content_id, nodeId: r.node_id, name: r.name, attrs: r.attrs, haveBlocks: r.have_blocks, haveBytes: Number(r.have_bytes), complete: r.complete, fetchedBytes: Number(r.fetched_bytes), stuck: r.stuck ?? undefined, at: Number(r.reported_at) }));
  }

  /** Deletes every view but these (a new leader's first round: views of a previous leader's retired contents). */
  clearViewsExcept(names: string[]): void {
    this.enqueue((db) => db.query('DELETE FROM canopy_views WHERE NOT (name = ANY($1))', [names]));
  }

  /** Fences every later write with the lease's fencing number (leadership.ts). */
  fenceWith(fence: number): void {
    this.fence = fence;
  }

  /** The CA the database holds, unsealed with this root's state key (ERR_STATE_KEY if it does not open). */
  async storedCa(): Promise<CaMaterial | undefined> {
    const { rows } = await this.db.query<{ cert_pem: string; key_sealed: string }>('SELECT cert_pem, key_sealed FROM canopy_ca WHERE id = 1');
    const r = rows[0];
    return r && { certPem: r.cert_pem, keyPem: openCaKey(r.key_sealed, this.options.stateKey) };
  }

  async adoptCa(ca: CaMaterial): Promise<void> {
    const { rows } = await this.db.query<{ cert_pem: string; key_sealed: string }>('SELECT cert_pem, key_sealed FROM canopy_ca WHERE id = 1');
    const stored = rows[0];
    if (!stored) {
      await this.db.query('INSERT INTO canopy_ca(id, cert_pem, key_sealed) VALUES (1, $1, $2)', [ca.certPem, sealCaKey(ca.keyPem, this.options.stateKey)]);
    } else {
      if (fingerprint(stored.cert_pem) !== fingerprint(ca.certPem)) throw new CanopyError('ERR_STATE_MISMATCH', `the state database belongs to another network (CA ${fingerprint(stored.cert_pem).slice(0, 16)}, this root's is ${fingerprint(ca.certPem).slice(0, 16)})`);
      if (openCaKey(stored.key_sealed, this.options.stateKey) !== ca.keyPem) throw new CanopyError('ERR_STATE_MISMATCH', "the CA key in the state database is not this root's CA key");
    }
    this.adopted = true;
    const held = this.pending;
    this.pending = [];
    for (const w of held) this.enqueue(w);
  }

  record(r: CatalogRecord): void {
    if (r.kind === 'content') {
      const { contentId, manifest } = r;
      this.enqueue((db) => db.query('INSERT INTO canopy_contents(id, name, manifest, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING', [contentId, manifest.name, JSON.stringify(manifest), manifest.createdAt]));
    } else if (r.kind === 'forget') {
      // History retention dropped the manifest; the withdrawal stays until its own turn, as in the local index.
      const { contentId } = r;
      this.enqueue((db) => db.query('DELETE FROM canopy_contents WHERE id = $1', [contentId]));
    } else if (r.kind === 'forget-withdrawal') {
      const { contentId } = r;
      this.enqueue((db) => db.query('DELETE FROM canopy_withdrawals WHERE id = $1', [contentId]));
    } else {
      const w = r.withdrawal;
      this.enqueue((db) => db.query('INSERT INTO canopy_withdrawals(id, at, reason) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [w.contentId, w.at, w.reason]));
    }
  }

  private enqueue(write: Write): void {
    if (!this.adopted) {
      this.pending.push(write);
      return;
    }
    this.chain = this.chain.then(async () => {
      for (let attempt = 1; !this.failure; attempt++) {
        try {
          await this.apply(write);
          return;
        } catch (err) {
          // The database restarting (or a connection dropped) is waited out: the lease decides how long. If the database
          // stays away, the renewals fail too and the root is deposed (abandon ends this loop); a write retried after a
          // lost COMMIT answer is harmless (every write is an upsert, an insert that ignores a duplicate, or a delete).
          if (isTransient(err) && !this.abandoned) {
            if (attempt === 1) this.options.onError?.(unavailable(err, 'a write to the state database failed; retrying'));
            await Promise.race([sleep(RETRY_MS), this.abandonedNow]);
            continue;
          }
          this.failure = unavailable(err, 'a write to the state database failed');
          this.options.onError?.(this.failure);
        }
      }
    });
  }

  /**
   * One write in its own transaction; on a leader, only if the lease row still carries this
   * root's fence. FOR KEY SHARE holds the row, so a standby's takeover (FOR UPDATE, pg-lease.ts)
   * waits for this write to commit: no write of a deposed leader lands after the fence moved
   * on. The leader's own renewals (FOR NO KEY UPDATE) do not wait for it.
   */
  private async apply(write: Write): Promise<void> {
    await inTransaction(this.db, async (client) => {
      if (this.fence !== undefined) {
        const held = await client.query('SELECT 1 FROM canopy_lease WHERE id = 1 AND fence = $1 FOR KEY SHARE', [this.fence]);
        if (held.rowCount === 0) throw new CanopyError('ERR_NOT_LEADER', `write refused: this root's lease (fence ${this.fence}) has passed to another root`);
      }
      await write(client);
    });
  }

  async flush(): Promise<void> {
    // A deposed root answers at once: a write hung on a cut-off connection must not hold a publish (or the API's close) for ever.
    await Promise.race([this.chain, this.abandonedNow]);
    if (this.failure) throw this.failure;
  }

  /**
   * This root lost its lease (leadership.ts): every queued write would be refused by the
   * fence, so none is sent, waiters are answered `err` now, and `close` waits for nothing.
   */
  abandon(err: Error): void {
    this.abandoned = err;
    this.failure ??= err;
    this.abandonNow();
  }

  /**
   * Waits for the queued writes and closes the pool, each for at most CLOSE_WAIT_MS: a root
   * cut off from its database (a query sent, no answer ever) must still stop. A write not
   * done by then was never acknowledged (a publish waits for its write) and is refused by the
   * fence if it lands later.
   */
  async close(): Promise<void> {
    // Deposed: its writes are refused whatever happens, and its database may be the thing cut off.
    const wait = this.abandoned ? ABANDONED_CLOSE_WAIT_MS : CLOSE_WAIT_MS;
    await within(this.chain, wait);
    await within(Promise.all([this.db.end(), this.leaseDb.end()]), wait);
  }
}

/** Pause between two tries of a write that failed for want of the database. */
const RETRY_MS = 200;

/**
 * A failure that a later try can get past: the connection dropped or was refused, or the
 * server is shutting down or starting (SQLSTATE classes 08 and 57P0x, 53300). Any other
 * error (a constraint, bad data, ERR_NOT_LEADER) is final.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof CanopyError) return false;
  const code = String((err as { code?: unknown })?.code ?? '');
  if (code.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(code)) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code)) return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(String((err as Error)?.message ?? ''));
}

/** How long a closing store waits for its writes, then for its connections to end. */
export const CLOSE_WAIT_MS = 3_000;
/** The same for a deposed root: a moment for connections that still answer to end cleanly. */
export const ABANDONED_CLOSE_WAIT_MS = 200;

/** `p`, or nothing after `ms` (the timer does not keep the process alive). */
export function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => ((timer = setTimeout(resolve, ms)), timer.unref()));
  return Promise.race([p.then(() => undefined, () => undefined), late]).finally(() => clearTimeout(timer));
}

function unavailable(err: unknown, what: string): Error {
  if (err instanceof CanopyError) return err;
  return new CanopyError('ERR_STATE_UNAVAILABLE', `${what}: ${(err as Error).message}`);
}

/** A connection string without its password, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
