/**
 * What every origin reader shares (docs/ORIGINS.md): the version of an object (size and the
 * origin's validators, ETag and Last-Modified), how two versions compare, the origin errors,
 * and retries with backoff for what may pass (a dropped connection, a stall, a 5xx, a 429).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CanopyError } from '../../core/errors.js';

export interface OriginVersion {
  size: number;
  etag?: string;
  lastModified?: string;
}

/** An object at an origin, pinned to the version it had when opened. */
export interface OriginObject {
  readonly url: string;
  readonly version: OriginVersion;
}

/** The same object: same size, and the same ETag (or, without one, the same Last-Modified). */
export function sameVersion(a: OriginVersion, b: OriginVersion): boolean {
  if (a.size !== b.size) return false;
  if (a.etag !== undefined || b.etag !== undefined) return a.etag === b.etag;
  return a.lastModified === b.lastModified;
}

export function describeVersion(v: OriginVersion): string {
  return [`${v.size} bytes`, v.etag ? `ETag ${v.etag}` : '', v.lastModified ? `Last-Modified ${v.lastModified}` : ''].filter(Boolean).join(', ');
}

/** An origin's error answer: 5xx and 429 may pass (retried), anything else fails at once. */
export function originError(url: string, status: number, statusText = ''): CanopyError {
  const retry = status >= 500 || status === 429 || status === 408;
  return new CanopyError('ERR_ORIGIN', `${url}: the origin answered ${status}${statusText ? ` ${statusText}` : ''}`, { details: { status, retry } });
}

function retriable(err: unknown): boolean {
  return err instanceof CanopyError && err.code === 'ERR_ORIGIN' && err.details?.retry === true;
}

/** Runs `attempt` up to 1 + `retries` times while it fails with a retriable origin error, backing off 0.5 s, 1 s, 2 s... */
export async function withRetries<T>(retries: number, attempt: () => Promise<T>, delayMs = 500): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (i >= retries || !retriable(err)) throw err;
      await sleep(delayMs * 2 ** i);
    }
  }
}
