/** Small files that hold keys and security state: written atomically, private ones with mode 0600. */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { makeDirs } from '../store/make-dirs.js';

export function writeFileAtomic(file: string, text: string, mode = 0o644): void {
  makeDirs(path.dirname(file), 0o700);
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

export function writeSecret(file: string, text: string): void {
  writeFileAtomic(file, text, 0o600);
}

export function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** A state document kept as one JSON file, rewritten atomically on every save (authority, publisher list). */
export function jsonFileStore<T>(file: string, mode?: number): { load(): T | undefined; save(doc: T): void } {
  return {
    load: () => {
      const text = readIfExists(file);
      return text ? (JSON.parse(text) as T) : undefined;
    },
    save: (doc) => writeFileAtomic(file, `${JSON.stringify(doc)}\n`, mode),
  };
}
