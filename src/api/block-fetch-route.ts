/**
 * POST /api/contents/:ref/blocks/:index[?deadlineMs=] — fetch one block of a content now,
 * ahead of any prefetch (the swarm's on-demand path, as the edge servers use it), and answer
 * once it is verified and stored. Operators use it to warm a block; tests use it to drive
 * on-demand placement.
 */
import type { ServerResponse } from 'node:http';
import { CanopyError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import { sendJson } from './http-util.js';

export type FetchNow = (contentId: string, index: number, deadline: number) => Promise<void>;

const DEFAULT_DEADLINE_MS = 2_000;
const MAX_WAIT_MS = 60_000;

export async function fetchBlockRoute(res: ServerResponse, url: URL, content: { contentId: string; manifest: Manifest }, indexText: string, fetchNow: FetchNow | undefined): Promise<void> {
  if (!fetchNow) throw new CanopyError('ERR_USAGE', 'this node does not fetch blocks (it is the root)');
  const index = Number(indexText);
  if (!/^\d+$/.test(indexText) || index >= content.manifest.blocks.length) throw new CanopyError('ERR_BLOCK_NOT_FOUND', `content ${content.contentId.slice(0, 12)} has no block ${indexText}`);
  const deadlineMs = Number(url.searchParams.get('deadlineMs') ?? DEFAULT_DEADLINE_MS);
  if (!Number.isFinite(deadlineMs) || deadlineMs < 0) throw new CanopyError('ERR_USAGE', 'deadlineMs must be a non-negative number of milliseconds');
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CanopyError('ERR_TIMEOUT', `block ${index} could not be fetched within ${MAX_WAIT_MS} ms (no holder has it?)`)), MAX_WAIT_MS);
  });
  try {
    await Promise.race([fetchNow(content.contentId, index, t0 + deadlineMs), gaveUp]);
  } finally {
    clearTimeout(timer);
  }
  sendJson(res, 200, { contentId: content.contentId, index, held: true, ms: Date.now() - t0 });
}
