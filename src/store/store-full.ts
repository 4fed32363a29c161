/** The ERR_STORE_FULL error: why a block found no room, volume by volume, and the quota. */
import { CanopyError } from '../core/errors.js';
import { formatBytes } from '../core/sizes.js';
import type { Volume } from './volume.js';

export function fullError(volumes: readonly Volume[], length: number, tried: ReadonlySet<string>, quota: number | undefined): CanopyError {
  const used = volumes.reduce((s, v) => s + v.usedBytes, 0);
  const why = volumes.map((v) => {
    if (v.state !== 'ok' || tried.has(v.id)) return `${v.dir} ${v.state} (${v.reason})`;
    if (v.capacity !== undefined && !v.hasRoom(length)) return `${v.dir} at its capacity of ${formatBytes(v.capacity)}`;
    return `${v.dir} has room`;
  });
  const quotaText = quota === undefined ? '' : `; quota ${formatBytes(quota)}, ${formatBytes(used)} used`;
  return new CanopyError('ERR_STORE_FULL', `no room for a ${formatBytes(length)} block and nothing unpinned left to evict: ${why.join('; ')}${quotaText}`, {
    details: { length, used, quota: quota ?? null },
  });
}
