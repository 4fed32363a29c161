/**
 * What a hot standby reads from the shared database to answer read-only API calls while
 * another root leads: the catalog (contents, versions, withdrawals: the same tables the
 * leader writes before it acknowledges), the API tokens (so the leader's tokens work here),
 * and the leader's views of what only it knows (leader-views.ts). Refreshed at most once a
 * second, on demand: an idle standby does not poll.
 */
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { ApiTokens, type StoredToken } from '../../api/api-tokens.js';
import { Catalog } from '../../catalog/catalog.js';
import { IndexDb } from '../../store/index-db.js';
import { notLeader, type LeaderView } from './leadership.js';

/** A standby reads the database again when its copy is older than this. */
export const MIRROR_FRESH_MS = 1_000;

export interface StoredView {
  view: unknown;
  at: string;
}

export class StandbyMirror {
  private readonly index = new IndexDb(':memory:');
  /** A catalog over an in-memory index: the standby holds no blocks. */
  readonly catalog = new Catalog({ index: this.index, held: () => ({ blocks: 0, bytes: 0 }) });
  private readonly known = new Set<string>();
  private views = new Map<string, StoredView>();
  private tokenDoc: { tokens: StoredToken[] } | undefined;
  tokens: ApiTokens;
  private refreshedAt = -Infinity;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly db: pg.Pool,
    private readonly leader: () => LeaderView['leader'],
  ) {
    this.tokens = this.tokenList();
  }

  /** Tokens as the database holds them; a standby never changes them (a write goes to the leader). */
  private tokenList(): ApiTokens {
    return new ApiTokens({
      load: () => this.tokenDoc,
      save: () => {
        throw notLeader(this.leader());
      },
    });
  }

  /** Brings the copy up to date unless it is fresh; concurrent callers share one refresh. */
  async fresh(): Promise<void> {
    if (performance.now() - this.refreshedAt < MIRROR_FRESH_MS) return;
    this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
    await this.refreshing;
  }

  private async refresh(): Promise<void> {
    const started = performance.now();
    await this.refreshCatalog();
    const docs = await this.db.query<{ doc: { tokens: StoredToken[] } }>("SELECT doc FROM canopy_documents WHERE name = 'api-tokens'");
    this.tokenDoc = docs.rows[0]?.doc;
    this.tokens = this.tokenList();
    const views = await this.db.query<{ name: string; view: unknown; at: Date }>('SELECT name, view, at FROM canopy_views');
    this.views = new Map(views.rows.map((r) => [r.name, { view: r.view, at: r.at.toISOString() }]));
    this.refreshedAt = started;
  }

  /** New contents and withdrawals are added, contents and withdrawals the leader forgot (history retention) dropped. */
  private async refreshCatalog(): Promise<void> {
    const ids = (await this.db.query<{ id: string }>('SELECT id FROM canopy_contents')).rows.map((r) => r.id);
    const fresh = ids.filter((id) => !this.known.has(id));
    if (fresh.length > 0) {
      const rows = await this.db.query<{ id: string; manifest: unknown }>('SELECT id, manifest FROM canopy_contents WHERE id = ANY($1) ORDER BY created_at, id', [fresh]);
      for (const r of rows.rows) {
        this.catalog.add(r.id, r.manifest);
        this.known.add(r.id);
      }
    }
    const withdrawals = await this.db.query<{ id: string; at: string; reason: string }>('SELECT id, at, reason FROM canopy_withdrawals ORDER BY at, id');
    for (const w of withdrawals.rows) this.catalog.withdraw(w.id, w.at, w.reason);
    const present = new Set(ids);
    for (const id of [...this.known].filter((x) => !present.has(x))) {
      if (this.catalog.state(id) !== 'live') this.catalog.forget(id);
      this.known.delete(id);
    }
    const kept = new Set(withdrawals.rows.map((w) => w.id));
    for (const w of this.catalog.withdrawals()) if (!kept.has(w.contentId) && !this.catalog.get(w.contentId)) this.catalog.forgetWithdrawal(w.contentId);
  }

  view(name: string): StoredView | undefined {
    return this.views.get(name);
  }

  close(): void {
    this.index.close();
  }
}
