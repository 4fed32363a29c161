// The dashboard: polls the root's overview once a second and keeps a short history so
// transfer rates can be drawn; each panel is its own component.
import { useEffect, useState } from 'preact/hooks';
import { api, type Overview } from '../api';
import { TreeView } from './TreeView';
import { SpreadView } from './SpreadView';
import { RatesView, type Sample } from './RatesView';
import { VolumesView } from './VolumesView';
import { LifecycleView } from './LifecycleView';
import { HistoryPager } from './HistoryPager';
import { RootsView } from './RootsView';

const POLL_MS = 1000;
const HISTORY = 90;

export function Dashboard() {
  const [overview, setOverview] = useState<Overview | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [history, setHistory] = useState<Sample[]>([]);

  useEffect(() => {
    let stopped = false;
    const tick = async () => {
      try {
        const o = await api<Overview>('/api/overview');
        if (stopped) return;
        setOverview(o);
        setError(undefined);
        const held: Record<string, number> = {};
        for (const c of o.contents) held[c.contentId] = c.nodes.reduce((s, n) => s + n.haveBytes, 0);
        setHistory((h) => [...h, { at: o.at, held }].slice(-HISTORY));
      } catch (err) {
        if (!stopped) setError((err as Error).message);
      }
    };
    void tick();
    const timer = setInterval(tick, POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);

  if (!overview) return <p class="muted">{error ? `Cannot reach the root: ${error}` : 'Loading…'}</p>;
  return (
    <div class="dashboard">
      {error && <p class="error">Last refresh failed: {error}</p>}
      {overview.root.leader && (
        <section class="panel wide">
          <h2>Roots <span class="muted">several roots on PostgreSQL: one leads, the others stand by</span></h2>
          <RootsView lease={overview.root.leader} />
        </section>
      )}
      <section class="panel wide" data-testid="tree">
        <h2>Control tree <span class="muted">{overview.nodes.length + 1} nodes</span></h2>
        <TreeView overview={overview} />
      </section>
      <section class="panel wide" data-testid="spread">
        <h2>Spread of each content</h2>
        <SpreadView overview={overview} />
      </section>
      <section class="panel wide" data-testid="lifecycle">
        <h2>Versions and convergence <span class="muted">qualified nodes holding all / part / none of each content</span></h2>
        <LifecycleView overview={overview} />
        <HistoryPager overview={overview} />
      </section>
      <section class="panel">
        <h2>Transfer rate <span class="muted">bytes stored across the network per second</span></h2>
        <RatesView overview={overview} history={history} />
      </section>
      <section class="panel" data-testid="volumes">
        <h2>Volumes</h2>
        <VolumesView overview={overview} />
      </section>
    </div>
  );
}
