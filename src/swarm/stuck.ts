/**
 * Why a node cannot make progress on a content, as the convergence view shows it: refused
 * by holders, no room, no reachable peer, the content's prefetch window is closed, or any
 * other error. Pure.
 */
import { isCanopyError } from '../core/errors.js';

/** Why a node cannot make progress on a content: shown in the convergence view. */
export type StuckReason = 'refused' | 'no-space' | 'no-peer' | 'error' | 'window';
export interface Stuck {
  reason: StuckReason;
  detail: string;
}

/** Classifies a failed block fetch. */
export function stuckReason(err: unknown): StuckReason {
  if (isCanopyError(err, 'ERR_NOT_AUTHORISED')) return 'refused';
  if (isCanopyError(err, 'ERR_STORE_FULL')) return 'no-space';
  // The holders named by the root cannot be reached (down, partitioned): no peer to fetch from.
  if (isCanopyError(err, 'ERR_UNREACHABLE') || isCanopyError(err, 'ERR_CONNECTION_CLOSED')) return 'no-peer';
  const cause = (err as { cause?: { code?: string } } | null)?.cause;
  if (cause?.code === 'ENOSPC' || cause?.code === 'EDQUOT') return 'no-space';
  return 'error';
}
