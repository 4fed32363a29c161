/**
 * Ingest speed against its limits, in one run, interleaved: Canopy ingesting a file into
 * two volumes (blocks fsynced, as the store always does) vs `cp` of the same file followed
 * by `sync` (the copy limit), and Canopy analysing and hashing only vs `openssl dgst
 * -sha256` (the hashing limit). Each Canopy run is its own process so its peak RSS is
 * measured alone. Where the time goes: hash-only also runs without hash workers, and the
 * store's write protocol runs alone for as many blocks (no read, no hash).
 * Options: --size 1GiB --rounds 3 --dir DIR (default: a temp dir).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSample } from '../src/demo/sample.js';
import { log, median, option, perGiB, round, sizeOption, timedCommand, waitedChildrenCpuSeconds } from './_util.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface ChildResult {
  seconds: number;
  /** CPU of the ingest itself (the process's start-up excluded). */
  cpuSeconds: number;
  maxRssBytes: number;
  blocks: number;
  blockSize: number;
  /** Group commits of the store and blocks in them (store modes). */
  commits?: { batches: number; blocks: number };
}

/** Runs `fn` (a spawnSync) and adds the CPU seconds of the processes it waited for to `into`. */
function charged<T>(into: number[], fn: () => T): T {
  const c0 = waitedChildrenCpuSeconds();
  const value = fn();
  into.push(waitedChildrenCpuSeconds() - c0);
  return value;
}

/**
 * One ingest in its own process (bench/_ingest-child.ts; also used by publish-dir and
 * publish-origin), with the thread pool the `canopy` command ships (bin/threadpool.cjs,
 * preloaded before tsx: 16 threads unless UV_THREADPOOL_SIZE says otherwise).
 */
export function child(args: string[], hashThreads?: number): ChildResult {
  const env = hashThreads === undefined ? process.env : { ...process.env, CANOPY_HASH_THREADS: String(hashThreads) };
  const pool = ['--require', path.join(here, '..', 'bin', 'threadpool.cjs')];
  const r = spawnSync(process.execPath, [...pool, '--import', 'tsx', path.join(here, '_ingest-child.ts'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env });
  if (r.status !== 0) throw new Error(`ingest child failed with ${r.status}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const size = sizeOption(args, 'size', '1GiB');
  const rounds = Number(option(args, 'rounds', '3'));
  const dir = mkdtempSync(path.join(option(args, 'dir', tmpdir()), 'canopy-bench-ingest-'));
  try {
    const src = path.join(dir, 'src.bin');
    log(`writing a ${size}-byte sample`);
    await writeSample(src, size, 'bench-ingest');
    const out = path.join(dir, 'out');
    const clean = () => {
      rmSync(out, { recursive: true, force: true });
      spawnSync('sync');
    };
    const cp = () => timedCommand('sh', ['-c', `mkdir -p ${out} && cp ${src} ${out}/copy && sync`]);
    const openssl = () => timedCommand('openssl', ['dgst', '-sha256', '-out', '/dev/null', src]);
    // Warm-up: page cache holds the source, fresh-memory effects are paid once for each.
    clean();
    cp();
    clean();
    child(['store', src, out]);
    clean();
    openssl();
    child(['hash', src]);
    const cpu = { canopy: [] as number[], cp: [] as number[], ingest: [] as number[] };
    const t = { canopy: [] as number[], cp: [] as number[], hash: [] as number[], hashMain: [] as number[], put: [] as number[], openssl: [] as number[], rss: [] as number[] };
    let last: ChildResult | undefined;
    for (let i = 0; i < rounds; i++) {
      clean();
      t.cp.push(charged(cpu.cp, cp));
      clean();
      last = charged(cpu.canopy, () => child(['store', src, out]));
      t.canopy.push(last.seconds);
      cpu.ingest.push(last.cpuSeconds);
      t.rss.push(last.maxRssBytes);
      clean();
      t.openssl.push(openssl());
      const h = child(['hash', src]);
      t.hash.push(h.seconds);
      t.rss.push(h.maxRssBytes);
      // Where the time goes: the same without hash workers (hashing on the main thread).
      t.hashMain.push(child(['hash', src], 0).seconds);
      // And the store's write protocol alone for as many blocks: the floor of canopySeconds.
      clean();
      t.put.push(child(['put', src, out, String(last.blockSize)]).seconds);
      log(`round ${i + 1}: canopy ${round(last.seconds)} s (cpu ${round(cpu.canopy[i]!, 2)} s), cp+sync ${round(t.cp[i]!)} s (cpu ${round(cpu.cp[i]!, 2)} s), hash-only ${round(h.seconds)} s, openssl ${round(t.openssl[i]!)} s`);
    }
    const canopySeconds = median(t.canopy);
    const cpSyncSeconds = median(t.cp);
    const hashOnlySeconds = median(t.hash);
    const opensslSeconds = median(t.openssl);
    return {
      bytes: size,
      rounds,
      blocks: last?.blocks,
      blockSize: last?.blockSize,
      canopySeconds: round(canopySeconds),
      cpSyncSeconds: round(cpSyncSeconds),
      hashOnlySeconds: round(hashOnlySeconds),
      opensslSeconds: round(opensslSeconds),
      hashOnlyMainThreadSeconds: round(median(t.hashMain)),
      storeWritesOnlySeconds: round(median(t.put)),
      // How many blocks each sync round carried (group commit), in the last ingest.
      blocksPerCommit: last?.commits ? round(last.commits.blocks / Math.max(1, last.commits.batches), 1) : undefined,
      peakRssBytes: Math.max(...t.rss),
      ratio: round(canopySeconds / cpSyncSeconds),
      // CPU of the ingest (all threads, from its start to its end) and of cp + sync; kernel
      // writeback threads are charged to neither. With the child's start-up (loading the
      // TypeScript modules, ~0.5-1 s that a running node does not pay per file): processCpuSecondsPerGiB.
      cpuSecondsPerGiB: perGiB(median(cpu.ingest), size),
      processCpuSecondsPerGiB: perGiB(median(cpu.canopy), size),
      baselineCpuSecondsPerGiB: perGiB(median(cpu.cp), size),
      hashRatio: round(hashOnlySeconds / opensslSeconds),
      canopyMBps: round(size / canopySeconds / 1e6, 1),
      cpSyncMBps: round(size / cpSyncSeconds / 1e6, 1),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
