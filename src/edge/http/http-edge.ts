/**
 * The HTTP streaming server for external clients: each content is served as one whole
 * file, with GET/HEAD, single and multiple byte ranges (206, multipart/byteranges, 416),
 * ETag = content id, conditional requests, and HLS playlists for MPEG-TS and fragmented
 * MP4. Paths: /content/<id>[/<name>], /files/<name> (newest live version of that name;
 * /files/<name>/ and /files/<name>/<path> for a directory content) and
 * /hls/<id or name>/index.m3u8. Bytes come from the virtual file layer, which fetches
 * missing blocks on demand; each response streams with backpressure (about two blocks in
 * memory however slow the client), and a client that goes away cancels its fetches.
 * A withdrawn or expired content answers 410, and a response in progress is cut when it is
 * withdrawn; until the node has learnt the catalog from the network it serves nothing (503).
 */
import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createWebServer } from '../../http/web-server.js';
import { applyTimeouts, DEFAULT_TIMEOUTS } from '../../http/timeouts.js';
import { CanopyError } from '../../core/errors.js';
import type { Manifest } from '../../core/manifest.js';
import type { Catalog } from '../../catalog/catalog.js';
import { requestUrl, sendError, sendJson } from '../../http/http-util.js';
import { servePlaylist } from './hls-route.js';
import { checkRequest, setSafetyHeaders } from './request-rules.js';
import { isDistributionPath, serveDistribution, type DistributionDeps } from '../oci/distribution.js';
import { ImageFinder } from '../oci/image-finder.js';
import { openFile, serveContent, type HttpEdgeDeps } from './serve-content.js';
import { isDirectoryContent } from '../directory-view.js';
import { serveDirectory } from './directory-route.js';

export { openFile, type HttpEdgeDeps };

export const SLOW_CLIENT_TIMEOUT_MS = 120_000;

/** `tls`: an HTTPS server whose key and certificate are set before it listens (src/node/https-setup.ts). */
export function createHttpEdge(deps: HttpEdgeDeps, tls = false): http.Server {
  const oci = distributionDeps(deps);
  const server = createWebServer(tls, {}, (req, res) => {
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
  // Long downloads are legitimate; a client that stops reading makes no socket progress and
  // is cut after SLOW_CLIENT_TIMEOUT_MS, releasing its blocks.
  return applyTimeouts(server, { ...DEFAULT_TIMEOUTS, idleMs: SLOW_CLIENT_TIMEOUT_MS });
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
  // A directory content by name: its listing and its files (directory-route.ts).
  if (kind === 'files' && isDirectoryContent(manifest)) return serveDirectory(deps, req, res, url, contentId, manifest, rest);
  if (rest.length > 1 || (kind === 'files' && rest.length > 0) || (rest[0] !== undefined && rest[0] !== manifest.name)) {
    throw new CanopyError('ERR_CONTENT_NOT_FOUND', `no content at ${url.pathname}`);
  }
  await serveContent(deps, req, res, contentId, manifest);
}

