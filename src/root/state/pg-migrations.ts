/**
 * The PostgreSQL schema of a root's state, as numbered migrations. A root applies the ones
 * its database lacks at start, in one transaction under an advisory lock, so two roots
 * starting at once never apply one twice; a database whose schema is newer than this
 * Canopy is refused (ERR_STATE_MISMATCH) rather than written with an older idea of it.
 * Never edit a migration that has shipped: add the next one.
 */
export interface Migration {
  version: number;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE canopy_contents (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, manifest JSONB NOT NULL, created_at TEXT NOT NULL,
        recorded_at TIMESTAMPTZ NOT NULL DEFAULT now()
      );
      CREATE INDEX canopy_contents_name ON canopy_contents(name);
      CREATE TABLE canopy_withdrawals (id TEXT PRIMARY KEY, at TEXT NOT NULL, reason TEXT NOT NULL);
      -- The authority's state as one document: it is read whole at start and written whole
      -- after each change, like authority.json; tables per member come with the lease work.
      CREATE TABLE canopy_authority (id INTEGER PRIMARY KEY CHECK (id = 1), state JSONB NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now());
      CREATE TABLE canopy_ca (id INTEGER PRIMARY KEY CHECK (id = 1), cert_pem TEXT NOT NULL, key_sealed TEXT NOT NULL);
    `,
  },
  {
    version: 2,
    sql: `
      -- The leader lease (leader-lease.ts): one row, present from the start so that every
      -- root takes it with SELECT ... FOR UPDATE; an empty holder expired at the epoch is free.
      CREATE TABLE canopy_lease (
        id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, address TEXT NOT NULL,
        fence BIGINT NOT NULL, expires_at TIMESTAMPTZ NOT NULL
      );
      INSERT INTO canopy_lease VALUES (1, '', '{}', 0, 'epoch');
      -- Small whole documents the root rewrites on change (the publisher list).
      CREATE TABLE canopy_documents (name TEXT PRIMARY KEY, doc JSONB NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now());
    `,
  },
  {
    version: 3,
    sql: `
      -- What the leader alone knows (members online, holdings, the control tree), as the
      -- answers of its read routes, rewritten every few seconds when they change: hot
      -- standbys answer those reads from here (leader-views.ts, standby-api.ts).
      CREATE TABLE canopy_views (name TEXT PRIMARY KEY, view JSONB NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT now());
      -- Every root (leader or standby) says it is alive here at each lease round, so any of
      -- them can show the others and their health (pg-lease.ts).
      CREATE TABLE canopy_roots (holder TEXT PRIMARY KEY, address TEXT NOT NULL, seen_at TIMESTAMPTZ NOT NULL);
    `,
  },
  {
    version: 4,
    sql: `
      -- Holdings members reported to the leader, saved in batches (holdings-saver.ts) so a new
      -- leader's statuses are right before the members re-report to it. With who reported
      -- (name, attributes): a member not yet joined to the new leader still shows.
      CREATE TABLE canopy_holdings (
        content_id TEXT NOT NULL, node_id TEXT NOT NULL, name TEXT NOT NULL, attrs JSONB NOT NULL,
        have_blocks INTEGER NOT NULL, have_bytes BIGINT NOT NULL, complete BOOLEAN NOT NULL,
        fetched_bytes BIGINT NOT NULL, stuck TEXT, reported_at BIGINT NOT NULL,
        PRIMARY KEY (content_id, node_id)
      );
    `,
  },
];

/** Key of the advisory lock migrations run under ("canopy" in ASCII). */
export const MIGRATION_LOCK = 0x63616e6f7079;

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
