/**
 * Admin API routes of the block store:
 *   GET /api/store           volumes (bytes, blocks, state), failed volumes, balance, evictions
 *   GET /api/store/metrics   the same in Prometheus text format, for the node's /metrics
 */
import type { StoreStats } from '../store/block-store.js';

export interface StoreRoutesDeps {
  stats: () => StoreStats;
}

export type StoreAnswer = { status: number; json: unknown } | { status: number; text: string };

/** The answer to a store route, or undefined when the path is not one. */
export function storeRoute(deps: StoreRoutesDeps, method: string, parts: readonly string[]): StoreAnswer | undefined {
  if (method !== 'GET' || parts[1] !== 'store') return undefined;
  if (parts.length === 2) return { status: 200, json: deps.stats() };
  if (parts.length === 3 && parts[2] === 'metrics') return { status: 200, text: formatStoreMetrics(deps.stats()) };
  return undefined;
}

const label = (v: string) => v.replace(/["\\\n]/g, '_');

export function formatStoreMetrics(s: StoreStats): string {
  const lines: string[] = [];
  const metric = (name: string, help: string, type: 'gauge' | 'counter', samples: [labels: string, value: number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples.map(([l, v]) => `${name}${l} ${v}`));
  };
  const perVolume = (pick: (v: StoreStats['volumes'][number]) => number) => s.volumes.map((v) => [`{volume="${label(v.id)}",path="${label(v.path)}"}`, pick(v)] as [string, number]);
  metric('canopy_store_volume_bytes', 'Bytes of blocks held per volume.', 'gauge', perVolume((v) => v.bytes));
  metric('canopy_store_volume_blocks', 'Blocks held per volume.', 'gauge', perVolume((v) => v.blocks));
  metric('canopy_store_volume_failed', '1 when the volume has failed (gone, read-only, I/O errors).', 'gauge', perVolume((v) => (v.state === 'failed' ? 1 : 0)));
  metric('canopy_store_balance_ratio', 'Max over min bytes per unit of weight across working volumes.', 'gauge', [['', s.balance ?? 0]]);
  metric('canopy_store_lost_blocks', 'Blocks lost with failed volumes and not yet fetched again.', 'gauge', [['', s.lostBlocks]]);
  metric('canopy_store_corrupt_blocks_total', 'Blocks found corrupt on read and dropped since start.', 'counter', [['', s.corruptBlocks]]);
  metric('canopy_store_evictions_total', 'Contents evicted to make room.', 'counter', [['', s.evictions]]);
  metric('canopy_store_evicted_bytes_total', 'Bytes freed by evictions.', 'counter', [['', s.evictedBytes]]);
  return `${lines.join('\n')}\n`;
}
