// A heat map of which nodes hold how much of each content: one row per content, one cell
// per node, darker for more held; nodes outside the criteria are hatched.
import { formatBytes, type Overview } from '../api';

export function SpreadView({ overview }: { overview: Overview }) {
  if (overview.contents.length === 0) return <p class="muted">Nothing published yet. <a href="/publish">Publish a file</a>.</p>;
  const names = overview.nodes.map((n) => n.name);
  const uploads = new Map(overview.uploads.map((u) => [u.contentId, u]));
  return (
    <table class="heatmap">
      <thead>
        <tr>
          <th>content</th>
          <th>origin</th>
          {names.map((n) => (
            <th key={n}>{n}</th>
          ))}
          <th>complete</th>
        </tr>
      </thead>
      <tbody>
        {overview.contents.map((c) => {
          const up = uploads.get(c.contentId);
          const qualified = c.nodes.filter((n) => n.qualified);
          const done = qualified.filter((n) => n.complete).length;
          const originFrac = up ? (up.size === 0 ? 1 : up.verifiedBytes / up.size) : 1;
          return (
            <tr key={c.contentId} data-content={c.name}>
              <td title={c.contentId}>
                <strong>{c.name}</strong> <span class="muted">v{c.version}</span> {c.state !== 'live' && <span class={`state ${c.state}`}>{c.state}</span>}
                <div class="muted">
                  {formatBytes(c.size)} · {c.criteria}
                </div>
              </td>
              <td class="cell" style={{ background: heat(originFrac) }} title={`origin: ${(originFrac * 100).toFixed(0)}% uploaded and verified`}>
                {up && !up.complete ? `${(originFrac * 100).toFixed(0)}%` : '✓'}
              </td>
              {overview.nodes.map((node) => {
                const s = c.nodes.find((n) => n.nodeId === node.nodeId);
                const frac = s && c.size > 0 ? s.haveBytes / c.size : s?.complete ? 1 : 0;
                const label = !s?.qualified ? '–' : `${(frac * 100).toFixed(0)}%`;
                return (
                  <td key={node.nodeId} class={`cell ${s?.qualified ? '' : 'unqualified'}`} data-node={node.name} data-fraction={frac.toFixed(3)} style={s?.qualified ? { background: heat(frac) } : {}} title={`${node.name}: ${s ? formatBytes(s.haveBytes) : '0 B'} of ${formatBytes(c.size)}${s?.qualified ? '' : ' (not qualified)'}`}>
                    {label}
                  </td>
                );
              })}
              <td data-testid="complete-count">
                {done}/{qualified.length}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function heat(frac: number): string {
  const f = Math.max(0, Math.min(1, frac));
  return `hsl(145, 55%, ${92 - f * 55}%)`;
}
