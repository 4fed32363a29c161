/**
 * Single-use join tokens. A token is a statement signed by the cluster CA:
 * `{id, attrs, expiresAt, ca}` where `ca` is the SHA-256 fingerprint of the CA certificate.
 * The joining node uses `ca` to recognise the real root before it sends the token (as
 * kubeadm's discovery hash does); the root checks the signature and expiry and records the
 * id as used, so a token admits one node, once. The attributes come from the token, never
 * from the node.
 *
 * Format `cj1.`: later fields are optional and added only, so every `cj1.` parser reads every
 * `cj1.` token (a field it does not know is still covered by the signature). `roots` (added in
 * session 6) lists the peer addresses of every root the minting root knew, so a node given
 * only the token knows where to enrol and which roots to follow; a token without it (an older
 * root's) still joins with `--join`.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { parseAttributes, type Attributes } from '../core/attributes.js';
import { CanopyError } from '../core/errors.js';
import { formatAddress, parseAddress, type PeerAddress } from '../wire/transport.js';
import { signStatement, verifyStatement, type Signed } from './signed-record.js';

export const TOKEN_PREFIX = 'cj1.';
export const MAX_TOKEN_LENGTH = 8192;
const FORMAT = 'canopy-join';
/** At most this many root addresses in a token (as in `--join a,b,...`). */
export const MAX_TOKEN_ROOTS = 16;

export interface JoinTokenBody extends Record<string, unknown> {
  format: typeof FORMAT;
  id: string;
  attrs: Attributes;
  expiresAt: number;
  ca: string;
  /** Peer addresses (host:port) of the cluster's roots; absent in tokens of older roots. */
  roots?: string[];
}
export type JoinToken = Signed<JoinTokenBody>;

export function createJoinToken(o: { attrs: Attributes; ttlMs: number; caKeyPem: string; caFingerprint: string; roots?: readonly string[]; now?: number }): { token: string; id: string; expiresAt: number } {
  const id = randomBytes(12).toString('hex');
  const expiresAt = (o.now ?? Date.now()) + o.ttlMs;
  const roots = [...new Set((o.roots ?? []).map((r) => parseAddress(r)).filter((a) => a !== null).map(formatAddress))].slice(0, MAX_TOKEN_ROOTS);
  const body: JoinTokenBody = { format: FORMAT, id, attrs: { ...o.attrs }, expiresAt, ca: o.caFingerprint, ...(roots.length > 0 ? { roots } : {}) };
  const signed = signStatement<JoinTokenBody>(body, o.caKeyPem);
  return { token: TOKEN_PREFIX + Buffer.from(JSON.stringify(signed)).toString('base64url'), id, expiresAt };
}

/** Decodes a token without checking its signature: what a joining node can read before it trusts anything. */
export function decodeJoinToken(token: string): JoinToken {
  const bad = (why: string): never => {
    throw new CanopyError('ERR_USAGE', `join token: ${why}`);
  };
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !token.startsWith(TOKEN_PREFIX)) bad(`expected a token starting with ${TOKEN_PREFIX}`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    bad('not decodable');
  }
  const t = value as Partial<JoinToken>;
  if (typeof t !== 'object' || t === null || t.format !== FORMAT) bad('wrong format');
  if (typeof t.id !== 'string' || !/^[0-9a-f]{24}$/.test(t.id)) bad('bad id');
  if (typeof t.ca !== 'string' || !/^[0-9a-f]{64}$/.test(t.ca)) bad('bad CA fingerprint');
  if (typeof t.expiresAt !== 'number' || !Number.isSafeInteger(t.expiresAt)) bad('bad expiry');
  if (typeof t.attrs !== 'object' || t.attrs === null || Array.isArray(t.attrs)) bad('bad attributes');
  if (t.roots !== undefined && (!Array.isArray(t.roots) || t.roots.length === 0 || t.roots.length > MAX_TOKEN_ROOTS || !t.roots.every((r) => typeof r === 'string' && parseAddress(r) !== null))) bad('bad root addresses');
  // Re-parse attributes through the one validator, so a token cannot smuggle odd keys.
  parseAttributes(Object.entries(t.attrs as Record<string, unknown>).map(([k, v]) => (typeof v === 'string' ? (v === '' ? k : `${k}=${v}`) : '=')));
  return t as JoinToken;
}

/** The root addresses a token carries (none for a token of an older root). */
export function tokenRoots(t: JoinToken): PeerAddress[] {
  return (t.roots ?? []).map((r) => parseAddress(r)!);
}

/** The root's check: signed by our CA and not expired. Single use is the authority's job. */
export function verifyJoinToken(token: string, caPublicKey: KeyObject, now = Date.now()): JoinToken {
  let decoded: JoinToken;
  try {
    decoded = decodeJoinToken(token);
  } catch (err) {
    throw new CanopyError('ERR_NOT_AUTHORISED', (err as Error).message);
  }
  verifyStatement(decoded, caPublicKey, 'join token');
  if (decoded.expiresAt <= now) throw new CanopyError('ERR_NOT_AUTHORISED', `join token ${decoded.id.slice(0, 8)} expired at ${new Date(decoded.expiresAt).toISOString()}`);
  return decoded;
}

/** Parses a TTL such as 30s, 15m, 1h, 7d. */
export function parseTtl(text: string): number {
  const m = /^(\d+)\s*(s|m|h|d)$/.exec(text.trim());
  if (!m) throw new CanopyError('ERR_USAGE', `--ttl: "${text}" is not a duration such as 30m, 1h or 7d`);
  const ms = Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  if (ms <= 0 || ms > 365 * 86_400_000) throw new CanopyError('ERR_USAGE', `--ttl: "${text}" must be between 1s and 365d`);
  return ms;
}
