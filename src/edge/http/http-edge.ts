/**
 * The HTTP streaming server for external clients: each content is served as one whole
 * file, with GET/HEAD, single byte ranges (206/416), ETag = content id and conditional
 * requests. Paths: /content/<id>[/<name>] and /files/<name> (newest content of that name).
 * Bytes come from the virtual file layer, block by block, with backpressure.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CanopyError } from '../../core/errors.js';
import type { Manifest } from '../../core/manifest.js';
import type { Catalog } from '../../node/catalog.js';
import type { Logger } from '../../node/logger.js';
import type { BlockStore } from '../../store/block-store.js';
import { VirtualFile } from '../../vfile/virtual-file.js';
import { requestUrl, sendError, sendJson } from '../../api/http-util.js';
import { parseRange } from './range.js';
import type { EdgeAccess } from '../../security/content-access.js';

export interface HttpEdgeDeps {
  catalog: Catalog;
  /** Per-content access: public, or signed URLs (src/security/content-access.ts). */
  access?: EdgeAccess;
  store: BlockStore;
  log: Logger;
}

export function createHttpEdge(deps: HttpEdgeDeps): http.Server {
  const server = http.createServer((req, res) => {
    handle(deps, req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, err);
      else res.destroy();
      if (!(err instanceof CanopyError)) deps.log.error('edge request failed', { url: req.url, err: err as Error });
    });
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 0; // Long downloads are legitimate; idle sockets are cut by the timeouts above.
  return server;
}

function resolve(deps: HttpEdgeDeps, pathname: string): { contentId: string; manifest: Manifest } {
  const parts = pathname.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      throw new CanopyError('ERR_CONTENT_NOT_FOUND', 'malformed path');
    }
  });
  const found =
    parts[0] === 'content' && parts.length >= 2 && parts.length <= 3
      ? deps.catalog.resolve(parts[1]!)
      : parts[0] === 'files' && parts.length === 2
        ? deps.catalog.resolve(parts[1]!)
        : undefined;
  if (!found || (parts[0] === 'content' && parts[2] !== undefined && parts[2] !== found.manifest.name)) {
    throw new CanopyError('ERR_CONTENT_NOT_FOUND', `no content at ${pathname}`);
  }
  return found;
}

async function handle(deps: HttpEdgeDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    sendJson(res, 405, { error: { code: 'ERR_METHOD', message: `${req.method} is not allowed` } });
    return;
  }
  const url = requestUrl(req);
  if (url.pathname === '/' || url.pathname === '/content') {
    sendJson(res, 200, { contents: deps.catalog.list().filter((c) => deps.catalog.holding(c.contentId).complete && (deps.access?.mode(c.contentId) ?? 'public') === 'public').map((c) => ({ contentId: c.contentId, name: c.manifest.name, size: c.manifest.size, url: `/content/${c.contentId}/${encodeURIComponent(c.manifest.name)}` })) });
    return;
  }
  const { contentId, manifest } = resolve(deps, url.pathname);
  deps.access?.checkHttp(contentId, url);
  const file = new VirtualFile(manifest, deps.store);
  const etag = `"${contentId}"`;
  const headers: Record<string, string | number> = {
    'content-type': manifest.mediaType,
    'accept-ranges': 'bytes',
    etag,
    'last-modified': new Date(manifest.createdAt).toUTCString(),
    'cache-control': 'public, max-age=31536000, immutable',
    'content-disposition': `inline; filename*=UTF-8''${encodeURIComponent(manifest.name)}`,
  };
  if (etagMatches(req.headers['if-none-match'], etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const ifRange = req.headers['if-range'];
  const range = ifRange !== undefined && ifRange !== etag ? { kind: 'ignore' as const } : parseRange(req.headers.range, manifest.size);
  if (range.kind === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'content-range': `bytes */${manifest.size}`, 'content-length': 0 });
    res.end();
    return;
  }
  const single = range.kind === 'ranges' && range.ranges.length === 1 ? range.ranges[0]! : undefined;
  const start = single?.start ?? 0;
  const end = single?.end ?? manifest.size - 1;
  if (!file.isLocal(start, end)) throw new CanopyError('ERR_NOT_HELD', `this node does not hold all of ${manifest.name} yet`);
  const status = single ? 206 : 200;
  if (single) headers['content-range'] = `bytes ${start}-${end}/${manifest.size}`;
  headers['content-length'] = manifest.size === 0 ? 0 : end - start + 1;
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || manifest.size === 0) {
    res.end();
    return;
  }
  await pipeline(Readable.from(file.read(start, end), { objectMode: false, highWaterMark: 1 }), res);
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.trim() === '*' || header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}
