/**
 * The store's index in embedded SQLite, in WAL mode so other processes of the site (a
 * second edge server, `canopy store verify`) can read while the node writes.
 *
 *   volumes         id, path, weight, capacity, state (ok | full | failed) and why
 *   blocks          hash → volume, length, state (ok | lost), stored_at, last_access, access_count,
 *                   pack and pack_offset (a small block in a pack file, pack-write.ts; NULL: its own file)
 *   contents        manifest, placement, state (active | evicted), pinned, added_at
 *   content_blocks  which hashes each content uses (a block shared by two contents is one row
 *                   in blocks and two here), so eviction frees only what nothing else uses
 *   kv              node id and counters (evictions, evictedBytes)
 *
 * The index is written after the data it describes, so after a crash it may miss a block
 * that is on disk (the scrub re-adds or deletes it) but never points at one that is not.
 */
import { CanopyError } from '../core/errors.js';
import Database from 'better-sqlite3';

export interface BlockRow {
  hash: string;
  volume: string;
  length: number;
  /** The pack holding it (pack-write.ts), null or absent for a block in its own file; `offset` within it. */
  pack?: string | null;
  offset?: number;
}

export interface ContentRow {
  id: string;
  name: string;
  manifest: string;
  created_at: string;
}

export interface VolumeRow {
  id: string;
  path: string;
  weight: number;
  capacity: number | null;
  state: string;
  reason: string;
}

/** An unpinned content that holds blocks, as the eviction policy sees it. */
export interface EvictionCandidate {
  id: string;
  name: string;
  lastAccess: number;
  hits: number;
  bytes: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS blocks (
    hash TEXT PRIMARY KEY, volume TEXT NOT NULL, length INTEGER NOT NULL,
    stored_at INTEGER NOT NULL, last_access INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS contents (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, manifest TEXT NOT NULL, created_at TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS contents_name ON contents(name);
  CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS volumes (
    id TEXT PRIMARY KEY, path TEXT NOT NULL, weight REAL NOT NULL, capacity INTEGER,
    state TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', changed_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS content_blocks (
    content_id TEXT NOT NULL, idx INTEGER NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (content_id, idx)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS content_blocks_hash ON content_blocks(hash);
  CREATE TABLE IF NOT EXISTS withdrawals (id TEXT PRIMARY KEY, at TEXT NOT NULL, reason TEXT NOT NULL) WITHOUT ROWID;
`;

/** Columns added after the walking skeleton; an index created by it is upgraded in place. */
const ADDED_COLUMNS: [table: string, column: string, definition: string][] = [
  ['blocks', 'state', "TEXT NOT NULL DEFAULT 'ok'"],
  ['blocks', 'access_count', 'INTEGER NOT NULL DEFAULT 0'],
  ['contents', 'placement', "TEXT NOT NULL DEFAULT 'full'"],
  ['contents', 'state', "TEXT NOT NULL DEFAULT 'active'"],
  ['contents', 'pinned', 'INTEGER NOT NULL DEFAULT 0'],
  ['contents', 'added_at', 'INTEGER NOT NULL DEFAULT 0'],
  ['blocks', 'pack', 'TEXT'],
  ['blocks', 'pack_offset', 'INTEGER NOT NULL DEFAULT 0'],
];

const HELD_BY_CONTENT = `
  SELECT c.id AS id, c.name AS name, MAX(b.last_access) AS lastAccess, SUM(b.access_count) AS hits, SUM(b.length) AS bytes
  FROM contents c
  JOIN (SELECT DISTINCT content_id, hash FROM content_blocks) cb ON cb.content_id = c.id
  JOIN blocks b ON b.hash = cb.hash AND b.state = 'ok'
  WHERE c.pinned = 0 AND c.state = 'active'
  GROUP BY c.id`;

const FREEABLE_BLOCKS = `
  SELECT DISTINCT b.hash AS hash, b.volume AS volume, b.length AS length
  FROM content_blocks cb JOIN blocks b ON b.hash = cb.hash
  WHERE cb.content_id = ? AND NOT EXISTS (
    SELECT 1 FROM content_blocks o JOIN contents oc ON oc.id = o.content_id
    WHERE o.hash = cb.hash AND o.content_id != cb.content_id AND oc.state = 'active')`;

const UNREFERENCED_BLOCKS = `
  SELECT b.hash AS hash, b.volume AS volume, b.length AS length FROM blocks b
  WHERE NOT EXISTS (
    SELECT 1 FROM content_blocks cb JOIN contents c ON c.id = cb.content_id
    WHERE cb.hash = b.hash AND c.state = 'active')`;

export interface WithdrawalRow {
  id: string;
  at: string;
  reason: string;
}

export class IndexDb {
  private readonly db: Database.Database;
  private readonly stmts;
  /** Packs emptied by deleteBlock, not yet taken (takeEmptiedPacks). */
  private emptied: { volume: string; pack: string }[] = [];

  constructor(
    path: string,
    readonly readOnly = false,
  ) {
    // A reader opens the file normally but with query_only: a connection opened with
    // SQLITE_OPEN_READONLY while no writer has the WAL open cannot build the shared-memory
    // index and would go on reading a stale snapshot after the node starts writing.
    this.db = new Database(path, { fileMustExist: readOnly });
    this.db.pragma('busy_timeout = 5000');
    if (readOnly) {
      this.db.pragma('query_only = ON');
      this.requireCurrentSchema(path);
    } else {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(SCHEMA);
      this.migrate();
    }
    this.stmts = this.prepare();
    if (!readOnly) this.backfillContentBlocks();
  }

  /** A reader cannot upgrade the index: one written by an older Canopy gets a clear error, not SQLite's "no such column". */
  private requireCurrentSchema(path: string): void {
    const [missing] = this.missingColumns();
    if (!missing) return;
    this.db.close();
    throw new CanopyError('ERR_CONFIG_INVALID', `${path} was written by an older Canopy (no ${missing[0]}.${missing[1]}): start the node on this data directory once (it upgrades the index), then read it from another process`);
  }

  /** The columns added since the first schema that this index lacks yet. */
  private missingColumns(): (typeof ADDED_COLUMNS)[number][] {
    return ADDED_COLUMNS.filter(([table, column]) => !this.db.prepare<[], { name: string }>(`PRAGMA table_info(${table})`).all().some((c) => c.name === column));
  }

  private migrate(): void {
    for (const [table, column, definition] of this.missingColumns()) this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
    this.db.exec('CREATE INDEX IF NOT EXISTS blocks_pack ON blocks(pack) WHERE pack IS NOT NULL');
  }

  /** Contents recorded before content_blocks existed get their block list from the manifest. */
  private backfillContentBlocks(): void {
    const missing = this.db.prepare<[], ContentRow>('SELECT * FROM contents c WHERE NOT EXISTS (SELECT 1 FROM content_blocks cb WHERE cb.content_id = c.id)').all();
    for (const row of missing) this.putContentBlocks(row.id, row.manifest);
  }

  private prepare() {
    const db = this.db;
    return {
      putBlock: db.prepare("INSERT OR REPLACE INTO blocks(hash, volume, length, state, stored_at, last_access, access_count, pack, pack_offset) VALUES (?, ?, ?, 'ok', ?, ?, 0, ?, ?)"),
      getBlock: db.prepare<[string], BlockRow>("SELECT hash, volume, length, pack, pack_offset AS offset FROM blocks WHERE hash = ? AND state = 'ok'"),
      heldOf: db.prepare<[string], { volume: string; blocks: number; bytes: number }>("SELECT b.volume AS volume, COUNT(*) AS blocks, SUM(b.length) AS bytes FROM content_blocks cb JOIN blocks b ON b.hash = cb.hash AND b.state = 'ok' WHERE cb.content_id = ? GROUP BY b.volume"),
      deleteBlock: db.prepare<[string], { volume: string; pack: string | null }>('DELETE FROM blocks WHERE hash = ? RETURNING volume, pack'),
      packInUse: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM (SELECT 1 FROM blocks WHERE pack = ? LIMIT 1)'),
      packedOn: db.prepare<[string], BlockRow & { state: string; pack: string }>('SELECT hash, volume, length, pack, pack_offset AS offset, state FROM blocks WHERE volume = ? AND pack IS NOT NULL'),
      restoreBlock: db.prepare("UPDATE blocks SET state = 'ok' WHERE hash = ?"),
      allBlocks: db.prepare<[], BlockRow>("SELECT hash, volume, length FROM blocks WHERE state = 'ok'"),
      blocksOn: db.prepare<[string], BlockRow>("SELECT hash, volume, length FROM blocks WHERE volume = ? AND state = 'ok'"),
      loseVolume: db.prepare("UPDATE blocks SET state = 'lost' WHERE volume = ? AND state = 'ok'"),
      recoverVolume: db.prepare("UPDATE blocks SET state = 'ok' WHERE volume = ? AND state = 'lost'"),
      isLost: db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM blocks WHERE hash = ? AND state = 'lost'"),
      isReferenced: db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM content_blocks cb JOIN contents c ON c.id = cb.content_id WHERE cb.hash = ? AND c.state = 'active'"),
      lostBlocks: db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM blocks WHERE state = 'lost'"),
      touch: db.prepare('UPDATE blocks SET last_access = MAX(last_access, ?), access_count = access_count + ? WHERE hash = ?'),
      volumeUsage: db.prepare<[], { volume: string; bytes: number; blocks: number }>("SELECT volume, SUM(length) AS bytes, COUNT(*) AS blocks FROM blocks WHERE state = 'ok' GROUP BY volume"),
      putWithdrawal: db.prepare('INSERT OR IGNORE INTO withdrawals(id, at, reason) VALUES (?, ?, ?)'),
      allWithdrawals: db.prepare<[], WithdrawalRow>('SELECT id, at, reason FROM withdrawals ORDER BY at'),
      deleteWithdrawal: db.prepare('DELETE FROM withdrawals WHERE id = ?'),
      putVolume: db.prepare('INSERT OR REPLACE INTO volumes(id, path, weight, capacity, state, reason, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      allVolumes: db.prepare<[], VolumeRow>('SELECT id, path, weight, capacity, state, reason FROM volumes'),
      putContent: db.prepare("INSERT OR IGNORE INTO contents(id, name, manifest, created_at, placement, state, pinned, added_at) VALUES (?, ?, ?, ?, ?, 'active', 0, ?)"),
      putContentBlock: db.prepare('INSERT OR IGNORE INTO content_blocks(content_id, idx, hash) VALUES (?, ?, ?)'),
      deleteContentBlocks: db.prepare('DELETE FROM content_blocks WHERE content_id = ?'),
      deleteContent: db.prepare('DELETE FROM contents WHERE id = ?'),
      getContent: db.prepare<[string], ContentRow>('SELECT id, name, manifest, created_at FROM contents WHERE id = ?'),
      contentsByName: db.prepare<[string], ContentRow>('SELECT id, name, manifest, created_at FROM contents WHERE name = ? ORDER BY created_at DESC'),
      allContents: db.prepare<[], ContentRow>('SELECT id, name, manifest, created_at FROM contents ORDER BY created_at'),
      contentState: db.prepare<[string], { state: string; pinned: number }>('SELECT state, pinned FROM contents WHERE id = ?'),
      setContentState: db.prepare('UPDATE contents SET state = ? WHERE id = ?'),
      reactivate: db.prepare("UPDATE contents SET state = 'active' WHERE id = ? AND state = 'evicted'"),
      setPinned: db.prepare('UPDATE contents SET pinned = ? WHERE id = ?'),
      pinnedContents: db.prepare<[], { id: string }>("SELECT id FROM contents WHERE pinned = 1 AND state = 'active'"),
      candidates: db.prepare<[], EvictionCandidate>(HELD_BY_CONTENT),
      freeable: db.prepare<[string], BlockRow>(FREEABLE_BLOCKS),
      unreferenced: db.prepare<[], BlockRow>(UNREFERENCED_BLOCKS),
      getKv: db.prepare<[string], { value: string }>('SELECT value FROM kv WHERE key = ?'),
      putKv: db.prepare('INSERT OR REPLACE INTO kv(key, value) VALUES (?, ?)'),
    };
  }

  putBlock(row: BlockRow): void {
    const now = Date.now();
    this.stmts.putBlock.run(row.hash, row.volume, row.length, now, now, row.pack ?? null, row.offset ?? 0);
  }

  getBlock(hash: string): BlockRow | undefined {
    return this.stmts.getBlock.get(hash);
  }

  /** Per volume, how many places of a content's manifest hold a block here, and their bytes: one query, not one per block. */
  heldOf(contentId: string): { volume: string; blocks: number; bytes: number }[] {
    return this.stmts.heldOf.all(contentId);
  }

  /** Forgets a block; a pack that no longer holds any block is noted for `takeEmptiedPacks`. */
  deleteBlock(hash: string): void {
    const row = this.stmts.deleteBlock.get(hash);
    if (row?.pack && this.stmts.packInUse.get(row.pack)!.n === 0) this.emptied.push({ volume: row.volume, pack: row.pack });
  }

  /** Packs of `volume` whose last block was deleted (still unused now), to delete; each is returned once. */
  takeEmptiedPacks(volume: string): string[] {
    const mine = this.emptied.filter((e) => e.volume === volume);
    this.emptied = this.emptied.filter((e) => e.volume !== volume);
    return mine.filter((e) => this.stmts.packInUse.get(e.pack)!.n === 0).map((e) => e.pack);
  }

  /** Every packed block's row on `volume`, lost ones too (the scrub checks their packs). */
  packedOn(volume: string): (BlockRow & { state: string; pack: string })[] {
    return this.stmts.packedOn.all(volume);
  }

  /** A lost block found whole again (its pack is back): held again. */
  restoreBlock(hash: string): void {
    this.stmts.restoreBlock.run(hash);
  }

  allBlocks(): BlockRow[] {
    return this.stmts.allBlocks.all();
  }

  blocksOn(volume: string): BlockRow[] {
    return this.stmts.blocksOn.all(volume);
  }

  /** Marks every block of a failed volume lost (not held); returns how many. */
  loseVolume(volume: string): number {
    return this.stmts.loseVolume.run(volume).changes;
  }

  /**
   * A failed volume found healthy again: its lost rows are held again. A file that did not
   * survive is found on its first read (missing: the row is dropped; corrupt: hash check).
   */
  recoverVolume(volume: string): number {
    return this.stmts.recoverVolume.run(volume).changes;
  }

  isLost(hash: string): boolean {
    return this.stmts.isLost.get(hash)!.n > 0;
  }

  isReferenced(hash: string): boolean {
    return this.stmts.isReferenced.get(hash)!.n > 0;
  }

  lostBlocks(): number {
    return this.stmts.lostBlocks.get()!.n;
  }

  /** Records reads (batched by the store: one transaction per flush, not one per read). */
  touchBlocks(entries: Iterable<[hash: string, lastAccess: number, count: number]>): void {
    this.db.transaction(() => {
      for (const [hash, at, count] of entries) this.stmts.touch.run(at, count, hash);
    })();
  }

  volumeUsage(): { volume: string; bytes: number; blocks: number }[] {
    return this.stmts.volumeUsage.all();
  }

  putVolume(row: VolumeRow): void {
    this.stmts.putVolume.run(row.id, row.path, row.weight, row.capacity, row.state, row.reason, Date.now());
  }

  allVolumes(): VolumeRow[] {
    return this.stmts.allVolumes.all();
  }

  putContent(row: ContentRow): void {
    this.db.transaction(() => {
      const placement = (JSON.parse(row.manifest) as { placement?: unknown }).placement;
      const inserted = this.stmts.putContent.run(row.id, row.name, row.manifest, row.created_at, typeof placement === 'string' ? placement : 'full', Date.now()).changes;
      if (inserted > 0) this.putContentBlocks(row.id, row.manifest);
    })();
  }

  /** Forgets a content's record (its manifest and block list; the withdrawal row stays). */
  deleteContent(id: string): void {
    this.db.transaction(() => {
      this.stmts.deleteContentBlocks.run(id);
      this.stmts.deleteContent.run(id);
    })();
  }

  private putContentBlocks(id: string, manifest: string): void {
    const blocks = (JSON.parse(manifest) as { blocks?: { hash: string }[] }).blocks ?? [];
    blocks.forEach((b, i) => this.stmts.putContentBlock.run(id, i, b.hash));
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

  contentState(id: string): { state: string; pinned: boolean } | undefined {
    const row = this.stmts.contentState.get(id);
    return row && { state: row.state, pinned: row.pinned === 1 };
  }

  setContentState(id: string, state: 'active' | 'evicted' | 'withdrawn'): void {
    this.stmts.setContentState.run(state, id);
  }

  reactivate(id: string): void {
    this.stmts.reactivate.run(id);
  }

  setPinned(id: string, pinned: boolean): void {
    this.stmts.setPinned.run(pinned ? 1 : 0, id);
  }

  pinnedContents(): string[] {
    return this.stmts.pinnedContents.all().map((r) => r.id);
  }

  evictionCandidates(): EvictionCandidate[] {
    return this.stmts.candidates.all();
  }

  /** Blocks of a content that no other active content uses. */
  freeableBlocks(contentId: string): BlockRow[] {
    return this.stmts.freeable.all(contentId);
  }

  /** Blocks no active content uses (left by an interrupted ingest, or by evictions). */
  unreferencedBlocks(): BlockRow[] {
    return this.stmts.unreferenced.all();
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

  /** Forgets a withdrawal row (history retention, once its content's record is gone too). */
  deleteWithdrawal(id: string): void {
    this.stmts.deleteWithdrawal.run(id);
  }

  transaction(fn: () => void): void {
    this.db.transaction(fn)();
  }

  close(): void {
    this.db.close();
  }
}
