/**
 * What the soak bench reads of each process and of its data directory: resident memory (with
 * the part that is anonymous memory, i.e. heap and malloc arenas, not mapped files), open
 * descriptors and sockets, the slope of a series per hour, and files nothing accounts for.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { round } from './_util.js';

export interface ProcessSample {
  rssMiB: number;
  /** Anonymous resident memory (smaps_rollup): V8 heap, malloc arenas, stacks; RSS minus mapped files. */
  anonMiB: number;
  /**
   * Resident part of the [heap] mapping: glibc malloc's main arena, where Buffers of 1 MiB
   * (the block cache, blocks in flight) land once glibc has raised its mmap threshold, and
   * where their fragmentation shows.
   */
  mallocHeapMiB: number;
  /**
   * Resident anonymous mappings other than [heap], by size: under 1 MiB (V8's heap pages are
   * 256 KiB) and 1 MiB or more (glibc's mmapped chunks, e.g. a 1 MiB Buffer above the mmap
   * threshold, its thread arenas, V8's large objects), with the number of each.
   */
  anonSmallMiB: number;
  anonSmallMaps: number;
  anonLargeMiB: number;
  anonLargeMaps: number;
  fds: number;
  sockets: number;
  /** CPU seconds (user + system) the process has used since it started (/proc/PID/stat). */
  cpuSeconds: number;
  /** Minor page faults since the process started: fresh memory the kernel had to map in. */
  minorFaults: number;
}

/** What /proc says of one process: resident memory, open descriptors, sockets among them. */
export function sampleProcess(pid: number): ProcessSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const anonKiB = Number(/^Anonymous:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    const maps = mappings(readFileSync(`/proc/${pid}/smaps`, 'utf8'));
    const fds = readdirSync(`/proc/${pid}/fd`);
    let sockets = 0;
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
      } catch {
        // Closed between the listing and the read.
      }
    }
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, in clock ticks (100 a second on Linux).
    const cpuSeconds = round((Number(fields[11]) + Number(fields[12])) / 100, 2);
    const mib = (kib: number) => round(kib / 1024, 1);
    return {
      rssMiB: mib(rssKiB),
      anonMiB: mib(anonKiB),
      mallocHeapMiB: mib(maps.heapKiB),
      anonSmallMiB: mib(maps.smallKiB),
      anonSmallMaps: maps.small,
      anonLargeMiB: mib(maps.largeKiB),
      anonLargeMaps: maps.large,
      fds: fds.length,
      sockets,
      cpuSeconds,
      minorFaults: Number(fields[7]),
    };
  } catch {
    return undefined;
  }
}

/** Resident KiB of [heap] and of the other anonymous mappings (no path) under and over 1 MiB, from /proc/PID/smaps. */
function mappings(smaps: string): { heapKiB: number; smallKiB: number; small: number; largeKiB: number; large: number } {
  const out = { heapKiB: 0, smallKiB: 0, small: 0, largeKiB: 0, large: 0 };
  let kind: 'heap' | 'small' | 'large' | 'other' = 'other';
  for (const line of smaps.split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const size = parseInt(header[2]!, 16) - parseInt(header[1]!, 16);
      const name = header[3]!;
      kind = name === '[heap]' ? 'heap' : name !== '' ? 'other' : size >= 2 ** 20 ? 'large' : 'small';
      if (kind === 'small') out.small++;
      if (kind === 'large') out.large++;
      continue;
    }
    if (kind === 'other' || !line.startsWith('Rss:')) continue;
    const kib = Number(/Rss:\s+(\d+)/.exec(line)?.[1] ?? 0);
    if (kind === 'heap') out.heapKiB += kib;
    else if (kind === 'small') out.smallKiB += kib;
    else out.largeKiB += kib;
  }
  return out;
}

/** Least-squares slope of y over t (ms), per hour; null with fewer than 3 points. */
export function slopePerHour(points: { t: number; y: number }[]): number | null {
  if (points.length < 3) return null;
  const n = points.length;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.y - my);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : round((num / den) * 3_600_000, 2);
}

/** Files on a node's volumes that nothing accounts for: temp files, and block files the index does not list. */
export function orphanFiles(dataDir: string): number {
  const volumes = path.join(dataDir, 'volumes');
  if (!existsSync(volumes)) return 0;
  const db = new Database(path.join(dataDir, 'index.db'), { readonly: true });
  let orphans = 0;
  try {
    const known = new Set((db.prepare('SELECT hash FROM blocks').all() as { hash: string }[]).map((r) => r.hash));
    for (const v of readdirSync(volumes)) {
      const dir = path.join(volumes, v);
      orphans += existsSync(path.join(dir, 'tmp')) ? readdirSync(path.join(dir, 'tmp')).length : 0;
      const blocks = path.join(dir, 'blocks');
      if (!existsSync(blocks)) continue;
      for (const shard of readdirSync(blocks)) for (const f of readdirSync(path.join(blocks, shard))) if (!known.has(f)) orphans++;
    }
  } finally {
    db.close();
  }
  return orphans;
}
