/** Gauges of one node read at scrape time: store usage per volume, holdings, and on the root the tree and distribution. */
import type { MetricFamily } from './metrics.js';
import type { StoreStats } from '../store/block-store.js';

export interface ContentSpread {
  contentId: string;
  name: string;
  size: number;
  nodes: { qualified: boolean; haveBytes: number; complete: boolean }[];
}

/** What the gauges read of the store's stats (StoreStats has more: states, evictions...). */
export interface StoreUsage {
  volumes: (Pick<StoreStats['volumes'][number], 'id' | 'path' | 'bytes' | 'blocks'> & { state?: string })[];
}

export interface GaugeSources {
  store: () => StoreUsage;
  /** Contents known here and the bytes this node holds of each. */
  holdings: () => { contentId: string; name: string; haveBytes: number; size: number }[];
  /** Root only: members of the tree and each content's spread. */
  treeSize?: () => number;
  spread?: () => ContentSpread[];
}

export function nodeGauges(src: GaugeSources): MetricFamily[] {
  const stats = src.store();
  const out: MetricFamily[] = [
    { name: 'canopy_store_bytes', help: 'Bytes of blocks stored, per volume.', type: 'gauge', samples: stats.volumes.map((v) => ({ labels: { volume: v.id, path: v.path }, value: v.bytes })) },
    { name: 'canopy_store_blocks', help: 'Blocks stored, per volume.', type: 'gauge', samples: stats.volumes.map((v) => ({ labels: { volume: v.id, path: v.path }, value: v.blocks })) },
    { name: 'canopy_store_volume_failed', help: '1 when the volume has failed (gone, I/O errors): its blocks count as lost.', type: 'gauge', samples: stats.volumes.map((v) => ({ labels: { volume: v.id, path: v.path }, value: v.state === 'failed' ? 1 : 0 })) },
    { name: 'canopy_store_volume_read_only', help: '1 when the volume refuses writes (EROFS): its blocks are still served.', type: 'gauge', samples: stats.volumes.map((v) => ({ labels: { volume: v.id, path: v.path }, value: v.state === 'read-only' ? 1 : 0 })) },
    { name: 'canopy_content_held_bytes', help: 'Bytes of each content this node holds.', type: 'gauge', samples: src.holdings().map((h) => ({ labels: { content: h.contentId, name: h.name }, value: h.haveBytes })) },
  ];
  if (src.treeSize) out.push({ name: 'canopy_tree_nodes', help: 'Nodes in the control tree, the root included.', type: 'gauge', samples: [{ labels: {}, value: src.treeSize() }] });
  if (src.spread) {
    const spread = src.spread();
    const progress = spread.map((c) => {
      const q = c.nodes.filter((n) => n.qualified);
      const want = q.length * c.size;
      return { labels: { content: c.contentId, name: c.name }, value: want === 0 ? 1 : q.reduce((s, n) => s + Math.min(n.haveBytes, c.size), 0) / want };
    });
    out.push(
      { name: 'canopy_distribution_progress_ratio', help: 'Share of the bytes qualified nodes should hold that they do hold (1 = done).', type: 'gauge', samples: progress },
      { name: 'canopy_distribution_qualified_nodes', help: 'Members that meet the content criteria.', type: 'gauge', samples: spread.map((c) => ({ labels: { content: c.contentId, name: c.name }, value: c.nodes.filter((n) => n.qualified).length })) },
      { name: 'canopy_distribution_complete_nodes', help: 'Qualified members that hold all of the content.', type: 'gauge', samples: spread.map((c) => ({ labels: { content: c.contentId, name: c.name }, value: c.nodes.filter((n) => n.qualified && n.complete).length })) },
    );
  }
  return out;
}
