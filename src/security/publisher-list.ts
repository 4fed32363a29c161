/**
 * The root's list of authorised publisher keys, signed with the cluster CA key and numbered:
 * `{format, serial, publishers: [{key, name, addedAt}], issuedAt, sig}`. A node accepts an
 * announcement or a catalog entry only if its manifest's `publisher` (the Ed25519 key whose
 * signature it carries) is in the newest list it has seen. The list travels in `trust-update`
 * and in the join reply, so it may be relayed by anyone: only the CA signature makes it
 * true. A newer serial replaces an older list whole (keys can be removed, unlike revocations).
 */
import type { KeyObject } from 'node:crypto';
import { CanopyError } from '../core/errors.js';
import { isPublicKeyText } from '../core/manifest-signature.js';
import { signStatement, verifyStatement, type Signed } from './signed-record.js';

export const PUBLISHER_LIST_FORMAT = 'canopy-publishers';
export const MAX_PUBLISHERS = 10_000;
export const MAX_PUBLISHER_NAME = 128;

export interface AuthorisedPublisher extends Record<string, unknown> {
  /** Ed25519 public key, raw 32 bytes in base64url (the manifest's `publisher`). */
  key: string;
  /** A label for people (who or what signs with it); may be empty. */
  name: string;
  addedAt: string;
}

export interface PublisherListBody extends Record<string, unknown> {
  format: typeof PUBLISHER_LIST_FORMAT;
  serial: number;
  publishers: AuthorisedPublisher[];
  issuedAt: string;
}
export type PublisherList = Signed<PublisherListBody>;

/** Printable text without control characters, so a label cannot forge log lines. */
export function isPublisherName(v: unknown): v is string {
  return typeof v === 'string' && v.length <= MAX_PUBLISHER_NAME && ![...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}

export function signPublisherList(publishers: readonly AuthorisedPublisher[], serial: number, caKeyPem: string): PublisherList {
  const sorted = [...publishers].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((p) => ({ key: p.key, name: p.name, addedAt: p.addedAt }));
  return signStatement<PublisherListBody>({ format: PUBLISHER_LIST_FORMAT, serial, publishers: sorted, issuedAt: new Date().toISOString() }, caKeyPem);
}

/** Verifies a list received from anyone; throws ERR_NOT_AUTHORISED if it is forged or malformed. */
export function verifyPublisherList(value: unknown, caPublicKey: KeyObject): PublisherList {
  const body = verifyStatement(value, caPublicKey, 'publisher list');
  const bad = (why: string): never => {
    throw new CanopyError('ERR_NOT_AUTHORISED', `publisher list: ${why}`);
  };
  if (body.format !== PUBLISHER_LIST_FORMAT) bad('wrong format');
  if (typeof body.serial !== 'number' || !Number.isSafeInteger(body.serial) || body.serial < 0) bad('bad serial');
  if (typeof body.issuedAt !== 'string') bad('bad issuedAt');
  const list = body.publishers;
  if (!Array.isArray(list) || list.length > MAX_PUBLISHERS) bad(`publishers must be an array of at most ${MAX_PUBLISHERS}`);
  const seen = new Set<string>();
  for (const p of list as unknown[]) {
    if (typeof p !== 'object' || p === null || Array.isArray(p)) bad('an entry is not an object');
    const e = p as Record<string, unknown>;
    if (!isPublicKeyText(e.key)) bad('an entry has no Ed25519 public key');
    if (!isPublisherName(e.name)) bad('an entry has a bad name');
    if (typeof e.addedAt !== 'string' || e.addedAt.length > 64) bad('an entry has a bad addedAt');
    if (seen.has(e.key as string)) bad('a key is listed twice');
    seen.add(e.key as string);
  }
  return value as PublisherList;
}

/** The keys of a verified list, for membership checks. */
export function publisherKeys(list: PublisherList | null): Set<string> {
  return new Set((list?.publishers ?? []).map((p) => p.key));
}
