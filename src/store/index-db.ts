/**
 * The store's index in embedded SQLite (WAL, so other processes of the site can read while
 * the node writes): which volume holds each block, and the manifests of known contents.
 * The index is written after the data it describes, so after a crash it may miss a block
 * that is on disk (the scrub re-adds or deletes it) but never points at one that is not.
 */
import Database from 'better-sqlite3';

export interface BlockRow {
  hash: string;
  volume: string;
  length: number;
}

export interface ContentRow {
  id: string;
  name: string;
  manifest: string;
  created_at: string;
}

export interface WithdrawalRow {
  id: string;
  at: string;
  reason: string;
}

export class IndexDb {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS blocks (
        hash TEXT PRIMARY KEY, volume TEXT NOT NULL, length INTEGER NOT NULL,
        stored_at INTEGER NOT NULL, last_access INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS contents (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, manifest TEXT NOT NULL, created_at TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS contents_name ON contents(name);
      CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS withdrawals (id TEXT PRIMARY KEY, at TEXT NOT NULL, reason TEXT NOT NULL) WITHOUT ROWID;
    `);
    this.stmts = {
      putBlock: this.db.prepare('INSERT OR REPLACE INTO blocks(hash, volume, length, stored_at, last_access) VALUES (?, ?, ?, ?, ?)'),
      getBlock: this.db.prepare<[string], BlockRow>('SELECT hash, volume, length FROM blocks WHERE hash = ?'),
      deleteBlock: this.db.prepare('DELETE FROM blocks WHERE hash = ?'),
      allBlocks: this.db.prepare<[], BlockRow>('SELECT hash, volume, length FROM blocks'),
      volumeUsage: this.db.prepare<[], { volume: string; bytes: number; blocks: number }>('SELECT volume, SUM(length) AS bytes, COUNT(*) AS blocks FROM blocks GROUP BY volume'),
      putContent: this.db.prepare('INSERT OR IGNORE INTO contents(id, name, manifest, created_at) VALUES (?, ?, ?, ?)'),
      getContent: this.db.prepare<[string], ContentRow>('SELECT * FROM contents WHERE id = ?'),
      contentsByName: this.db.prepare<[string], ContentRow>('SELECT * FROM contents WHERE name = ? ORDER BY created_at DESC'),
      allContents: this.db.prepare<[], ContentRow>('SELECT * FROM contents ORDER BY created_at'),
      getKv: this.db.prepare<[string], { value: string }>('SELECT value FROM kv WHERE key = ?'),
      putKv: this.db.prepare('INSERT OR REPLACE INTO kv(key, value) VALUES (?, ?)'),
      putWithdrawal: this.db.prepare('INSERT OR IGNORE INTO withdrawals(id, at, reason) VALUES (?, ?, ?)'),
      allWithdrawals: this.db.prepare<[], WithdrawalRow>('SELECT id, at, reason FROM withdrawals ORDER BY at'),
    };
  }

  putBlock(row: BlockRow): void {
    const now = Date.now();
    this.stmts.putBlock.run(row.hash, row.volume, row.length, now, now);
  }

  getBlock(hash: string): BlockRow | undefined {
    return this.stmts.getBlock.get(hash);
  }

  deleteBlock(hash: string): void {
    this.stmts.deleteBlock.run(hash);
  }

  allBlocks(): BlockRow[] {
    return this.stmts.allBlocks.all();
  }

  volumeUsage(): { volume: string; bytes: number; blocks: number }[] {
    return this.stmts.volumeUsage.all();
  }

  putContent(row: ContentRow): void {
    this.stmts.putContent.run(row.id, row.name, row.manifest, row.created_at);
  }

  getContent(id: string): ContentRow | undefined {
    return this.stmts.getContent.get(id);
  }

  contentsByName(name: string): ContentRow[] {
    return this.stmts.contentsByName.all(name);
  }

  allContents(): ContentRow[] {
    return this.stmts.allContents.all();
  }

  getKv(key: string): string | undefined {
    return this.stmts.getKv.get(key)?.value;
  }

  putKv(key: string, value: string): void {
    this.stmts.putKv.run(key, value);
  }

  /** Records that a content is out of service; returns false if it already was. */
  putWithdrawal(row: WithdrawalRow): boolean {
    return this.stmts.putWithdrawal.run(row.id, row.at, row.reason).changes > 0;
  }

  allWithdrawals(): WithdrawalRow[] {
    return this.stmts.allWithdrawals.all();
  }

  close(): void {
    this.db.close();
  }
}
