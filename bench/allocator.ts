/**
 * What an allocator setting costs and saves for the Buffers a node churns (issue 25,
 * docs/OPERATIONS.md "Resident memory"). A child Node process (bench/_buffer-churn.mjs)
 * allocates `--steps` x 2 Buffers of 1 MiB plus socket-sized and small ones, under glibc's
 * defaults (the baseline), with glibc's mmap threshold fixed at 128 KiB, and with jemalloc
 * preloaded when /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 is there (Debian libjemalloc2);
 * `--rounds` rounds, interleaved. Reports per setting CPU seconds per GiB of Buffers
 * allocated, minor page faults, RSS at six points and at the end, the [heap] mapping, and
 * the ratio to the baseline. Options: --steps 3000 --rounds 2.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, option, round, waitedChildrenCpuSeconds } from './_util.js';

const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';
const churn = path.join(path.dirname(fileURLToPath(import.meta.url)), '_buffer-churn.mjs');

interface ChurnOutput {
  rss: number[];
  mallocHeapMiB: number;
  minorFaults: number;
  allocatedMiB: number;
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const steps = Number(option(args, 'steps', '3000'));
  const rounds = Number(option(args, 'rounds', '2'));
  // undefined removes a variable this process may have (the packaged wrapper sets MALLOC_MMAP_THRESHOLD_).
  const settings: Record<string, Record<string, string | undefined>> = {
    glibcDefaults: { GLIBC_TUNABLES: '', MALLOC_MMAP_THRESHOLD_: undefined },
    glibcMmapThreshold128k: { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=131072', MALLOC_MMAP_THRESHOLD_: undefined },
    ...(existsSync(JEMALLOC) ? { jemalloc: { GLIBC_TUNABLES: '', MALLOC_MMAP_THRESHOLD_: undefined, LD_PRELOAD: JEMALLOC } } : {}),
  };
  const runs: Record<string, { cpuSeconds: number; out: ChurnOutput }[]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, env] of Object.entries(settings)) {
      const before = waitedChildrenCpuSeconds();
      const child = spawnSync(process.execPath, ['--expose-gc', churn, String(steps)], { env: { ...process.env, ...env }, encoding: 'utf8' });
      if (child.status !== 0) throw new Error(`${name}: ${child.stderr}`);
      (runs[name] ??= []).push({ cpuSeconds: waitedChildrenCpuSeconds() - before, out: JSON.parse(child.stdout) as ChurnOutput });
    }
  }
  const gib = (steps * 2) / 1024;
  const cpuPerGiB = (name: string) => round(median(runs[name]!.map((x) => x.cpuSeconds)) / gib, 2);
  const base = cpuPerGiB('glibcDefaults');
  return {
    steps,
    rounds,
    allocatedGiBPerRun: round(gib, 2),
    settings: Object.fromEntries(
      Object.keys(settings).map((name) => {
        const last = runs[name]!.at(-1)!.out;
        return [name, {
          cpuSecondsPerGiB: cpuPerGiB(name),
          cpuRatioToGlibcDefaults: round(cpuPerGiB(name) / base, 2),
          minorFaults: median(runs[name]!.map((x) => x.out.minorFaults)),
          rssMiB: last.rss,
          endRssMiB: median(runs[name]!.map((x) => x.out.rss.at(-1)!)),
          mallocHeapMiB: last.mallocHeapMiB,
        }];
      }),
    ),
  };
}
