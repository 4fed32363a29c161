/**
 * The HTTP streaming server for external clients: each content is served as one whole
 * file, with GET/HEAD, single and multiple byte ranges (206, multipart/byteranges, 416),
 * ETag = content id, conditional requests, and HLS playlists for MPEG-TS and fragmented
 * MP4. Paths: /content/<id>[/<name>], /files/<name> (newest live version of that name) and
 * /hls/<id or name>/index.m3u8. Bytes come from the virtual file layer, which fetches
 * missing blocks on demand; each response streams with backpressure (about two blocks in
 * memory however slow the client), and a client that goes away cancels its fetches.
 * A withdrawn or expired content answers 410, and a response in progress is cut when it is
 * withdrawn; until the node has learnt the catalog from the network it serves nothing (503).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { CanopyError } from '../../core/errors.js';
import type { Manifest } from '../../core/manifest.js';
import type { Catalog } from '../../catalog/catalog.js';
import type { Logger } from '../../core/logger.js';
import type { BlockStore } from '../../store/block-store.js';
import type { BlockSource } from '../../vfile/block-fetcher.js';
import type { BlockCache } from '../../vfile/block-cache.js';
import type { SequentialReads } from '../../vfile/sequential-reads.js';
import { VirtualFile } from '../../vfile/virtual-file.js';
import { requestUrl, sendError, sendJson } from '../../http/http-util.js';
import { mediaTypeOf } from '../media-type.js';
import { evaluateConditions } from './conditional.js';
import { servePlaylist } from './hls-route.js';
import { planMultipart } from './multipart.js';
import { coalesce, parseRange } from './range.js';
import { checkRequest, setSafetyHeaders } from './request-rules.js';
import { abortOnClose, send, sendAfterFirst, whileLive } from '../stream-body.js';
import { isDistributionPath, serveDistribution, type DistributionDeps } from '../oci/distribution.js';
import { ImageFinder } from '../oci/image-finder.js';
import type { AskRoot } from '../oci/pull-through-serve.js';
import type { EdgeAccess } from '../../security/content-access.js';

export interface HttpEdgeDeps {
  catalog: Catalog;
  /** False until the node has learnt the catalog (withdrawals included) from the network. */
  synced: () => boolean;
  /**
   * Per-content access: public, or signed URLs (src/security/content-access.ts). Required, so
   * that every server over a node's data (the node's edge, `canopy store serve`) applies it.
   */
  access: EdgeAccess;
  store: BlockStore;
  log: Logger;
  /** Fetches missing blocks on demand; absent, only fully local ranges are served. */
  source?: BlockSource;
  /** Whether this node may fetch a content's blocks (it meets the criteria); holders would refuse otherwise. */
  mayFetch?: (manifest: Manifest) => boolean;
  /** Verified blocks shared between concurrent readers (HTTP and FTP). */
  cache?: BlockCache;
  /** Where recent reads ended, to read ahead for sequential range readers (HLS players). */
  sequential?: SequentialReads;
  /** Registry pull-through: asks the root for an image part this node does not hold (edge/oci/pull-through-serve.ts). */
  pull?: AskRoot;
}

export const SLOW_CLIENT_TIMEOUT_MS = 120_000;

export function createHttpEdge(deps: HttpEdgeDeps): http.Server {
  const oci = distributionDeps(deps);
  const server = http.createServer((req, res) => {
    const served = (async () => {
      // Every route of the edge, the registry mirror's included, gets the same headers and request rules.
      setSafetyHeaders(res);
      checkRequest(req);
      const url = requestUrlOrNull(req);
      return url && isDistributionPath(url.pathname) ? serveDistribution(oci, req, res, url) : handle(deps, req, res);
    })();
    served.catch((err: unknown) => {
      if (!res.headersSent) sendError(res, err);
      else res.destroy();
      if (!(err instanceof CanopyError) && !res.destroyed) deps.log.error('edge request failed', { url: req.url, err: err as Error });
    });
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 0; // Long downloads are legitimate; idle sockets are cut by the timeouts above.
  // A client that stops reading makes no socket progress; after this long it is cut, releasing its blocks.
  server.setTimeout(SLOW_CLIENT_TIMEOUT_MS);
  return server;
}

/** The registry mirror (src/edge/oci/) reads images as contents, with the same enforcement as /content/. */
function distributionDeps(deps: HttpEdgeDeps): DistributionDeps {
  const servable = (contentId: string, manifest: Manifest) => deps.catalog.isLive(contentId) && (deps.mayFetch?.(manifest) ?? true) && (deps.access?.mode(contentId) ?? 'public') === 'public';
  const images = new ImageFinder({ catalog: deps.catalog, servable, open: (id, m) => openFile(deps, id, m) });
  return { images, synced: deps.synced, isLive: (id) => deps.catalog.isLive(id), open: (f) => openFile(deps, f.contentId, f.manifest), ...(deps.pull ? { pull: deps.pull } : {}) };
}

function requestUrlOrNull(req: IncomingMessage): URL | null {
  try {
    return requestUrl(req);
  } catch {
    return null;
  }
}

export function resolvePath(catalog: Catalog, pathname: string): { contentId: string; manifest: Manifest; rest: string[] } {
  const parts = pathname.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      throw new CanopyError('ERR_CONTENT_NOT_FOUND', 'malformed path');
    }
  });
  const kind = parts[0] ?? '';
  if (!['content', 'files', 'hls'].includes(kind) || parts.length < 2) throw new CanopyError('ERR_CONTENT_NOT_FOUND', `no content at ${pathname}`);
  // An id names one version exactly; a name serves its newest live version. Withdrawn or expired: 410.
  const found = kind === 'content' ? catalog.resolve(parts[1]!) : (catalog.resolveLive(parts[1]!) ?? catalog.resolve(parts[1]!));
  if (!found) throw new CanopyError('ERR_CONTENT_NOT_FOUND', `no content at ${pathname}`);
  if (!catalog.isLive(found.contentId)) throw new CanopyError('ERR_CONTENT_WITHDRAWN', `${pathname} was ${catalog.state(found.contentId)}`);
  return { ...found, rest: parts.slice(2) };
}

export function openFile(deps: HttpEdgeDeps, contentId: string, manifest: Manifest): VirtualFile {
  const fetchable = deps.source !== undefined && (deps.mayFetch?.(manifest) ?? true);
  return new VirtualFile(manifest, deps.store, { contentId, source: fetchable ? deps.source : undefined, cache: deps.cache, sequential: deps.sequential });
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
    sendJson(res, 200, { contents: deps.catalog.list().filter((c) => deps.catalog.isLive(c.contentId) && deps.catalog.holding(c.contentId).complete && deps.access.mode(c.contentId) === 'public').map((c) => ({ contentId: c.contentId, name: c.manifest.name, size: c.manifest.size, url: `/content/${c.contentId}/${encodeURIComponent(c.manifest.name)}` })) });
    return;
  }
  const { contentId, manifest, rest } = resolvePath(deps.catalog, url.pathname);
  deps.access.checkHttp(contentId, url);
  const kind = url.pathname.split('/')[1];
  if (kind === 'hls') {
    if (rest.length !== 1 || rest[0] !== 'index.m3u8') throw new CanopyError('ERR_CONTENT_NOT_FOUND', `no playlist at ${url.pathname}`);
    await servePlaylist(req, res, contentId, manifest, openFile(deps, contentId, manifest));
    return;
  }
  if (rest.length > 1 || (kind === 'files' && rest.length > 0) || (rest[0] !== undefined && rest[0] !== manifest.name)) {
    throw new CanopyError('ERR_CONTENT_NOT_FOUND', `no content at ${url.pathname}`);
  }
  await serveContent(deps, req, res, contentId, manifest);
}

async function serveContent(deps: HttpEdgeDeps, req: IncomingMessage, res: ServerResponse, contentId: string, manifest: Manifest): Promise<void> {
  const file = openFile(deps, contentId, manifest);
  const byName = requestUrl(req).pathname.startsWith('/files/');
  const etag = `"${contentId}"`;
  const lastModified = Date.parse(manifest.createdAt);
  const headers: Record<string, string | number> = {
    'content-type': mediaTypeOf(manifest.name, manifest.mediaType),
    'accept-ranges': 'bytes',
    etag,
    'last-modified': new Date(lastModified).toUTCString(),
    // A name moves to each new version, so caches revalidate it; a content id names immutable bytes.
    // A content behind signed URLs must not sit in shared caches, where anyone could get it.
    'cache-control': `${deps.access.mode(contentId) === 'signed' ? 'private' : 'public'}, ${byName ? 'no-cache' : 'max-age=31536000, immutable'}`,
    'content-disposition': `inline; filename*=UTF-8''${encodeURIComponent(manifest.name)}`,
  };
  const h = req.headers;
  const decision = evaluateConditions({ ifMatch: h['if-match'], ifNoneMatch: h['if-none-match'], ifModifiedSince: h['if-modified-since'], ifUnmodifiedSince: h['if-unmodified-since'], ifRange: str(h['if-range']) }, { etag, lastModified });
  if (decision.kind !== 'serve') {
    res.writeHead(decision.kind === 'not-modified' ? 304 : 412, decision.kind === 'not-modified' ? headers : { etag });
    res.end();
    return;
  }
  const range = decision.useRange ? parseRange(h.range, manifest.size) : ({ kind: 'ignore' } as const);
  if (range.kind === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'content-range': `bytes */${manifest.size}`, 'content-length': 0 });
    res.end();
    return;
  }
  const ranges = range.kind === 'ranges' ? coalesce(range.ranges) : [{ start: 0, end: manifest.size - 1 }];
  if (!ranges.every((r) => file.canServe(r.start, r.end))) throw new CanopyError('ERR_NOT_HELD', `this node does not hold all of ${manifest.name} and may not fetch it`);
  const signal = abortOnClose(res);
  if (ranges.length > 1) {
    const plan = planMultipart(ranges, manifest.size, String(headers['content-type']));
    res.writeHead(206, { ...headers, 'content-type': plan.contentType, 'content-length': plan.length });
    if (req.method === 'HEAD') return void res.end();
    await send(res, whileLive(multipartBody(file, plan, signal), () => deps.catalog.isLive(contentId)));
    return;
  }
  const { start, end } = ranges[0]!;
  const status = range.kind === 'ranges' ? 206 : 200;
  if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${manifest.size}`;
  headers['content-length'] = manifest.size === 0 ? 0 : end - start + 1;
  if (req.method === 'HEAD' || manifest.size === 0) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  await sendAfterFirst(res, status, headers, whileLive(file.read(start, end, signal), () => deps.catalog.isLive(contentId)));
}

async function* multipartBody(file: VirtualFile, plan: ReturnType<typeof planMultipart>, signal: AbortSignal): AsyncGenerator<Buffer> {
  for (const part of plan.parts) {
    yield part.head;
    yield* file.read(part.range.start, part.range.end, signal);
  }
  yield plan.tail;
}

function str(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
