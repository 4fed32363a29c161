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
import { EmbeddedRootState, type CaMaterial, type RootSnapshot, type RootState } from './root-state.js';
import { Leadership, type LeaderView, type RootAddresses } from './leadership.js';
import { closeStandbyApi, serveStandbyApi } from './standby-api.js';
import { StandbyMirror } from './standby-mirror.js';

export interface StateSettings {
  dataDir: string;
  /** `postgres://...`, or undefined for the embedded default. */
  state: string | undefined;
  stateKeyFile: string | undefined;
  onError?: (err: Error) => void;
  /** A root on PostgreSQL leads only with the lease; until then it is a standby (./leadership.ts). */
  lead?: {
    /** Where the standby answers ERR_NOT_LEADER (the admin API's address). */
    api: { host: string; port: number };
    /** The addresses written into the lease before the node has started (it updates them once it has). */
    addresses: RootAddresses;
    /** The lease was lost: the root must stop at once. */
    onLost: (err: Error) => void;
    onStandby?: (view: LeaderView) => void;
    /** This root took the lease (after waiting as a standby, or at once). */
    onLead?: (view: LeaderView) => void;
    /** A lease renewal ran late or slow (Leadership.onSlow): worth a log line, the margin is what is left. */
    onSlow?: Leadership['onSlow'];
  };
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
  /** On PostgreSQL: this root's lease, held (the root leads from its start). */
  leadership?: Leadership;
}

/**
 * Opens the state store, prepares the root's security with the authority state it holds,
 * then binds the store to the root's CA. On any failure the store is closed, nothing having
 * been written to it.
 */
export async function prepareRootState<T extends { caCertPem: string; authority: { caKey: string } | undefined }>(
  s: StateSettings,
  prepare: (authorityStore: AuthorityStore, storedCa: CaMaterial | undefined) => Promise<T>,
): Promise<OpenedRootState & { security: T }> {
  const state = await openRootState(s);
  let leadership: Leadership | undefined;
  try {
    // A root joining an existing database (a standby on a new host) takes the CA from it;
    // opened before waiting for the lease, so a standby with the wrong key file fails now, not at takeover.
    let storedCa = state instanceof PostgresRootState ? await state.storedCa() : undefined;
    // Several roots may share the database: only the lease holder reads and writes it.
    if (state instanceof PostgresRootState && s.lead) {
      leadership = await waitToLead(state, s.lead, s.onError);
      // Renewing from now on, while the state loads: its deadline (a timer) must not pass during a slow start.
      leadership.keep();
      state.fenceWith(leadership.currentFence);
      // Started beside the first root on an empty database: its CA is there by now.
      storedCa ??= await state.storedCa();
    }
    const snapshot = await state.load();
    const security = await prepare(state.authorityStore(snapshot), storedCa);
    await state.adoptCa({ certPem: security.caCertPem, keyPem: security.authority!.caKey });
    return { state, snapshot, security, leadership };
  } catch (err) {
    await leadership?.stop();
    await state.close().catch(() => undefined);
    throw err;
  }
}

/** Answers as a hot standby on the API port (reads from the database, writes refused) until this root holds the lease. */
async function waitToLead(state: PostgresRootState, lead: NonNullable<StateSettings['lead']>, onError?: (err: Error) => void): Promise<Leadership> {
  // Deposed, the store stops writing and waiting at once (its fence refuses the writes anyway): the root's stop is quick.
  const leadership = new Leadership(state.leaseDb, (err) => (state.abandon(err), lead.onLost(err)), onError);
  leadership.addresses = () => lead.addresses;
  if (lead.onSlow) leadership.onSlow = lead.onSlow;
  const first = await leadership.tryOnce();
  if (first) return (lead.onLead?.(leadership.view()), leadership);
  lead.onStandby?.(leadership.view());
  const mirror = new StandbyMirror(state.db, () => leadership.view().leader);
  const server = await serveStandbyApi(lead.api, () => leadership.view(), mirror);
  try {
    await leadership.acquire();
  } finally {
    await closeStandbyApi(server);
    mirror.close();
  }
  lead.onLead?.(leadership.view());
  return leadership;
}
