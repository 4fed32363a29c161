// The numbers behind a convergence bar: bytes the qualified nodes still need, the fleet's
// current rate and the ETA it gives, and the bytes this version really moved (against the
// bytes it changed since the previous version: what an ideal update moves).
import { formatBytes, formatSeconds, type ContentView } from '../api';

export function Remaining({ content: c }: { content: ContentView }) {
  // A content out of service is being freed, not fetched: nothing remains to move.
  if (c.state !== 'live') return <span class="muted">—</span>;
  return <span data-testid="remaining" data-bytes={c.convergence.remainingBytes}>{formatBytes(c.convergence.remainingBytes)}</span>;
}

export function RateEta({ content: c }: { content: ContentView }) {
  const cv = c.convergence;
  if (c.state !== 'live') return <span class="muted">out of service</span>;
  if (cv.converged) return <span data-testid="eta">converged</span>;
  return (
    <span data-testid="eta">
      {formatBytes(cv.rateBps)}/s · {cv.etaSeconds === null ? <span class="muted">ETA unknown (nothing moving)</span> : `ETA ${formatSeconds(cv.etaSeconds)}`}
    </span>
  );
}

export function Moved({ content: c }: { content: ContentView }) {
  // Against a full copy on every qualified node: what shipping this version without block reuse would move.
  const full = c.storedBytes * c.convergence.qualified;
  return (
    <span data-testid="moved" data-bytes={c.movedBytes} title="bytes the nodes fetched from peers for this version">
      {formatBytes(c.movedBytes)}
      {full > 0 && c.movedBytes > 0 && <span class="muted"> ({((100 * c.movedBytes) / full).toFixed(1)} % of {c.convergence.qualified} full copies)</span>}
      {c.previous && <div class="muted">changed {formatBytes(c.changedBytes)} since v{c.version - 1}</div>}
    </span>
  );
}
