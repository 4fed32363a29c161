/**
 * `canopy root migrate --from DIR`: moves a root that ran on its embedded files (one machine)
 * into PostgreSQL, so a network can grow to several roots without re-enrolling its nodes:
 * the CA (sealed), the authority's state (members' records, used join tokens, revocations),
 * the publisher list, the API tokens (hashes: every token made on it works on every root), and the catalog (contents and withdrawals) from its index.
 *
 * Into an empty database, or again into the database it was moved to (each row is written
 * once: a re-run adds what is missing). Refused while a root leads on the database (its
 * writes and ours would interleave), into another network's database, and over an
 * authority state that differs from the file's (a root has run on the database since).
 */
import { isDeepStrictEqual } from 'node:util';
import { Catalog } from '../../catalog/catalog.js';
import { CanopyError } from '../../core/errors.js';
import { authorityFile } from '../../security/authority.js';
import { isRootDir, loadCredentials } from '../../security/credentials.js';
import { fingerprint } from '../../security/x509.js';
import { BlockStore } from '../../store/block-store.js';
import { publishersFile } from '../publisher-authority.js';
import { apiTokensFile } from '../../api/api-tokens.js';
import { readLease } from './pg-lease.js';
import type { PostgresRootState } from './postgres-state.js';

export interface ImportReport {
  caFingerprint: string;
  contents: number;
  withdrawals: number;
  members: number;
  publishers: number;
  apiTokens: number;
}

export async function importEmbeddedRoot(dataDir: string, state: PostgresRootState): Promise<ImportReport> {
  const creds = isRootDir(dataDir) ? loadCredentials(dataDir) : undefined;
  if (!creds?.caKeyPem) throw new CanopyError('ERR_CONFIG_INVALID', `--from: ${dataDir} is not a root's data directory (no security/ca.key)`);
  const lease = await readLease(state.db);
  if (lease && lease.expiresAt > lease.now) throw new CanopyError('ERR_USAGE', 'a root leads on this database now: stop every root of it before migrating into it');
  const snapshot = await state.load();
  const authority = authorityFile(dataDir).load();
  if (snapshot.authority && !isDeepStrictEqual(snapshot.authority, authority)) {
    throw new CanopyError('ERR_STATE_MISMATCH', 'the database already holds an authority state that differs from this root\'s (a root has run on it since): migrate into an empty database');
  }
  // Refuses another network's database before anything is written.
  await state.adoptCa({ certPem: creds.caCertPem, keyPem: creds.caKeyPem });
  if (authority) state.authorityStore(snapshot).save(authority);
  const publishers = publishersFile(dataDir).load();
  if (publishers) state.documentStore('publishers', snapshot).save(publishers);
  const tokens = apiTokensFile(dataDir).load();
  if (tokens) state.documentStore('api-tokens', snapshot).save(tokens);
  const store = BlockStore.openReadOnly(dataDir);
  let contents = 0;
  let withdrawals = 0;
  try {
    const catalog = new Catalog(store);
    for (const c of catalog.list()) state.record({ kind: 'content', contentId: c.contentId, manifest: c.manifest });
    for (const w of catalog.withdrawals()) state.record({ kind: 'withdrawal', withdrawal: w });
    contents = catalog.list().length;
    withdrawals = catalog.withdrawals().length;
  } finally {
    store.close();
  }
  await state.flush();
  return { caFingerprint: fingerprint(creds.caCertPem), contents, withdrawals, members: Object.keys(authority?.records ?? {}).length, publishers: publishers?.publishers.length ?? 0, apiTokens: tokens?.tokens.length ?? 0 };
}
