import type { IncomingMessage, ServerResponse } from 'node:http';
import { CanopyError, isCanopyError } from '../core/errors.js';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** Answers with the error's status and `{ code, message }`; unknown errors become 500 without internals. */
export function sendError(res: ServerResponse, err: unknown): void {
  const e = isCanopyError(err) ? err : new CanopyError('ERR_INTERNAL', 'internal error');
  if (res.headersSent) {
    res.destroy(e);
    return;
  }
  sendJson(res, e.status, { error: e.toJSON() });
}

/**
 * The request's URL. The target is appended to a fixed origin rather than resolved against
 * it, so `//host/x` stays a path (found by fuzzing: resolving made it a host, or a 500).
 */
export function requestUrl(req: IncomingMessage): URL {
  const target = req.url ?? '/';
  try {
    return target.startsWith('/') ? new URL(`http://local${target}`) : new URL(target);
  } catch {
    throw new CanopyError('ERR_USAGE', 'malformed request target');
  }
}

export const MAX_JSON_BODY = 64 * 1024;

/** Reads a small JSON body; a body past the limit is refused without buffering it. */
export async function readJsonBody(req: IncomingMessage, limit = MAX_JSON_BODY): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new CanopyError('ERR_USAGE', `request body of ${declared} bytes exceeds ${limit}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new CanopyError('ERR_USAGE', `request body exceeds ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new CanopyError('ERR_USAGE', 'request body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CanopyError('ERR_USAGE', 'request body must be a JSON object');
  return value as Record<string, unknown>;
}
