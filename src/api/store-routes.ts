/**
 * Admin API routes of the block store:
 *   GET /api/store     volumes (bytes, blocks, state), failed volumes, balance, evictions
 */
import type { StoreStats } from '../store/block-store.js';

export interface StoreRoutesDeps {
  stats: () => StoreStats;
}

/** The answer to a store route, or undefined when the path is not one. */
export function storeRoute(deps: StoreRoutesDeps, method: string, parts: readonly string[]): { status: number; body: unknown } | undefined {
  if (method === 'GET' && parts.length === 2 && parts[1] === 'store') return { status: 200, body: deps.stats() };
  return undefined;
}
