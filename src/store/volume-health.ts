/**
 * What the store says when no volume can take a write: every one read-only or failed.
 * That is an I/O fault to repair (remount, replace the disk), not a full disk, so it is
 * ERR_STORE_IO with each volume's reason (the convergence view shows it as `error`), and
 * the store does not evict anything to make room that would not help.
 */
import { CanopyError } from '../core/errors.js';
import type { Volume } from './volume.js';

export function noWritableVolume(volumes: readonly Volume[]): CanopyError | undefined {
  if (volumes.some((v) => v.state === 'ok' || v.state === 'full')) return undefined;
  const why = volumes.map((v) => `${v.dir} ${v.state} (${v.reason})`).join('; ');
  return new CanopyError('ERR_STORE_IO', `no writable volume: ${why}`, { details: { volumes: volumes.map((v) => ({ path: v.dir, state: v.state, reason: v.reason })) } });
}
