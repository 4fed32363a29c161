/**
 * ListObjectsV2 and ListObjects (v1) over the objects of one bucket: parameters checked,
 * keys in UTF-8 byte order (S3's), `prefix` and `delimiter` (rolled-up CommonPrefixes),
 * `max-keys` (0..1000; more is clamped, as S3 does), `start-after`/`marker`, and opaque
 * continuation tokens. Pure.
 */
import { S3Error } from './s3-error.js';

export const MAX_KEYS = 1000;
const MAX_PARAM = 1024;

export interface ObjectEntry {
  key: string;
  size: number;
  etag: string;
  /** ISO 8601 */
  lastModified: string;
}

export interface ListQuery {
  prefix: string;
  delimiter: string;
  maxKeys: number;
  /** v2: start-after; v1: marker. */
  startAfter: string;
  /** v2: the continuation token as given. */
  token: string | undefined;
  encodeUrl: boolean;
}

export interface ListPage {
  query: ListQuery;
  objects: ObjectEntry[];
  prefixes: string[];
  truncated: boolean;
  /** Where the next page starts: a v2 token, and (v1) the NextMarker. */
  next: { token: string; after: string } | undefined;
}

interface Resume {
  /** Keys up to and including this are skipped. */
  after: string;
  /** The last item of the page was a CommonPrefix: every key under it is skipped too. */
  rolledUp: boolean;
}

function invalid(message: string): S3Error {
  return new S3Error('InvalidArgument', message);
}

function text(params: ReadonlyMap<string, string>, name: string): string {
  const v = params.get(name) ?? '';
  if (Buffer.byteLength(v) > MAX_PARAM) throw invalid(`${name} is longer than ${MAX_PARAM} bytes`);
  return v;
}

export function parseListQuery(params: ReadonlyMap<string, string>, v2: boolean): ListQuery {
  const listType = params.get('list-type');
  if (listType !== undefined && listType !== '2') throw invalid(`list-type must be 2, not "${listType.slice(0, 20)}"`);
  const maxText = params.get('max-keys');
  if (maxText !== undefined && !/^\d{1,10}$/.test(maxText)) throw invalid(`max-keys must be a whole number from 0, not "${maxText.slice(0, 20)}"`);
  const encoding = params.get('encoding-type');
  if (encoding !== undefined && encoding !== 'url') throw invalid(`encoding-type must be url, not "${encoding.slice(0, 20)}"`);
  const token = v2 ? params.get('continuation-token') : undefined;
  if (token !== undefined) decodeToken(token);
  return {
    prefix: text(params, 'prefix'),
    delimiter: text(params, 'delimiter'),
    maxKeys: Math.min(MAX_KEYS, maxText === undefined ? MAX_KEYS : Number(maxText)),
    startAfter: text(params, v2 ? 'start-after' : 'marker'),
    token,
    encodeUrl: encoding === 'url',
  };
}

export function encodeToken(r: Resume): string {
  return Buffer.from(JSON.stringify({ a: r.after, p: r.rolledUp ? 1 : 0 })).toString('base64url');
}

export function decodeToken(token: string): Resume {
  const bad = () => invalid('the continuation token is not one this API gave');
  if (token.length === 0 || token.length > 4 * MAX_PARAM || !/^[A-Za-z0-9_-]+$/.test(token)) throw bad();
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const o = v as { a?: unknown; p?: unknown };
  if (typeof v !== 'object' || v === null || typeof o.a !== 'string' || (o.p !== 0 && o.p !== 1) || Object.keys(v).length !== 2) throw bad();
  return { after: o.a, rolledUp: o.p === 1 };
}

/** S3 orders keys by their UTF-8 bytes (JavaScript's < compares UTF-16 units, which differs past U+FFFF). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Whether a v1 marker is a CommonPrefix of this listing (prefix, then text without the
 * delimiter, then the delimiter): such a string is never listed as an object, so a marker
 * of that form was a rolled-up prefix whose keys were listed already.
 */
function isRolledUp(marker: string, query: ListQuery): boolean {
  if (query.delimiter === '' || !marker.startsWith(query.prefix)) return false;
  const rest = marker.slice(query.prefix.length);
  return rest.length >= query.delimiter.length && rest.indexOf(query.delimiter) === rest.length - query.delimiter.length;
}

/** One page of the listing; `objects` must be sorted with compareKeys. */
export function listPage(objects: readonly ObjectEntry[], query: ListQuery): ListPage {
  const resume: Resume = query.token !== undefined ? decodeToken(query.token) : { after: query.startAfter, rolledUp: false };
  const skipUnder = resume.rolledUp || isRolledUp(resume.after, query) ? resume.after : undefined;
  const page: ListPage = { query, objects: [], prefixes: [], truncated: false, next: undefined };
  let last: Resume | undefined;
  for (const o of objects) {
    if (resume.after !== '' && compareKeys(o.key, resume.after) <= 0) continue;
    if (skipUnder !== undefined && skipUnder !== '' && o.key.startsWith(skipUnder)) continue;
    if (!o.key.startsWith(query.prefix)) continue;
    const cut = query.delimiter === '' ? -1 : o.key.indexOf(query.delimiter, query.prefix.length);
    const rolled = cut >= 0 ? o.key.slice(0, cut + query.delimiter.length) : undefined;
    if (rolled !== undefined && last?.rolledUp && last.after === rolled) continue;
    if (page.objects.length + page.prefixes.length >= query.maxKeys) {
      page.truncated = true;
      break;
    }
    if (rolled !== undefined) page.prefixes.push(rolled);
    else page.objects.push(o);
    last = rolled !== undefined ? { after: rolled, rolledUp: true } : { after: o.key, rolledUp: false };
  }
  if (page.truncated && last !== undefined) page.next = { token: encodeToken(last), after: last.after };
  return page;
}
