/**
 * POST /api/contents/:ref/blocks/:index[?deadlineMs=] — fetch one block of a content now,
 * ahead of any prefetch (the swarm's on-demand path, `fetchNow`), and answer once it is
 * verified and stored. Operators use it to warm a block; tests use it to drive on-demand
 * placement. Not served by the root, which holds what it publishes.
 */
import { CanopyError } from '../core/errors.js';
import type { Catalog } from '../catalog/catalog.js';
import type { Route } from './router.js';

export type FetchNow = (contentId: string, index: number, deadline: number) => Promise<void>;

const DEFAULT_DEADLINE_MS = 2_000;
const MAX_WAIT_MS = 60_000;

export function blockFetchRoutes(catalog: Catalog, fetchNow: FetchNow): Route[] {
  return [
    {
      method: 'POST',
      path: '/api/contents/:ref/blocks/:index',
      tag: 'contents',
      summary: 'Fetch one block now, ahead of prefetch; answers once it is verified and stored',
      query: { deadlineMs: 'how soon the block is wanted, in ms (default 2000); the swarm prioritises by it' },
      handler: async ({ url, params }) => {
        const found = catalog.resolve(params.ref!);
        if (!found) throw new CanopyError('ERR_CONTENT_NOT_FOUND', `no content "${params.ref}" is known here`);
        const text = params.index!;
        const index = Number(text);
        if (!/^\d+$/.test(text) || index >= found.manifest.blocks.length) throw new CanopyError('ERR_BLOCK_NOT_FOUND', `content ${found.contentId.slice(0, 12)} has no block ${text}`);
        const deadlineMs = Number(url.searchParams.get('deadlineMs') ?? DEFAULT_DEADLINE_MS);
        if (!Number.isFinite(deadlineMs) || deadlineMs < 0) throw new CanopyError('ERR_USAGE', 'deadlineMs must be a non-negative number of milliseconds');
        const t0 = Date.now();
        let timer: NodeJS.Timeout | undefined;
        const gaveUp = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new CanopyError('ERR_TIMEOUT', `block ${index} could not be fetched within ${MAX_WAIT_MS} ms (no holder has it?)`)), MAX_WAIT_MS);
        });
        try {
          await Promise.race([fetchNow(found.contentId, index, t0 + deadlineMs), gaveUp]);
        } finally {
          clearTimeout(timer);
        }
        return { contentId: found.contentId, index, held: true, ms: Date.now() - t0 };
      },
    },
  ];
}
