/**
 * Admin API routes of the block store:
 *   GET /api/store           volumes (bytes, blocks, state), failed volumes, balance, evictions
 *   GET /api/store/metrics   the same in Prometheus text format
 *   POST /api/store/recheck  look at every volume now (failed and read-only ones too), as SIGHUP does
 */
import type { StoreStats, VolumeStats } from '../store/block-store.js';
import { obj, str } from './schemas.js';
import type { Route } from './router.js';

export interface StoreRoutesDeps {
  stats: () => StoreStats;
  recheck?: () => VolumeStats[];
}

export function storeRoutes(deps: StoreRoutesDeps): Route[] {
  const tag = 'store';
  return [
    { method: 'GET', path: '/api/store', tag, summary: 'Block store: bytes and blocks per volume, volume states, failed volumes, balance, lost/corrupt blocks, evictions', handler: () => deps.stats() },
    {
      method: 'GET',
      path: '/api/store/metrics',
      tag,
      summary: 'The block store figures in Prometheus text format',
      handler: ({ res }) => {
        const text = formatStoreMetrics(deps.stats());
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
        res.end(text);
      },
    },
    ...(deps.recheck
      ? [
          {
            method: 'POST',
            path: '/api/store/recheck',
            tag,
            summary: 'Look at every volume now: a read-only or failed volume that is healthy again returns to service (as SIGHUP does)',
            response: obj({ volumes: { type: 'array', items: obj({ id: str, path: str, state: str, reason: str }) } }),
            handler: () => ({ volumes: deps.recheck!() }),
          } satisfies Route,
        ]
      : []),
  ];
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
  metric('canopy_store_volume_failed', '1 when the volume has failed (gone, I/O errors): its blocks count as lost.', 'gauge', perVolume((v) => (v.state === 'failed' ? 1 : 0)));
  metric('canopy_store_volume_read_only', '1 when the volume refuses writes (EROFS): its blocks are still served.', 'gauge', perVolume((v) => (v.state === 'read-only' ? 1 : 0)));
  metric('canopy_store_balance_ratio', 'Max over min bytes per unit of weight across working volumes.', 'gauge', [['', s.balance ?? 0]]);
  metric('canopy_store_lost_blocks', 'Blocks lost with failed volumes and not yet fetched again.', 'gauge', [['', s.lostBlocks]]);
  metric('canopy_store_corrupt_blocks_total', 'Blocks found corrupt on read and dropped since start.', 'counter', [['', s.corruptBlocks]]);
  metric('canopy_store_evictions_total', 'Contents evicted to make room.', 'counter', [['', s.evictions]]);
  metric('canopy_store_evicted_bytes_total', 'Bytes freed by evictions.', 'counter', [['', s.evictedBytes]]);
  return `${lines.join('\n')}\n`;
}
