/**
 * The root's list of removed nodes, signed and numbered. Every node keeps the newest list it
 * has seen: a revoked node's TLS connections are cut and new ones refused after the
 * handshake, before any request is read. Lists only grow, so a newer list replaces an older.
 */
import type { KeyObject } from 'node:crypto';
import { CanopyError } from '../core/errors.js';
import { signStatement, verifyStatement, type Signed } from './signed-record.js';
import { NODE_ID } from './x509.js';

export const REVOCATION_FORMAT = 'canopy-revocations';
export const MAX_REVOKED = 100_000;

export interface RevocationBody extends Record<string, unknown> {
  format: typeof REVOCATION_FORMAT;
  serial: number;
  revoked: string[];
  issuedAt: string;
}
export type RevocationList = Signed<RevocationBody>;

export function signRevocationList(revoked: readonly string[], serial: number, caKeyPem: string): RevocationList {
  return signStatement<RevocationBody>({ format: REVOCATION_FORMAT, serial, revoked: [...revoked].sort(), issuedAt: new Date().toISOString() }, caKeyPem);
}

export function verifyRevocationList(value: unknown, caPublicKey: KeyObject): RevocationList {
  const body = verifyStatement(value, caPublicKey, 'revocation list');
  if (body.format !== REVOCATION_FORMAT || typeof body.serial !== 'number' || !Number.isSafeInteger(body.serial)) throw new CanopyError('ERR_NOT_AUTHORISED', 'revocation list: malformed');
  if (!Array.isArray(body.revoked) || body.revoked.length > MAX_REVOKED || !body.revoked.every((id) => typeof id === 'string' && NODE_ID.test(id))) {
    throw new CanopyError('ERR_NOT_AUTHORISED', 'revocation list: malformed node ids');
  }
  return value as RevocationList;
}
