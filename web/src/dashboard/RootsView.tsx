/** Several roots on PostgreSQL: which one leads (and with which fencing number), and the standbys with when each last took part in the lease. */
import type { LeaderView } from '../api';

export function RootsView({ lease }: { lease: LeaderView }) {
  const where = (r: { api?: string; peer?: string; holder: string }) => r.api ?? r.peer ?? r.holder;
  const standbys = (lease.roots ?? []).filter((r) => r.role === 'standby');
  return (
    <ul class="roots" data-testid="roots">
      <li>
        {lease.leader ? (
          <>
            <strong>leader</strong> {where(lease.leader)} <span class="muted">fence {lease.fence}</span>
          </>
        ) : (
          <strong>no root leads right now</strong>
        )}
      </li>
      {standbys.map((r) => (
        <li key={r.holder}>
          standby {where(r)} <span class={r.seenSecondsAgo > 5 ? 'error' : 'muted'}>seen {r.seenSecondsAgo} s ago</span>
        </li>
      ))}
      {standbys.length === 0 && <li class="muted">no standby</li>}
    </ul>
  );
}
