/**
 * A directory content on the HTTP edge, by name (docs/EDGE.md, "Directories"):
 *
 *   GET /files/<name>/          the listing of the top directory
 *   GET /files/<name>/<dir>/    the listing of a directory
 *   GET /files/<name>/<path>    one file, with ranges and conditionals like any content
 *
 * A listing is JSON, or an HTML page when the client prefers text/html (a browser). A
 * directory asked for without its trailing slash is redirected (301) to it, so relative
 * links resolve. Symlinks are followed inside the tree. Segments `.`, `..` or holding an
 * encoded `/` name nothing (404), so no request reaches outside the tree.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CanopyError } from '../../core/errors.js';
import type { FileEntry } from '../../core/manifest-files.js';
import type { Manifest } from '../../core/manifest.js';
import { sendJson } from '../../http/http-util.js';
import { baseName, childrenOf, fileEtag, lookupPath } from '../directory-view.js';
import { serveContent, type HttpEdgeDeps } from './serve-content.js';

export interface ListingEntry {
  name: string;
  type: FileEntry['type'];
  mode: string;
  size?: number;
  target?: string;
  /** Relative to the listing's own URL. */
  href: string;
}

export async function serveDirectory(deps: HttpEdgeDeps, req: IncomingMessage, res: ServerResponse, url: URL, contentId: string, manifest: Manifest, rest: readonly string[]): Promise<void> {
  const notFound = () => new CanopyError('ERR_CONTENT_NOT_FOUND', `no file at ${url.pathname}`);
  if (rest.some((s) => s === '.' || s === '..' || s.includes('/'))) throw notFound();
  const entry = lookupPath(manifest, rest);
  if (!entry) throw notFound();
  if (entry.type === 'file') {
    await serveContent(deps, req, res, contentId, manifest, { offset: entry.offset!, size: entry.size!, name: baseName(entry.path), mediaType: 'application/octet-stream', etag: fileEtag(contentId, entry.path) });
    return;
  }
  if (!url.pathname.endsWith('/')) {
    res.writeHead(301, { location: `${url.pathname}/${url.search}`, 'content-length': 0 });
    res.end();
    return;
  }
  const entries = childrenOf(manifest, entry.path).map(listingEntry);
  const path = `/${entry.path}${entry.path ? '/' : ''}`;
  res.setHeader('cache-control', 'no-cache');
  res.setHeader('etag', fileEtag(contentId, `${entry.path}/`));
  if (prefersHtml(req.headers.accept)) {
    const body = Buffer.from(htmlListing(manifest.name, path, entries));
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  sendJson(res, 200, { name: manifest.name, contentId, path, createdAt: manifest.createdAt, entries });
}

function listingEntry(f: FileEntry): ListingEntry {
  const name = baseName(f.path);
  const href = encodeURIComponent(name) + (f.type === 'dir' ? '/' : '');
  const mode = f.mode.toString(8).padStart(4, '0');
  if (f.type === 'file') return { name, type: f.type, mode, size: f.size!, href };
  if (f.type === 'symlink') return { name, type: f.type, mode, target: f.target!, href };
  return { name, type: f.type, mode, href };
}

/** text/html wins only when the client names it and puts it before JSON (browsers do; curl's star-slash-star does not). */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const types = accept.split(',').map((t) => t.split(';')[0]!.trim().toLowerCase());
  const html = types.indexOf('text/html');
  const json = types.indexOf('application/json');
  return html >= 0 && (json < 0 || html < json);
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function htmlListing(name: string, path: string, entries: readonly ListingEntry[]): string {
  const rows = entries.map((e) => `<tr><td><a href="${escapeHtml(e.href)}">${escapeHtml(e.name)}${e.type === 'dir' ? '/' : ''}</a>${e.target ? ` &rarr; ${escapeHtml(e.target)}` : ''}</td><td>${e.type}</td><td>${e.size ?? ''}</td></tr>`);
  const up = path === '/' ? '' : '<tr><td><a href="../">../</a></td><td>dir</td><td></td></tr>';
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(name)}${escapeHtml(path)}</title></head><body><h1>${escapeHtml(name)}${escapeHtml(path)}</h1><table><thead><tr><th>name</th><th>type</th><th>size</th></tr></thead><tbody>${up}${rows.join('')}</tbody></table></body></html>\n`;
}
