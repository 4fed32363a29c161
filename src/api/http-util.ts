import type { IncomingMessage, ServerResponse } from 'node:http';
import { CanopyError, isCanopyError } from '../core/errors.js';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** Answers with the error's status and `{ code, message }`; unknown errors become 500 without internals. */
export function sendError(res: ServerResponse, err: unknown): void {
  const e = isCanopyError(err) ? err : new CanopyError('ERR_STORE_IO', 'internal error');
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
