import { CanopyError } from './errors.js';

const UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
};

/** Parses "64MiB", "1GiB", "4096", "1.5GB" into a byte count (an integer). */
export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new CanopyError('ERR_SIZE_SYNTAX', `invalid size "${text}": expected a number with an optional unit (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)`);
  }
  const bytes = Math.round(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw new CanopyError('ERR_SIZE_SYNTAX', `size "${text}" is too large`);
  return bytes;
}

/**
 * A size from the environment variable `name`: unset or empty is `fallback`; a bad value is an
 * ERR_SIZE_SYNTAX error that names the variable (read at start, so the process stops there).
 */
export function sizeFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  try {
    return parseSize(text);
  } catch (err) {
    throw new CanopyError('ERR_SIZE_SYNTAX', `${name}: ${(err as Error).message}`);
  }
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${i === 0 ? value : value.toFixed(1)} ${units[i]}`;
}

/**
 * Parses a rate into bytes per second: bits as tc writes them ("100mbit", "1gbit", "800kbit")
 * or a size per second ("12.5MB", "10MiB/s"). "0" means unlimited.
 */
export function parseRate(text: string): number {
  const bits = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)bit\s*$/i.exec(text);
  if (bits) return Math.round((Number(bits[1]) * { '': 1, k: 1e3, m: 1e6, g: 1e9 }[bits[2]!.toLowerCase() as '' | 'k' | 'm' | 'g']) / 8);
  return parseSize(text.replace(/\/s\s*$/i, ''));
}
