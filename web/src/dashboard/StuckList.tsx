// The qualified nodes that are not getting a content, each with the reason the node reported
// (refused, no-space, no-peer, window, error) or the root inferred (offline, stalled) and
// its detail, e.g. when a closed prefetch window opens.
import type { StuckNode } from '../api';

export function StuckList({ stuck }: { stuck: StuckNode[] }) {
  if (stuck.length === 0) return <span class="muted">none</span>;
  return (
    <ul class="stuck" data-testid="stuck">
      {stuck.map((s) => (
        <li key={s.nodeId} data-node={s.name} data-reason={s.reason}>
          <strong>{s.name}</strong> <span class={`reason ${s.reason}`}>{s.reason}</span>
          {s.detail && <span class="muted"> {s.detail}</span>}
        </li>
      ))}
    </ul>
  );
}
