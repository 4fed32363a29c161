/**
 * Which unpinned content goes first when the store needs room. Pinned contents (those the
 * node's placement says it must hold) are never candidates. Policies:
 *
 * - `lru` (default): the content whose most recent block read is oldest; reads by HTTP
 *   clients and by peers both count. Ties go to the larger content (frees more at once).
 * - `lfu`: the content with the fewest block reads per held MiB (so a big content is not
 *   kept just because it has many blocks); ties go to the least recently used.
 *
 * Evicting a content deletes only the blocks no other active content uses.
 */
import type { EvictionCandidate } from './index-db.js';

export type EvictionPolicy = 'lru' | 'lfu';
export const EVICTION_POLICIES: readonly EvictionPolicy[] = ['lru', 'lfu'];

const MIB = 2 ** 20;

export function orderVictims(candidates: readonly EvictionCandidate[], policy: EvictionPolicy): EvictionCandidate[] {
  const byRecency = (a: EvictionCandidate, b: EvictionCandidate) => a.lastAccess - b.lastAccess || b.bytes - a.bytes || a.id.localeCompare(b.id);
  if (policy === 'lru') return [...candidates].sort(byRecency);
  const density = (c: EvictionCandidate) => c.hits / Math.max(c.bytes / MIB, 1);
  return [...candidates].sort((a, b) => density(a) - density(b) || byRecency(a, b));
}
