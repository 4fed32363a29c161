/**
 * Statements the root signs with the cluster CA key: attribute records, revocation lists and
 * join tokens. The signature (ECDSA P-256, SHA-256, IEEE P1363 encoding) covers the canonical
 * JSON of every field but `sig`, so any holder of the CA certificate can check a statement
 * however it travelled (directly from the root or relayed by other nodes).
 */
import { createPrivateKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.js';
import { CanopyError } from '../core/errors.js';

export type Signed<T> = T & { sig: string };

export function signStatement<T extends Record<string, unknown>>(body: T, caKeyPem: string): Signed<T> {
  const sig = sign('sha256', Buffer.from(canonicalJson(body)), { key: createPrivateKey(caKeyPem), dsaEncoding: 'ieee-p1363' });
  return { ...body, sig: sig.toString('base64url') };
}

/** Checks the signature and returns the statement without it; throws ERR_NOT_AUTHORISED otherwise. */
export function verifyStatement(value: unknown, caPublicKey: KeyObject, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CanopyError('ERR_NOT_AUTHORISED', `${what}: not a signed statement`);
  const { sig, ...body } = value as Record<string, unknown>;
  if (typeof sig !== 'string' || !/^[A-Za-z0-9_-]{86}$/.test(sig)) throw new CanopyError('ERR_NOT_AUTHORISED', `${what}: missing or malformed signature`);
  let ok = false;
  try {
    ok = verify('sha256', Buffer.from(canonicalJson(body)), { key: caPublicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url'));
  } catch {
    ok = false;
  }
  if (!ok) throw new CanopyError('ERR_NOT_AUTHORISED', `${what}: signature does not verify against the cluster CA`);
  return body;
}
