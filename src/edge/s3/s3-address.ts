/**
 * Which bucket and key a request names. Path style: `/<bucket>/<key>`. Virtual-host style:
 * `Host: <bucket>.<domain>` (the node's S3 domain, `--s3-domain`, default `localhost`) and
 * `/<key>`. A bucket is a content's name or id; a key is a path within the content. Keys
 * are decoded once; a key with an empty, `.` or `..` segment is refused rather than
 * normalised, so no spelling of a path can reach outside the content.
 */
import { S3Error } from './s3-error.js';

export interface S3Address {
  /** Undefined: the service itself (ListBuckets). */
  bucket: string | undefined;
  /** Undefined or '': the bucket itself. */
  key: string | undefined;
  virtualHost: boolean;
}

export const MAX_KEY_BYTES = 1024;

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error('InvalidURI', 'the request path has a malformed percent-encoding');
  }
}

/** The bucket named by a Host header under `domain`, if any. */
export function virtualHostBucket(host: string | undefined, domain: string): string | undefined {
  if (host === undefined || domain === '') return undefined;
  const name = host.replace(/:\d+$/, '').toLowerCase();
  const suffix = `.${domain.toLowerCase()}`;
  return name.endsWith(suffix) && name.length > suffix.length ? name.slice(0, -suffix.length) : undefined;
}

export function parseAddress(rawPath: string, host: string | undefined, domain: string): S3Address {
  if (!rawPath.startsWith('/')) throw new S3Error('InvalidURI', 'the request path must start with /');
  const vhost = virtualHostBucket(host, domain);
  const path = rawPath.slice(1);
  let bucket: string | undefined;
  let rawKey: string;
  if (vhost !== undefined) {
    bucket = vhost;
    rawKey = path;
  } else {
    const slash = path.indexOf('/');
    bucket = slash < 0 ? path : path.slice(0, slash);
    rawKey = slash < 0 ? '' : path.slice(slash + 1);
    bucket = bucket === '' ? undefined : decode(bucket);
  }
  const key = rawKey === '' ? undefined : checkKey(decode(rawKey));
  return { bucket, key, virtualHost: vhost !== undefined };
}

export function checkKey(key: string): string {
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new S3Error('InvalidArgument', `the key is longer than ${MAX_KEY_BYTES} bytes`);
  const segments = key.split('/');
  if (segments.some((s) => s === '.' || s === '..')) throw new S3Error('InvalidArgument', 'a key may not have "." or ".." segments');
  if (segments.slice(0, -1).some((s) => s === '') || key.includes('\0')) throw new S3Error('InvalidArgument', 'a key may not have empty segments or NUL characters');
  return key;
}
