/**
 * Who may fetch a content from the edge servers. A content is `public` (anyone who can reach
 * an edge), or `signed`: each HTTP request needs a URL signed by the root with an expiry,
 * as CDNs do (`?expires=<unix seconds>&sig=<ECDSA P-256 by the cluster CA>`), so any node
 * checks it with the CA certificate alone and no secret leaves the root.
 * The mode travels as a root-signed statement with the announcement, so relays cannot
 * downgrade it. FTP user accounts (edge issue) plug in through EdgeAccess.checkFtpUser.
 */
import type { KeyObject } from 'node:crypto';
import { createPrivateKey, sign, verify } from 'node:crypto';
import { CanopyError } from '../core/errors.js';
import { isHashHex } from '../core/hash.js';
import { signStatement, verifyStatement, type Signed } from './signed-record.js';

export type AccessMode = 'public' | 'signed';
export const ACCESS_MODES: readonly AccessMode[] = ['public', 'signed'];
export const MAX_URL_TTL_S = 365 * 86_400;

export interface AccessBody extends Record<string, unknown> {
  format: 'canopy-access';
  contentId: string;
  mode: AccessMode;
}
export type AccessStatement = Signed<AccessBody>;

export function signAccess(contentId: string, mode: AccessMode, caKeyPem: string): AccessStatement {
  return signStatement<AccessBody>({ format: 'canopy-access', contentId, mode }, caKeyPem);
}

export function verifyAccess(value: unknown, contentId: string, caPublicKey: KeyObject): AccessMode {
  const body = verifyStatement(value, caPublicKey, 'access statement');
  if (body.format !== 'canopy-access' || body.contentId !== contentId || !ACCESS_MODES.includes(body.mode as AccessMode)) {
    throw new CanopyError('ERR_NOT_AUTHORISED', 'access statement: malformed or for another content');
  }
  return body.mode as AccessMode;
}

export function parseAccessMode(text: string): AccessMode {
  if (!ACCESS_MODES.includes(text as AccessMode)) throw new CanopyError('ERR_USAGE', `access: "${text}" is not one of ${ACCESS_MODES.join(', ')}`);
  return text as AccessMode;
}

const urlMessage = (contentId: string, expires: number) => Buffer.from(`canopy-url\n${contentId}\n${expires}`);

/** The query string that grants access to a content until `expires` (unix seconds). */
export function signUrl(contentId: string, expires: number, caKeyPem: string): string {
  const sig = sign('sha256', urlMessage(contentId, expires), { key: createPrivateKey(caKeyPem), dsaEncoding: 'ieee-p1363' });
  return `expires=${expires}&sig=${sig.toString('base64url')}`;
}

/** Throws ERR_URL_SIGNATURE unless the query carries a valid, unexpired signature for this content. */
export function verifyUrl(contentId: string, query: URLSearchParams, caPublicKey: KeyObject, nowMs = Date.now()): void {
  const expiresText = query.get('expires');
  const sig = query.get('sig');
  if (!expiresText || !sig) throw new CanopyError('ERR_URL_SIGNATURE', 'this content needs a signed URL (?expires=…&sig=…); ask the publisher for one (canopy url)');
  if (!/^\d{1,12}$/.test(expiresText) || !/^[A-Za-z0-9_-]{86}$/.test(sig) || !isHashHex(contentId)) throw new CanopyError('ERR_URL_SIGNATURE', 'malformed URL signature');
  const expires = Number(expiresText);
  let ok = false;
  try {
    ok = verify('sha256', urlMessage(contentId, expires), { key: caPublicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url'));
  } catch {
    ok = false;
  }
  if (!ok) throw new CanopyError('ERR_URL_SIGNATURE', 'the URL signature does not verify');
  if (expires * 1000 <= nowMs) throw new CanopyError('ERR_URL_SIGNATURE', `the signed URL expired at ${new Date(expires * 1000).toISOString()}`);
}

/**
 * What the edge servers ask before serving a content. HTTP checks the URL; FTP (edge issue)
 * checks an account. Implementations must be cheap: they run on every request.
 */
export interface EdgeAccess {
  mode(contentId: string): AccessMode;
  checkHttp(contentId: string, url: URL): void;
  checkFtpUser?(user: string, password: string, contentId: string): boolean;
}
