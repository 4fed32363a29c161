/**
 * A write to a volume failed: whether the error says the volume is full, read-only or broken
 * (it is set aside, and the write may try another volume), rather than something about this
 * one write. Shared by the store's writes of whole blocks and its intakes (block-intake.ts).
 */
import type { Logger } from '../core/logger.js';
import { classifyIoError, isReadOnlyError, type Volume } from './volume.js';

/** What setting a volume aside does: the store's volume set marks it read-only, or fails it. */
export interface SetAsideActions {
  readOnly(volume: Volume, reason: string): void;
  failed(volume: Volume, reason: string): void;
  log: Logger | undefined;
}

/** True when `volume` was set aside for `err` (a full one is also added to `tried`). */
export function setAside(volume: Volume, err: unknown, tried: Set<string>, act: SetAsideActions): boolean {
  const kind = classifyIoError(err);
  const message = `${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}`;
  if (kind === 'full') {
    volume.state = 'full';
    volume.reason = message;
    tried.add(volume.id);
    act.log?.warn('volume full', { volume: volume.id, path: volume.dir, reason: message });
    return true;
  }
  // Volume health (issue 24): a volume that refuses writes but still reads keeps its blocks.
  if (isReadOnlyError(err) && volume.diagnose().state !== 'failed') {
    act.readOnly(volume, message);
    return true;
  }
  if (kind === 'failed' || (kind === 'missing' && !volume.present())) {
    act.failed(volume, message);
    return true;
  }
  return false;
}
