/** The store's figures for `canopy stats` and the API: per volume, totals, balance, losses, evictions. */
import type { EvictionPolicy } from './eviction.js';
import type { IndexDb } from './index-db.js';
import type { StoreStats } from './store-types.js';
import type { Volume } from './volume.js';

export function storeStats(volumes: readonly Volume[], index: IndexDb, extra: { quota: number | undefined; policy: EvictionPolicy; corruptBlocks: number }): StoreStats {
  const rows = volumes.map((v) => ({ id: v.id, path: v.dir, weight: v.weight, capacity: v.capacity ?? null, state: v.state, reason: v.reason, bytes: v.usedBytes, blocks: v.blocks }));
  const working = volumes.filter((v) => v.state !== 'failed').map((v) => v.usedBytes / v.weight);
  const min = Math.min(...working);
  return {
    volumes: rows,
    bytes: rows.reduce((s, v) => s + v.bytes, 0),
    blocks: rows.reduce((s, v) => s + v.blocks, 0),
    quota: extra.quota ?? null,
    evictionPolicy: extra.policy,
    failedVolumes: volumes.filter((v) => v.state === 'failed').map((v) => v.dir),
    balance: working.length === 0 || min === 0 ? null : Math.round((Math.max(...working) / min) * 1000) / 1000,
    lostBlocks: index.lostBlocks(),
    corruptBlocks: extra.corruptBlocks,
    evictions: Number(index.getKv('evictions') ?? 0),
    evictedBytes: Number(index.getKv('evictedBytes') ?? 0),
  };
}
