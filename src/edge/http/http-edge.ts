/**
 * The HTTP streaming server for external clients: each content is served as one whole
 * file, with GET/HEAD, single byte ranges (206/416), ETag = content id and conditional
 * requests. Paths: /content/<id>[/<name>] and /files/<name> (newest live version of that name).
 * A withdrawn or expired content answers 410, and a response in progress is cut when it is withdrawn.
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

export interface HttpEdgeDeps {
  catalog: Catalog;
  /** False until the node has learnt the catalog (withdrawals included) from the network. */
  synced: () => boolean;
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
  const byId = parts[0] === 'content' && parts.length >= 2 && parts.length <= 3;
  const byName = parts[0] === 'files' && parts.length === 2;
  // /files/<name> serves the newest live version; a withdrawn or expired content is gone (410).
  const found = byId ? deps.catalog.resolve(parts[1]!) : byName ? deps.catalog.resolveLive(parts[1]!) : undefined;
  const gone = byId && found ? !deps.catalog.isLive(found.contentId) : byName && !found && deps.catalog.versions(parts[1]!).length > 0;
  if (gone) throw new CanopyError('ERR_CONTENT_WITHDRAWN', `${pathname} was ${found ? deps.catalog.state(found.contentId) : 'withdrawn'}`);
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
  if (!deps.synced()) {
    res.setHeader('retry-after', '1');
    throw new CanopyError('ERR_NOT_SYNCED', 'this node is still learning the catalog from the network');
  }
  const url = requestUrl(req);
  if (url.pathname === '/' || url.pathname === '/content') {
    sendJson(res, 200, { contents: deps.catalog.list().filter((c) => deps.catalog.isLive(c.contentId) && deps.catalog.holding(c.contentId).complete).map((c) => ({ contentId: c.contentId, name: c.manifest.name, size: c.manifest.size, url: `/content/${c.contentId}/${encodeURIComponent(c.manifest.name)}` })) });
    return;
  }
  const { contentId, manifest } = resolve(deps, url.pathname);
  const file = new VirtualFile(manifest, deps.store);
  const etag = `"${contentId}"`;
  const headers: Record<string, string | number> = {
    'content-type': manifest.mediaType,
    'accept-ranges': 'bytes',
    etag,
    'last-modified': new Date(manifest.createdAt).toUTCString(),
    // A content id names immutable bytes; a name moves to each new version, so caches revalidate it.
    'cache-control': url.pathname.startsWith('/files/') ? 'public, no-cache' : 'public, max-age=31536000, immutable',
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
  await pipeline(Readable.from(whileLive(file.read(start, end), () => deps.catalog.isLive(contentId)), { objectMode: false, highWaterMark: 1 }), res);
}

/** Stops a response between blocks once its content is withdrawn or expires. */
async function* whileLive(source: AsyncIterable<Buffer>, live: () => boolean): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    if (!live()) throw new CanopyError('ERR_CONTENT_WITHDRAWN', 'the content was withdrawn while it was being served');
    yield chunk;
  }
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.trim() === '*' || header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}
