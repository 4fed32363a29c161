/**
 * Admin API routes of the content lifecycle:
 *   POST /api/contents/:ref/withdraw[?reason=]   take a content out of service everywhere (root)
 *   GET  /api/contents/:ref/versions             every version published under the content's name
 * and the lifecycle fields added to every content summary (state, version, expires, chunking).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CanopyError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import type { Catalog } from '../node/catalog.js';
import { sendJson } from './http-util.js';

export interface LifecycleRootApi {
  withdraw(contentId: string, reason: string): Promise<{ contentId: string; freedBytes: number }>;
}

export interface LifecycleRouteDeps {
  catalog: Catalog;
  root: LifecycleRootApi | undefined;
  findContent: (ref: string) => { contentId: string; manifest: Manifest };
}

export function lifecycleFields(catalog: Catalog, contentId: string, manifest: Manifest): Record<string, unknown> {
  const versions = catalog.versions(manifest.name);
  return {
    state: catalog.state(contentId),
    version: versions.findIndex((v) => v.contentId === contentId) + 1,
    versions: versions.length,
    expires: manifest.expires ?? null,
    chunking: manifest.chunking?.method ?? 'fixed',
    prefetch: manifest.prefetch ?? null,
  };
}

/** Handles the request if it is a lifecycle route; returns false otherwise. */
export async function lifecycleRoute(deps: LifecycleRouteDeps, req: IncomingMessage, res: ServerResponse, url: URL, parts: string[]): Promise<boolean> {
  const [, resource, ref, sub] = parts;
  if (resource !== 'contents' || !ref || parts.length !== 4) return false;
  if (req.method === 'POST' && sub === 'withdraw') {
    if (!deps.root) throw new CanopyError('ERR_USAGE', 'this node is not the root: send withdrawals to the root node');
    const reason = (url.searchParams.get('reason') ?? 'withdrawn by the publisher').slice(0, 200) || 'withdrawn';
    if (reason === 'expired') throw new CanopyError('ERR_USAGE', 'reason "expired" is reserved for contents past their expiry');
    const { contentId } = deps.findContent(ref);
    const result = await deps.root.withdraw(contentId, reason);
    sendJson(res, 200, { ...result, state: deps.catalog.state(contentId), reason });
    return true;
  }
  if (req.method === 'GET' && sub === 'versions') {
    const { manifest } = deps.findContent(ref);
    const versions = deps.catalog.versions(manifest.name).map((v) => ({ contentId: v.contentId, version: v.version, state: v.state, size: v.manifest.size, blocks: v.manifest.blocks.length, createdAt: v.manifest.createdAt, expires: v.manifest.expires ?? null }));
    sendJson(res, 200, { name: manifest.name, versions });
    return true;
  }
  return false;
}
