// One stacked bar per content: of its qualified nodes, how many hold all of it (dark), part
// of it (light) and none (grey), with the counts written beside it.
import type { Convergence } from '../api';

export function ConvergenceBar({ convergence: c }: { convergence: Convergence }) {
  if (c.qualified === 0) return <span class="muted">no qualified node</span>;
  const pct = (n: number) => `${(n / c.qualified) * 100}%`;
  return (
    <div class="convergence">
      <span class="stacked" title={`${c.complete} complete, ${c.partial} partial, ${c.none} nothing, of ${c.qualified} qualified nodes`}>
        <span class="all" style={{ width: pct(c.complete) }} />
        <span class="part" style={{ width: pct(c.partial) }} />
        <span class="none" style={{ width: pct(c.none) }} />
      </span>
      <span data-testid="convergence-counts" data-qualified={c.qualified} data-complete={c.complete} data-partial={c.partial} data-none={c.none}>
        {c.complete}/{c.qualified} all · {c.partial} part · {c.none} none
      </span>
    </div>
  );
}
