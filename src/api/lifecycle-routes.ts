/**
 * Admin API routes of the content lifecycle (docs/LIFECYCLE.md):
 *   POST /api/contents/:ref/withdraw[?reason=]   take a content out of service everywhere (root)
 *   GET  /api/contents/:ref/versions             every version published under the content's name
 * and the lifecycle fields added to every content summary (state, version, expires, chunking,
 * prefetch).
 */
import { CanopyError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import type { Catalog } from '../catalog/catalog.js';
import type { Route } from './router.js';
import * as S from './schemas.js';

export interface LifecycleRootApi {
  withdraw(contentId: string, reason: string): Promise<{ contentId: string; freedBytes: number }>;
}

export interface LifecycleRouteDeps {
  catalog: Catalog;
  root: LifecycleRootApi | undefined;
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

function findContent(catalog: Catalog, ref: string): { contentId: string; manifest: Manifest } {
  const found = catalog.resolve(ref);
  if (!found) throw new CanopyError('ERR_CONTENT_NOT_FOUND', `no content "${ref}" is known here`);
  return found;
}

export function lifecycleRoutes(deps: LifecycleRouteDeps): Route[] {
  const { catalog } = deps;
  const tag = 'contents';
  return [
    {
      method: 'POST',
      path: '/api/contents/:ref/withdraw',
      tag,
      summary: 'Take a content out of service on every node now and free its blocks (root); nodes that are down learn it when they rejoin',
      query: { reason: 'why, shown in status and logs' },
      response: S.Withdrawal,
      handler: async ({ params, url }) => {
        if (!deps.root) throw new CanopyError('ERR_USAGE', 'this node is not the root: send withdrawals to the root node');
        const reason = (url.searchParams.get('reason') ?? 'withdrawn by the publisher').slice(0, 200) || 'withdrawn';
        if (reason === 'expired') throw new CanopyError('ERR_USAGE', 'reason "expired" is reserved for contents past their expiry');
        const { contentId } = findContent(catalog, params.ref!);
        const result = await deps.root.withdraw(contentId, reason);
        return { ...result, state: catalog.state(contentId), reason };
      },
    },
    {
      method: 'GET',
      path: '/api/contents/:ref/versions',
      tag,
      summary: "Every version published under the content's name, oldest first, with its state",
      response: S.Versions,
      handler: ({ params }) => {
        const { manifest } = findContent(catalog, params.ref!);
        const versions = catalog.versions(manifest.name).map((v) => ({ contentId: v.contentId, version: v.version, state: v.state, size: v.manifest.size, blocks: v.manifest.blocks.length, createdAt: v.manifest.createdAt, expires: v.manifest.expires ?? null }));
        return { name: manifest.name, versions };
      },
    },
  ];
}
