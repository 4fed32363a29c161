/**
 * A content's placement says how much each qualified node keeps: `full` (every block),
 * `prefix:<percent>` (the blocks that start within the first percent of the bytes, so
 * playback starts from local disk) or `on-demand` (nothing ahead of time; blocks come when
 * a client asks). The swarm prefetches the wanted blocks; on-demand reads fetch the rest.
 */
import { CanopyError } from './errors.js';

export type PlacementPolicy = { kind: 'full' } | { kind: 'on-demand' } | { kind: 'prefix'; percent: number };

const PREFIX = /^prefix:(\d{1,3})$/;

export function parsePlacement(text: string): PlacementPolicy {
  if (text === 'full') return { kind: 'full' };
  if (text === 'on-demand') return { kind: 'on-demand' };
  const m = PREFIX.exec(text);
  const percent = m ? Number(m[1]) : NaN;
  if (!(percent >= 1 && percent <= 100)) throw new CanopyError('ERR_USAGE', `placement "${text}" must be full, on-demand or prefix:<1..100>`);
  return { kind: 'prefix', percent };
}

export function isValidPlacement(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  try {
    parsePlacement(text);
    return true;
  } catch {
    return false;
  }
}

/** Whether block `offset` is one a node prefetches under this placement. */
export function wantsBlock(policy: PlacementPolicy, offset: number, size: number): boolean {
  switch (policy.kind) {
    case 'full':
      return true;
    case 'on-demand':
      return false;
    case 'prefix':
      return offset < (size * policy.percent) / 100 || offset === 0;
  }
}
