/**
 * `makeDirs(dir)` that fails instead of hanging. Node's recursive
 * mkdir (20.20 and 24.22 alike) loops for ever when a parent exists but refuses the child
 * with ENOENT, as /proc does: `canopy node --volume /proc/x` spun at 100 % CPU with an empty
 * log and never became ready. Here the levels below the nearest existing ancestor are made
 * one at a time, and the first refusal surfaces as the error it is.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Makes `dir` and its missing parents (with `mode`); returns the first directory it created, undefined if `dir` was there. */
export function makeDirs(dir: string, mode?: number): string | undefined {
  const missing: string[] = [];
  for (let at = path.resolve(dir); !existsSync(at); ) {
    missing.unshift(at);
    const up = path.dirname(at);
    if (up === at) break;
    at = up;
  }
  // There already: a directory is fine, anything else fails as mkdir would (EEXIST).
  if (missing.length === 0 && !statSync(dir).isDirectory()) mkdirSync(dir);
  for (const d of missing) {
    try {
      mkdirSync(d, mode === undefined ? undefined : { mode });
    } catch (err) {
      // Made meanwhile by another process or writer: as good as made here.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(d).isDirectory()) throw err;
    }
  }
  return missing[0];
}
