/**
 * The root's durable, shared state, behind one interface so a root can run on its embedded
 * files (the default: one machine, zero setup) or on PostgreSQL (several roots, issue 18).
 *
 * What goes through it today: the catalog (manifests, hence versions) and withdrawals, and
 * the authority's state (members' attested attribute records, used join tokens, revocations,
 * the serial counter), the CA (certificate and sealed private key), the publisher list, and
 * on PostgreSQL the leader lease (leadership.ts). Not in it: API tokens (per root), holdings (docs/OPERATIONS.md, "Running several roots").
 *
 * The root keeps working from memory and its local index, as before; a state store loads
 * what it holds at start (`load`) and is told of every change (`record`, `saveAuthority`),
 * which it writes in order. The embedded store has nothing to do there: the node's own index
 * and `security/authority.json` are the state.
 */
import type { AuthorityState, AuthorityStore } from '../../security/authority.js';
import { authorityFile } from '../../security/authority.js';
import type { CatalogRecord } from '../../catalog/catalog.js';
import type { Withdrawal } from '../../catalog/catalog.js';

export interface CaMaterial {
  certPem: string;
  keyPem: string;
}

export interface RootSnapshot {
  contents: { contentId: string; manifest: unknown }[];
  withdrawals: Withdrawal[];
  authority: AuthorityState | undefined;
  /** Whole documents by name (the publisher list). */
  documents: Record<string, unknown>;
}

/** A small state document rewritten whole on every change (the publisher list). */
export interface DocumentStore<T> {
  load(): T | undefined;
  save(doc: T): void;
}

export interface RootState {
  readonly kind: 'embedded' | 'postgres';
  /** What the store holds, read once at start before the root builds its parts. */
  load(): Promise<RootSnapshot>;
  /** Where the authority keeps its state (given the snapshot `load` returned). */
  authorityStore(snapshot: RootSnapshot): AuthorityStore;
  /**
   * Binds the store to this root's CA: records it on first use, refuses a store that belongs
   * to another CA (ERR_STATE_MISMATCH) or whose sealed key does not open (ERR_STATE_KEY).
   * Nothing is written before this succeeds.
   */
  adoptCa(ca: CaMaterial): Promise<void>;
  /** Where the document `name` is kept: the given file store on the embedded default, the database otherwise. */
  documentStore<T>(name: string, snapshot: RootSnapshot, embedded: DocumentStore<T>): DocumentStore<T>;
  /** A catalog change to keep (queued; written in order). */
  record(r: CatalogRecord): void;
  /** Resolves once every change handed over so far is written (or throws the first failure). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** The default: the root's data directory is its state. */
export class EmbeddedRootState implements RootState {
  readonly kind = 'embedded' as const;

  constructor(private readonly dataDir: string) {}

  load(): Promise<RootSnapshot> {
    // The catalog is the node's own index already; nothing to bring in.
    return Promise.resolve({ contents: [], withdrawals: [], authority: undefined, documents: {} });
  }

  authorityStore(): AuthorityStore {
    return authorityFile(this.dataDir);
  }

  adoptCa(): Promise<void> {
    return Promise.resolve();
  }

  documentStore<T>(_name: string, _snapshot: RootSnapshot, embedded: DocumentStore<T>): DocumentStore<T> {
    return embedded;
  }

  record(): void {}

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
