// Volumes per node and their balance: one bar per volume, scaled to the node's fullest
// volume, so an unbalanced node shows bars of different lengths.
import { formatBytes, type NodeView, type Overview } from '../api';

export function VolumesView({ overview }: { overview: Overview }) {
  const rows: { name: string; store: NodeView['store']; health: string }[] = [
    { name: `${overview.root.name} (root)`, store: overview.root.store, health: 'up' },
    ...overview.nodes.map((n) => ({ name: n.name, store: n.store, health: n.health })),
  ];
  return (
    <div class="volumes">
      {rows.map((r) => {
        const vols = r.store?.volumes ?? [];
        const max = Math.max(1, ...vols.map((v) => v.bytes));
        return (
          <div key={r.name} class="volume-node">
            <div class="volume-title">
              <strong>{r.name}</strong> <span class="muted">{r.store ? `${formatBytes(r.store.bytes)} in ${r.store.blocks} blocks` : r.health}</span>
            </div>
            {vols.map((v) => (
              <div key={v.id} class="volume" title={v.path}>
                <span class="vid">{v.id}</span>
                <span class="bar">
                  <span style={{ width: `${(v.bytes / max) * 100}%` }} />
                </span>
                <span class="muted">{formatBytes(v.bytes)}</span>
              </div>
            ))}
          </div>
        );
      })}
    </div>
  );
}
