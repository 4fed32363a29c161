/** Gauges of one node read at scrape time: store usage per volume, holdings, and on the root the tree and distribution. */
import { X509Certificate } from 'node:crypto';
import type { MetricFamily } from './metrics.js';
import type { StoreStats } from '../store/block-store.js';

export interface ContentSpread {
  contentId: string;
  name: string;
  size: number;
  nodes: { qualified: boolean; haveBytes: number; complete: boolean; stuck?: string | null }[];
}

/** What the gauges read of the store's stats (StoreStats has more: states, evictions...). */
export interface StoreUsage {
  volumes: (Pick<StoreStats['volumes'][number], 'id' | 'path' | 'bytes' | 'blocks'> & { state?: string })[];
}

export interface GaugeSources {
  store: () => StoreUsage;
  /** Live contents and the bytes this node holds of each (shared blocks counted once). */
  holdings: () => { contentId: string; name: string; haveBytes: number; size: number }[];
  /** Withdrawn or expired contents of which this node still holds bytes no live content uses. */
  withdrawnHeld?: () => { contentId: string; name: string; haveBytes: number }[];
  /** PEM certificates whose end of validity is watched (this node's, the cluster CA's). */
  certificates?: () => { cert: string; pem: string }[];
  /** Root only: members of the tree and each content's spread. */
  treeSize?: () => number;
  spread?: () => ContentSpread[];
}

export function nodeGauges(src: GaugeSources): MetricFamily[] {
  const stats = src.store();
  const holdings = src.holdings();
  const out: MetricFamily[] = [
    { name: 'canopy_store_bytes', help: 'Bytes of blocks stored, per volume.', type: 'gauge', samples: stats.volumes.map((v) => ({ labels: { volume: v.id, path: v.path }, value: v.bytes })) },
    { name: 'canopy_store_blocks', help: 'Blocks stored, per volume.', type: 'gauge', samples: stats.volumes.map((v) => ({ labels: { volume: v.id, path: v.path }, value: v.blocks })) },
    { name: 'canopy_store_volume_failed', help: '1 when the volume has failed (gone, I/O errors): its blocks count as lost.', type: 'gauge', samples: stats.volumes.map((v) => ({ labels: { volume: v.id, path: v.path }, value: v.state === 'failed' ? 1 : 0 })) },
    { name: 'canopy_store_volume_read_only', help: '1 when the volume refuses writes (EROFS): its blocks are still served.', type: 'gauge', samples: stats.volumes.map((v) => ({ labels: { volume: v.id, path: v.path }, value: v.state === 'read-only' ? 1 : 0 })) },
    { name: 'canopy_content_held_bytes', help: 'Bytes of each content this node holds.', type: 'gauge', samples: holdings.map((h) => ({ labels: { content: h.contentId, name: h.name }, value: h.haveBytes })) },
    // Blocks of a withdrawn or expired content are deleted within seconds: bytes left here mean the withdrawal is not applied.
    { name: 'canopy_withdrawn_held_bytes', help: 'Bytes still held of contents that are withdrawn or expired.', type: 'gauge', samples: (src.withdrawnHeld?.() ?? []).map((h) => ({ labels: { content: h.contentId, name: h.name }, value: h.haveBytes })) },
  ];
  if (src.certificates) {
    const samples = src.certificates().map((c) => ({ labels: { cert: c.cert }, value: Math.floor(Date.parse(new X509Certificate(c.pem).validTo) / 1000) }));
    out.push({ name: 'canopy_certificate_expiry_timestamp_seconds', help: 'End of validity of this node certificate and of the cluster CA (Unix seconds).', type: 'gauge', samples });
  }
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
      { name: 'canopy_distribution_stuck_nodes', help: 'Qualified members that report being stuck on the content (no holder, refused, offline...).', type: 'gauge', samples: spread.map((c) => ({ labels: { content: c.contentId, name: c.name }, value: c.nodes.filter((n) => n.qualified && !n.complete && n.stuck).length })) },
      { name: 'canopy_distribution_complete_nodes', help: 'Qualified members that hold all of the content.', type: 'gauge', samples: spread.map((c) => ({ labels: { content: c.contentId, name: c.name }, value: c.nodes.filter((n) => n.qualified && n.complete).length })) },
    );
  }
  return out;
}
