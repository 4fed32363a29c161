/** Directory listing formats: `ls -l` style for LIST (what clients parse) and RFC 3659 facts for MLSD/MLST. */
import type { DirItem } from './ftp-tree.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const HALF_YEAR_MS = 182 * 24 * 3600 * 1000;

export function listLine(item: DirItem, now = Date.now()): string {
  const d = item.modified;
  const recent = Math.abs(now - d.getTime()) < HALF_YEAR_MS;
  const when = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${recent ? `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}` : ` ${d.getUTCFullYear()}`}`;
  const mode = item.kind === 'dir' ? 'dr-xr-xr-x' : '-r--r--r--';
  return `${mode} 1 canopy canopy ${String(item.size).padStart(12)} ${when} ${item.name}`;
}

export function mlsxFacts(item: DirItem): string {
  const type = item.kind === 'dir' ? 'dir' : 'file';
  const perm = item.kind === 'dir' ? 'el' : 'r';
  return `type=${type};size=${item.size};modify=${mdtm(item.modified)};perm=${perm}; ${item.name}`;
}

/** RFC 3659 time-val: YYYYMMDDHHMMSS in UTC. */
export function mdtm(d: Date): string {
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
}

const pad = (n: number) => String(n).padStart(2, '0');
