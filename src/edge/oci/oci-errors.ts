/**
 * Error answers of the Distribution API: `{"errors":[{"code","message","detail"}]}` with the
 * status the specification gives each code. Clients (containerd, skopeo) read the code; a
 * mirror that answers 404 MANIFEST_UNKNOWN / BLOB_UNKNOWN makes containerd try its next
 * endpoint, which is how a node that may not serve an image steps aside.
 */
import type { ServerResponse } from 'node:http';

export const OCI_ERRORS = {
  BLOB_UNKNOWN: 404,
  MANIFEST_UNKNOWN: 404,
  NAME_UNKNOWN: 404,
  NAME_INVALID: 400,
  DIGEST_INVALID: 400,
  MANIFEST_INVALID: 400,
  UNSUPPORTED: 405,
  RANGE_INVALID: 416,
  TOOMANYREQUESTS: 429,
  UNAVAILABLE: 503,
} as const;

export type OciErrorCode = keyof typeof OCI_ERRORS;

export const API_VERSION_HEADER = { 'docker-distribution-api-version': 'registry/2.0' } as const;

export function sendOciError(res: ServerResponse, code: OciErrorCode, message: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy(new Error(message));
    return;
  }
  const text = `${JSON.stringify({ errors: [{ code, message, detail: {} }] })}\n`;
  res.writeHead(OCI_ERRORS[code], { ...API_VERSION_HEADER, ...extra, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
