/**
 * AWS Signature Version 4 for S3 requests, checked on the server side, written from AWS's
 * documented algorithm ("Signature Version 4 signing process", "Authenticating requests:
 * using the Authorization header" and "using query parameters"). Pure: the request's parts in,
 * the access key id and a verdict out; the secret comes from a lookup function.
 *
 *   canonical request = METHOD \n URI \n QUERY \n HEADERS \n SIGNED-HEADERS \n PAYLOAD-HASH
 *   string to sign    = AWS4-HMAC-SHA256 \n AMZ-DATE \n DATE/REGION/s3/aws4_request \n hex(SHA-256(canonical request))
 *   signing key       = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, DATE), REGION), "s3"), "aws4_request")
 *
 * S3 does not double-encode the path. Clients sign the path as they send it; a few send
 * characters AWS would encode, so the path is also tried in AWS's own encoding.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { S3Error } from './s3-error.js';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
/** Header-signed requests more than this far from the node's clock are refused (AWS: 15 minutes). */
export const MAX_SKEW_MS = 15 * 60_000;
/** Longest validity of a presigned URL (AWS: 7 days). */
export const MAX_PRESIGN_S = 604_800;
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export interface Credential {
  accessKeyId: string;
  /** YYYYMMDD */
  date: string;
  region: string;
  service: string;
}

export interface SignatureParts {
  credential: Credential;
  /** Lower-case header names, in the order given (AWS requires them sorted). */
  signedHeaders: string[];
  /** 64 lower-case hex digits. */
  signature: string;
  /** YYYYMMDDTHHMMSSZ */
  amzDate: string;
  /** Presigned URLs only: seconds of validity from amzDate. */
  expires?: number;
  presigned: boolean;
}

/** What a request carries that SigV4 covers. `rawQuery` without the '?'. */
export interface SignedRequest {
  method: string;
  rawPath: string;
  rawQuery: string;
  /** Header name (any case) and value pairs in arrival order, as node's rawHeaders gives them. */
  rawHeaders: readonly string[];
}

const CREDENTIAL = /^([A-Za-z0-9+/=_.-]{1,128})\/(\d{8})\/([a-z0-9-]{1,32})\/([a-z0-9]{1,16})\/aws4_request$/;
const AMZ_DATE = /^(\d{8})T\d{6}Z$/;
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]{1,128}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const MAX_SIGNED_HEADERS = 64;

function malformed(message: string): S3Error {
  return new S3Error('AuthorizationHeaderMalformed', message);
}

export function parseCredential(text: string): Credential {
  const m = CREDENTIAL.exec(text);
  if (!m) throw malformed(`the credential "${text.slice(0, 160)}" is not ACCESS-KEY/YYYYMMDD/REGION/s3/aws4_request`);
  if (m[4] !== 's3') throw malformed(`the credential is for service "${m[4]}", not s3`);
  return { accessKeyId: m[1]!, date: m[2]!, region: m[3]!, service: m[4]! };
}

export function parseSignedHeaders(text: string): string[] {
  const names = text.split(';');
  if (names.length > MAX_SIGNED_HEADERS || !names.every((n) => HEADER_NAME.test(n))) throw malformed('SignedHeaders must be lower-case header names joined by ";"');
  for (let i = 1; i < names.length; i++) if (names[i - 1]! >= names[i]!) throw malformed('SignedHeaders must be sorted and without repeats');
  if (!names.includes('host')) throw malformed('SignedHeaders must include host');
  return names;
}

/**
 * `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` (the three in
 * any order, separated by commas and optional spaces). The date comes from X-Amz-Date.
 */
export function parseAuthorization(header: string, amzDate: string | undefined): SignatureParts {
  if (header.length > 8192) throw malformed('the Authorization header is too long');
  if (header.startsWith('AWS ')) throw new S3Error('InvalidRequest', 'Signature Version 2 is not supported here; sign requests with Signature Version 4 (AWS4-HMAC-SHA256)');
  if (!header.startsWith(`${ALGORITHM} `)) throw malformed(`the Authorization header must start with "${ALGORITHM} "`);
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(',')) {
    const s = part.trim();
    const eq = s.indexOf('=');
    if (eq <= 0) throw malformed(`"${s.slice(0, 60)}" in the Authorization header is not name=value`);
    const name = s.slice(0, eq);
    if (fields.has(name)) throw malformed(`${name} appears twice in the Authorization header`);
    fields.set(name, s.slice(eq + 1));
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential === undefined || signedHeaders === undefined || signature === undefined || fields.size !== 3) throw malformed('the Authorization header needs exactly Credential, SignedHeaders and Signature');
  if (!HEX64.test(signature)) throw malformed('Signature must be 64 lower-case hex digits');
  const date = checkDate(amzDate, 'X-Amz-Date');
  const parsed = parseCredential(credential);
  if (parsed.date !== date.slice(0, 8)) throw malformed(`the credential date ${parsed.date} is not the day of X-Amz-Date ${date}`);
  return { credential: parsed, signedHeaders: parseSignedHeaders(signedHeaders), signature, amzDate: date, presigned: false };
}

/** The X-Amz-* query parameters of a presigned URL. */
export function parsePresigned(query: ReadonlyMap<string, string>): SignatureParts {
  const get = (name: string): string => {
    const v = query.get(name);
    if (v === undefined) throw new S3Error('AuthorizationQueryParametersError', `a presigned URL needs ${name}`);
    return v;
  };
  if (get('X-Amz-Algorithm') !== ALGORITHM) throw new S3Error('AuthorizationQueryParametersError', `X-Amz-Algorithm must be ${ALGORITHM}`);
  const date = checkDate(get('X-Amz-Date'), 'X-Amz-Date');
  const expiresText = get('X-Amz-Expires');
  if (!/^\d{1,7}$/.test(expiresText) || Number(expiresText) < 1 || Number(expiresText) > MAX_PRESIGN_S) {
    throw new S3Error('AuthorizationQueryParametersError', `X-Amz-Expires must be a number of seconds from 1 to ${MAX_PRESIGN_S}`);
  }
  const signature = get('X-Amz-Signature');
  if (!HEX64.test(signature)) throw new S3Error('AuthorizationQueryParametersError', 'X-Amz-Signature must be 64 lower-case hex digits');
  const credential = parseCredential(get('X-Amz-Credential'));
  if (credential.date !== date.slice(0, 8)) throw new S3Error('AuthorizationQueryParametersError', `the credential date ${credential.date} is not the day of X-Amz-Date ${date}`);
  return { credential, signedHeaders: parseSignedHeaders(get('X-Amz-SignedHeaders')), signature, amzDate: date, expires: Number(expiresText), presigned: true };
}

function checkDate(text: string | undefined, name: string): string {
  const m = text === undefined ? null : AMZ_DATE.exec(text);
  if (!m || Number.isNaN(amzDateMs(text!))) throw malformed(`${name} must be a UTC time such as 20260101T000000Z`);
  return text!;
}

/** Epoch ms of YYYYMMDDTHHMMSSZ, NaN if it names no real instant. */
export function amzDateMs(text: string): number {
  const iso = `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6, 8)}T${text.slice(9, 11)}:${text.slice(11, 13)}:${text.slice(13, 15)}Z`;
  const t = Date.parse(iso);
  return Number.isNaN(t) || new Date(t).toISOString().slice(0, 19) !== iso.slice(0, 19) ? NaN : t;
}

/** AWS's URI encoding: everything but A-Z a-z 0-9 - _ . ~ as %XX of UTF-8 (and '/' too unless `keepSlash`). */
export function awsEncode(text: string, keepSlash: boolean): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Query parameters of a raw query string, percent-decoded ('+' stays '+', as AWS clients encode spaces as %20). */
export function parseQuery(rawQuery: string): [string, string][] {
  if (rawQuery === '') return [];
  return rawQuery.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const k = eq < 0 ? pair : pair.slice(0, eq);
    const v = eq < 0 ? '' : pair.slice(eq + 1);
    return [decode(k), decode(v)];
  });
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error('InvalidURI', 'the request has a malformed percent-encoding');
  }
}

export function canonicalQuery(params: readonly [string, string][], presigned: boolean): string {
  return params
    .filter(([k]) => !(presigned && k === 'X-Amz-Signature'))
    .map(([k, v]) => [awsEncode(k, false), awsEncode(v, false)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** `name:value\n` for each signed header: values of repeated headers joined by ',', spaces trimmed and runs folded. */
export function canonicalHeaders(rawHeaders: readonly string[], signed: readonly string[]): string {
  const values = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (!signed.includes(name)) continue;
    const list = values.get(name) ?? [];
    list.push(rawHeaders[i + 1]!.trim().replace(/\s+/g, ' '));
    values.set(name, list);
  }
  return signed
    .map((name) => {
      const v = values.get(name);
      if (v === undefined) throw new S3Error('AccessDenied', `the signed header ${name} is not in the request`);
      return `${name}:${v.join(',')}\n`;
    })
    .join('');
}

export function signingKey(secret: string, c: Credential): Buffer {
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, c.date), c.region), c.service), 'aws4_request');
}

export function stringToSign(parts: SignatureParts, canonicalRequest: string): string {
  const c = parts.credential;
  return [ALGORITHM, parts.amzDate, `${c.date}/${c.region}/${c.service}/aws4_request`, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
}

export function canonicalRequest(req: SignedRequest, parts: SignatureParts, uri: string, payloadHash: string): string {
  return [req.method, uri, canonicalQuery(parseQuery(req.rawQuery), parts.presigned), canonicalHeaders(req.rawHeaders, parts.signedHeaders), parts.signedHeaders.join(';'), payloadHash].join('\n');
}

/** The signature a holder of `secret` computes for this request (used by the verifier and by tests that sign). */
export function computeSignature(req: SignedRequest, parts: SignatureParts, secret: string, uri = req.rawPath, payloadHash = payloadHashOf(req, parts)): string {
  return createHmac('sha256', signingKey(secret, parts.credential)).update(stringToSign(parts, canonicalRequest(req, parts, uri, payloadHash))).digest('hex');
}

function payloadHashOf(req: SignedRequest, parts: SignatureParts): string {
  if (parts.presigned) return UNSIGNED_PAYLOAD;
  const v = header(req.rawHeaders, 'x-amz-content-sha256');
  if (v === undefined) throw new S3Error('InvalidRequest', 'a request signed in the Authorization header must carry x-amz-content-sha256');
  return v;
}

export function header(rawHeaders: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) return rawHeaders[i + 1];
  return undefined;
}

/** The path as AWS would have encoded it: each segment decoded, then encoded again. */
function reencodedPath(rawPath: string): string {
  return rawPath.split('/').map((s) => awsEncode(decode(s), false)).join('/');
}

/**
 * Checks a request's SigV4 signature, if it has one. Returns the access key id of a valid
 * signature, undefined for an anonymous request; throws an S3Error otherwise.
 */
export function verifyRequest(req: SignedRequest, secretOf: (accessKeyId: string) => string | undefined, nowMs = Date.now()): string | undefined {
  const auth = header(req.rawHeaders, 'authorization');
  const query = new Map(parseQuery(req.rawQuery));
  const presigned = query.has('X-Amz-Signature') || query.has('X-Amz-Credential') || query.has('X-Amz-Algorithm');
  if (query.has('AWSAccessKeyId') && query.has('Signature')) throw new S3Error('InvalidRequest', 'Signature Version 2 presigned URLs are not supported here; presign with Signature Version 4 (boto3: Config(signature_version="s3v4"))');
  if (auth !== undefined && presigned) throw new S3Error('InvalidRequest', 'a request may be signed in the Authorization header or in the query, not both');
  if (auth === undefined && !presigned) return undefined;
  const parts = auth !== undefined ? parseAuthorization(auth, header(req.rawHeaders, 'x-amz-date')) : parsePresigned(query);
  const signedAt = amzDateMs(parts.amzDate);
  if (parts.presigned) {
    if (nowMs >= signedAt + parts.expires! * 1000) throw new S3Error('AccessDenied', `the presigned URL expired at ${new Date(signedAt + parts.expires! * 1000).toISOString()}`);
    if (signedAt - nowMs > MAX_SKEW_MS) throw new S3Error('RequestTimeTooSkewed', 'the presigned URL is dated in the future');
  } else if (Math.abs(nowMs - signedAt) > MAX_SKEW_MS) {
    throw new S3Error('RequestTimeTooSkewed', `the request time ${parts.amzDate} is more than 15 minutes from the node's time ${new Date(nowMs).toISOString()}`);
  }
  const secret = secretOf(parts.credential.accessKeyId);
  if (secret === undefined) throw new S3Error('InvalidAccessKeyId', `the access key ${parts.credential.accessKeyId.slice(0, 40)} is not known to this node (make one with canopy api-token create)`);
  const given = Buffer.from(parts.signature, 'hex');
  const payloadHash = payloadHashOf(req, parts);
  const uris = [req.rawPath, reencodedPath(req.rawPath)];
  for (const uri of uris[0] === uris[1] ? [uris[0]!] : uris) {
    if (timingSafeEqual(Buffer.from(computeSignature(req, parts, secret, uri, payloadHash), 'hex'), given)) return parts.credential.accessKeyId;
  }
  throw new S3Error('SignatureDoesNotMatch', 'the request signature does not match the one computed with your secret key; check the key and the signing method');
}
