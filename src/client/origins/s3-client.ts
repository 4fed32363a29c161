/**
 * The S3 client for `canopy publish s3://...` (docs/ORIGINS.md, "S3 origins"): the AWS SDK
 * for JavaScript v3 (@aws-sdk/client-s3), so credentials and endpoints come from where the
 * AWS tools take them: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN,
 * AWS_PROFILE or --profile (~/.aws/credentials and ~/.aws/config, SSO, credential_process),
 * AWS_REGION, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL or --endpoint. With a custom endpoint
 * buckets are addressed path-style (what MinIO, Ceph, SeaweedFS and test servers take).
 * The SDK's own retries are off: the origin readers retry and resume (range-stream.ts), and
 * two layers of retries would multiply. Errors become ERR_ORIGIN (retried when they may
 * pass) or ERR_SOURCE_CHANGED (412).
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { CanopyError } from '../../core/errors.js';
import { originError } from './origin.js';
import { changed, DEFAULT_STALL_MS, type RangeStreamOptions } from './range-stream.js';

export interface S3OriginOptions extends RangeStreamOptions {
  /** --endpoint: an S3-compatible server's URL (else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's endpoint_url, AWS). */
  endpoint?: string;
  /** --profile: a profile of ~/.aws/config and ~/.aws/credentials (else AWS_PROFILE, else default). */
  profile?: string;
  /** --region (else AWS_REGION, the profile's region, else us-east-1). */
  region?: string;
  /** --no-sign-request: anonymous requests, for public buckets (as the AWS CLI's flag). */
  noSignRequest?: boolean;
}

export async function s3Client(options: S3OriginOptions, env: NodeJS.ProcessEnv = process.env): Promise<S3Client> {
  // The SDK warns on Node 20 that its releases from 2027 on will need Node 22: nothing a publisher can act on (the lockfile pins it).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const stallMs = options.stallMs ?? DEFAULT_STALL_MS;
  const custom = options.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const config: S3ClientConfig = {
    endpoint: options.endpoint,
    profile: options.profile,
    forcePathStyle: custom !== undefined,
    followRegionRedirects: true,
    maxAttempts: 1,
    // Ranged reads carry no whole-object checksum; the blocks are hashed (SHA-256) by the ingest anyway.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { connectionTimeout: stallMs, requestTimeout: stallMs },
    ...(options.noSignRequest ? { signer: { sign: (request) => Promise.resolve(request) } } : {}),
  };
  const client = new S3Client({ ...config, region: options.region });
  try {
    await client.config.region();
    return client;
  } catch {
    // No region anywhere: S3-compatible servers ignore it and AWS redirects (followRegionRedirects).
    client.destroy();
    return new S3Client({ ...config, region: 'us-east-1' });
  }
}

/** What an SDK failure means for a publish: a changed object, an origin error to retry, or one to report at once. */
export function s3Failure(url: string, err: unknown): CanopyError {
  if (err instanceof CanopyError) return err;
  const e = err as Error & { $metadata?: { httpStatusCode?: number }; code?: string; Code?: string };
  const status = e.$metadata?.httpStatusCode;
  if (status === 412 || e.name === 'PreconditionFailed') return changed(url, 'the origin answered 412 to If-Match');
  if (e.name === 'CredentialsProviderError') {
    return new CanopyError('ERR_ORIGIN', `${url}: no AWS credentials (${e.message}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE or --profile, or pass --no-sign-request for a public bucket`);
  }
  if (status === undefined || status === 200) return new CanopyError('ERR_ORIGIN', `${url}: ${e.code ?? e.name ?? ''} ${e.message}`.trim(), { details: { retry: true } });
  // A HEAD's error has no body: the SDK then names it Unknown, NotFound or after the status.
  const code = e.Code ?? (e.name && !['Error', 'UnknownError', 'Unknown'].includes(e.name) ? e.name : '');
  return originError(url, status, code);
}

/** One SDK call, its failure mapped (s3Failure). */
export async function s3Call<T>(url: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw s3Failure(url, err);
  }
}
