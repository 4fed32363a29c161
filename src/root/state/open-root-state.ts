/**
 * Opens the state store a root was configured with and wires it to the root's catalog:
 * the contents and withdrawals the store holds are brought into the local catalog (which a
 * root on PostgreSQL uses as its cache), then every new one is handed to the store.
 */
import type { Catalog } from '../../catalog/catalog.js';
import type { AuthorityStore } from '../../security/authority.js';
import { CanopyError } from '../../core/errors.js';
import { readStateKey } from './ca-key-box.js';
import { PostgresRootState } from './postgres-state.js';
import { EmbeddedRootState, type RootSnapshot, type RootState } from './root-state.js';

export interface StateSettings {
  dataDir: string;
  /** `postgres://...`, or undefined for the embedded default. */
  state: string | undefined;
  stateKeyFile: string | undefined;
  onError?: (err: Error) => void;
}

export async function openRootState(s: StateSettings): Promise<RootState> {
  if (s.state === undefined) return new EmbeddedRootState(s.dataDir);
  if (!s.stateKeyFile) throw new CanopyError('ERR_CONFIG_INVALID', 'stateKeyFile: a root on PostgreSQL needs the state key file that seals the CA key (--state-key FILE)');
  return PostgresRootState.open({ url: s.state, stateKey: readStateKey(s.stateKeyFile), onError: s.onError });
}

/** Brings the stored catalog into the local one, then keeps the store told of every change. */
export function attachCatalog(state: RootState, snapshot: RootSnapshot, catalog: Catalog): void {
  for (const c of snapshot.contents) catalog.add(c.contentId, c.manifest);
  for (const w of snapshot.withdrawals) catalog.withdraw(w.contentId, w.at, w.reason);
  catalog.onRecord((r) => state.record(r));
}

/** A root's state store, opened, with what it held at start. */
export interface OpenedRootState {
  state: RootState;
  snapshot: RootSnapshot;
}

/**
 * Opens the state store, prepares the root's security with the authority state it holds,
 * then binds the store to the root's CA. On any failure the store is closed, nothing having
 * been written to it.
 */
export async function prepareRootState<T extends { caCertPem: string; authority: { caKey: string } | undefined }>(s: StateSettings, prepare: (authorityStore: AuthorityStore) => Promise<T>): Promise<OpenedRootState & { security: T }> {
  const state = await openRootState(s);
  try {
    const snapshot = await state.load();
    const security = await prepare(state.authorityStore(snapshot));
    await state.adoptCa({ certPem: security.caCertPem, keyPem: security.authority!.caKey });
    return { state, snapshot, security };
  } catch (err) {
    await state.close().catch(() => undefined);
    throw err;
  }
}
