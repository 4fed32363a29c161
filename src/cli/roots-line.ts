/**
 * The line `canopy status` prints first on a network of several roots on PostgreSQL: which
 * root leads and with which fencing number, and the standbys with when each was last seen
 * taking part in the lease (a standby not seen for several seconds is likely down).
 */
import type { LeaderView } from '../root/state/leadership.js';

export function formatRoots(v: LeaderView): string {
  const where = (r: { api?: string; peer?: string; holder: string }) => r.api ?? r.peer ?? r.holder;
  const leader = v.leader ? `leader ${where(v.leader)} (fence ${v.fence})` : 'no root leads right now';
  const standbys = (v.roots ?? []).filter((r) => r.role === 'standby').map((r) => `${where(r)} (seen ${r.seenSecondsAgo} s ago)`);
  return `roots: ${leader}; ${standbys.length === 0 ? 'no standby' : `standby ${standbys.join(', ')}`}`;
}
