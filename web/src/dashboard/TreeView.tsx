// The control tree drawn with d3-hierarchy's tidy tree layout: one circle per node,
// coloured by health, labelled with its name and attributes; a node with children also
// shows its rollup, the union of the attributes of its whole subtree (what routing by
// criteria looks at).
import { stratify, tree } from 'd3-hierarchy';
import { formatAttrs, type Overview } from '../api';

interface TreeDatum {
  id: string;
  parent: string | null;
  name: string;
  attrs: Record<string, string>;
  health: string;
}

const NODE_W = 170;
const NODE_H = 100;

/** key → values seen anywhere in the subtree, e.g. region=eu|us tier=edge. */
export function rollup(attrsList: Record<string, string>[]): string {
  const seen = new Map<string, Set<string>>();
  for (const attrs of attrsList) for (const [k, v] of Object.entries(attrs)) (seen.get(k) ?? seen.set(k, new Set()).get(k)!).add(v);
  return [...seen.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, vs]) => {
      const values = [...vs].filter((v) => v !== '').sort();
      return values.length === 0 ? k : `${k}=${values.join('|')}`;
    })
    .join(' ');
}

export function TreeView({ overview }: { overview: Overview }) {
  const data: TreeDatum[] = [
    { id: overview.root.nodeId, parent: null, name: overview.root.name, attrs: overview.root.attrs, health: 'root' },
    ...overview.nodes.map((n) => ({ id: n.nodeId, parent: n.parent, name: n.name, attrs: n.attrs, health: n.health })),
  ];
  let root;
  try {
    root = stratify<TreeDatum>()
      .id((d) => d.id)
      .parentId((d) => d.parent)(data);
  } catch (err) {
    return <p class="error">Cannot draw the tree: {(err as Error).message}</p>;
  }
  tree<TreeDatum>().nodeSize([NODE_W, NODE_H])(root);
  const nodes = root.descendants();
  const xs = nodes.map((n) => n.x ?? 0);
  const minX = Math.min(...xs) - NODE_W / 2;
  const width = Math.max(...xs) - minX + NODE_W / 2;
  const height = (root.height + 1) * NODE_H;
  return (
    <svg class="tree" viewBox={`${minX} -30 ${width} ${height}`} width="100%" height={Math.min(height + 10, 420)}>
      {root.links().map((l) => (
        <path key={`${l.source.id}-${l.target.id}`} class="link" d={`M${l.source.x},${l.source.y} C${l.source.x},${((l.source.y ?? 0) + (l.target.y ?? 0)) / 2} ${l.target.x},${((l.source.y ?? 0) + (l.target.y ?? 0)) / 2} ${l.target.x},${l.target.y}`} />
      ))}
      {nodes.map((n) => (
        <g key={n.id} transform={`translate(${n.x},${n.y})`} class={`tree-node ${n.data.health}`} data-node={n.data.name}>
          <circle r={9} />
          <text y={-14} text-anchor="middle" class="name">
            {n.data.name}
          </text>
          {Object.keys(n.data.attrs).length > 0 && (
            <text y={24} text-anchor="middle" class="attrs">
              {formatAttrs(n.data.attrs)}
            </text>
          )}
          {n.children && (
            <text y={n.data.parent === null ? 26 : 38} text-anchor="middle" class="rollup" data-testid="rollup">
              rollup: {rollup(n.descendants().map((d) => d.data.attrs)) || '—'}
            </text>
          )}
        </g>
      ))}
    </svg>
  );
}
