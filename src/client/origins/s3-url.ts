/**
 * `s3://bucket/key` and `s3://bucket/prefix/` (docs/ORIGINS.md, "S3 origins"): one object,
 * or, when the key is empty or ends with `/`, every object under the prefix as a directory.
 * The key is taken as written (S3 keys are not URL-encoded in `s3://` URLs, as the AWS CLI
 * takes them). Pure.
 */
import { CanopyError } from '../../core/errors.js';

export interface S3Location {
  bucket: string;
  /** The object's key, or the prefix (empty or ending with `/`) of a directory. */
  key: string;
  directory: boolean;
}

export function isS3Url(s: string): boolean {
  return /^s3:\/\//i.test(s);
}

/** Bucket names as S3 allows them (3-63 of a-z 0-9 . -; the legacy upper case and _ too, as S3-compatible servers take them). */
const BUCKET = /^[a-zA-Z0-9][a-zA-Z0-9._-]{1,254}$/;

export function parseS3Url(s: string): S3Location {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/is.exec(s);
  const bucket = m?.[1] ?? '';
  if (!m || !BUCKET.test(bucket)) throw new CanopyError('ERR_USAGE', `"${s}" is not an s3://BUCKET/KEY or s3://BUCKET/PREFIX/ URL (a bucket is 3-255 letters, digits, . _ -)`);
  const key = m[2] ?? '';
  if (key.includes('\0')) throw new CanopyError('ERR_USAGE', `"${s}": an S3 key cannot hold NUL`);
  if (Buffer.byteLength(key, 'utf8') > 1024) throw new CanopyError('ERR_USAGE', `"${s}": an S3 key is at most 1024 bytes`);
  return { bucket, key, directory: key === '' || key.endsWith('/') };
}

/** The default content name: the key's last segment (the prefix's last for a directory), else the bucket. */
export function s3Name(loc: S3Location): string {
  return loc.key.split('/').filter(Boolean).pop() ?? loc.bucket;
}

export function s3Url(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}
