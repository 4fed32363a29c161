/**
 * The `--volume` option: `DIR[,weight=W][,capacity=SIZE]`. A directory that itself contains
 * a comma cannot be given on the command line (use the config file when it lands); every
 * problem is reported naming the option and the part that is wrong.
 */
import { CanopyError } from '../core/errors.js';
import { parseSize } from '../core/sizes.js';

export interface VolumeConfig {
  readonly path: string;
  /** Share of new blocks relative to the other volumes (default 1). */
  readonly weight?: number;
  /** Most bytes of blocks this volume may hold (default: until the disk is full). */
  readonly capacity?: number;
}

const MAX_WEIGHT = 1000;

export function parseVolumeSpec(text: string): VolumeConfig {
  const [dir, ...options] = text.split(',');
  if (!dir || dir.trim() === '') throw new CanopyError('ERR_USAGE', `--volume "${text}": expected DIR[,weight=W][,capacity=SIZE]`);
  let weight: number | undefined;
  let capacity: number | undefined;
  for (const option of options) {
    const eq = option.indexOf('=');
    const key = eq < 0 ? option : option.slice(0, eq);
    const value = eq < 0 ? '' : option.slice(eq + 1);
    if (key === 'weight') {
      weight = Number(value);
      if (value.trim() === '' || !Number.isFinite(weight) || weight <= 0 || weight > MAX_WEIGHT) {
        throw new CanopyError('ERR_USAGE', `--volume "${text}": weight "${value}" must be a number above 0 and at most ${MAX_WEIGHT}`);
      }
    } else if (key === 'capacity') {
      try {
        capacity = parseSize(value);
      } catch {
        throw new CanopyError('ERR_USAGE', `--volume "${text}": capacity "${value}" is not a size (e.g. 500GiB)`);
      }
      if (capacity <= 0) throw new CanopyError('ERR_USAGE', `--volume "${text}": capacity must be above 0`);
    } else {
      throw new CanopyError('ERR_USAGE', `--volume "${text}": unknown option "${key}" (expected weight=W or capacity=SIZE)`);
    }
  }
  return { path: dir, ...(weight === undefined ? {} : { weight }), ...(capacity === undefined ? {} : { capacity }) };
}
