// Transfer rates over time: for each content, bytes held across all nodes, differenced
// between successive polls and drawn as a line.
import { formatBytes, type Overview } from '../api';

export interface Sample {
  at: number;
  held: Record<string, number>;
}

const W = 640;
const H = 120;
const COLOURS = ['#2f7d4f', '#3767b0', '#b05a37', '#7a37b0', '#a08a1c'];

export function RatesView({ overview, history }: { overview: Overview; history: Sample[] }) {
  if (history.length < 2 || overview.contents.length === 0) return <p class="muted">Collecting samples…</p>;
  const series = overview.contents.map((c) => {
    const points: number[] = [];
    for (let i = 1; i < history.length; i++) {
      const a = history[i - 1]!;
      const b = history[i]!;
      const dt = (b.at - a.at) / 1000;
      points.push(dt > 0 ? Math.max(0, ((b.held[c.contentId] ?? 0) - (a.held[c.contentId] ?? 0)) / dt) : 0);
    }
    return { id: c.contentId, name: c.versions > 1 ? `${c.name} v${c.version}` : c.name, points };
  });
  const max = Math.max(1, ...series.flatMap((s) => s.points));
  const n = history.length - 1;
  return (
    <div>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" height={H} class="rates">
        {series.map((s, i) => (
          <polyline key={s.id} fill="none" stroke={COLOURS[i % COLOURS.length]} stroke-width={2} points={s.points.map((v, j) => `${(j / Math.max(1, n - 1)) * W},${H - (v / max) * (H - 10)}`).join(' ')} />
        ))}
      </svg>
      <div class="legend">
        {series.map((s, i) => (
          <span key={s.id} style={{ color: COLOURS[i % COLOURS.length] }}>
            ■ {s.name}: {formatBytes(s.points[s.points.length - 1] ?? 0)}/s
          </span>
        ))}
        <span class="muted">peak {formatBytes(max)}/s</span>
      </div>
    </div>
  );
}
