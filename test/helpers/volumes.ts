/**
 * Real file systems for store tests (root only): small tmpfs mounts to fill up or turn
 * read-only, and ext4 on a loop device that can be shut down so every I/O returns EIO.
 * Everything mounted here is unmounted by `cleanup()`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

export const isRoot = process.getuid?.() === 0;

export class Mounts {
  private readonly mounted: string[] = [];
  private readonly images: string[] = [];

  tmpfs(dir: string, size: string): string {
    mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
    this.mounted.push(dir);
    return dir;
  }

  ext4(dir: string, image: string, sizeMiB: number): string {
    mkdirSync(dir, { recursive: true });
    execFileSync('truncate', ['-s', `${sizeMiB}M`, image]);
    execFileSync('mkfs.ext4', ['-q', '-F', image]);
    execFileSync('mount', ['-o', 'loop', image, dir]);
    this.images.push(image);
    this.mounted.push(dir);
    return dir;
  }

  /**
   * The kernel refuses to remount read-only while a file on it is open for writing (EBUSY):
   * a node may be writing a block at that moment, so try again for a few seconds.
   */
  readOnly(dir: string): void {
    for (let attempt = 0; ; attempt++) {
      try {
        execFileSync('mount', ['-o', 'remount,ro', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
        return;
      } catch (error) {
        if (attempt >= 50 || !String((error as { stderr?: Buffer }).stderr ?? '').includes('busy')) throw error;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      }
    }
  }

  readWrite(dir: string): void {
    execFileSync('mount', ['-o', 'remount,rw', dir]);
  }

  /** Turns a bind mount read-only or writable again (only that mount point, not the file system under it). */
  bindReadOnly(dir: string, readOnly: boolean): void {
    execFileSync('mount', ['-o', `remount,bind,${readOnly ? 'ro' : 'rw'}`, dir]);
  }

  /** A bind mount of `source` on `dir` (see bindReadOnly). */
  bind(source: string, dir: string): string {
    mkdirSync(source, { recursive: true });
    mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['--bind', source, dir]);
    this.mounted.push(dir);
    return dir;
  }

  /** Shuts an ext4 file system down as after a fatal error: from now on every I/O is EIO. */
  ioErrors(dir: string): void {
    execFileSync('xfs_io', ['-x', '-c', 'shutdown', dir]);
  }

  cleanup(): void {
    for (const dir of this.mounted.reverse()) {
      try {
        execFileSync('umount', ['-l', dir]);
      } catch {
        // Already gone.
      }
    }
    for (const image of this.images) rmSync(image, { force: true });
  }
}

/**
 * Checks every block file on a volume: it must hash to its name, whatever happened to the
 * process that wrote it. Returns how many there are.
 */
export function checkBlockFiles(volume: string): number {
  const blocks = path.join(volume, 'blocks');
  if (!existsSync(blocks)) return 0;
  let n = 0;
  for (const shard of readdirSync(blocks)) {
    for (const name of readdirSync(path.join(blocks, shard))) {
      const actual = createHash('sha256').update(readFileSync(path.join(blocks, shard, name))).digest('hex');
      if (actual !== name) throw new Error(`${volume}: block file ${name} holds bytes hashing to ${actual}`);
      n++;
    }
  }
  return n;
}

/** The packs of small blocks on a volume (store/pack-write.ts). */
export function packFiles(volume: string): string[] {
  const packs = path.join(volume, 'packs');
  return existsSync(packs) ? readdirSync(packs) : [];
}

export function tmpFiles(volume: string): string[] {
  const tmp = path.join(volume, 'tmp');
  return existsSync(tmp) ? readdirSync(tmp) : [];
}
