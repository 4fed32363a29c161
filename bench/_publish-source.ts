/**
 * Shared by `publish-dir` and `publish-origin`: runs the Canopy ingest of a source (a
 * directory or an HTTP origin) in its own process into a two-volume store (blocks fsynced,
 * as the root stores an upload) and a baseline shell command, interleaved, `rounds` times;
 * reports medians, the ratio, CPU seconds per GiB of each (children's CPU from wait4) and
 * the ingest's peak RSS.
 *
 * The issue's baselines end with `sync`, which also flushes whatever other processes wrote
 * meanwhile: on a shared machine that charged the baseline with others' writes (Session 8:
 * its CPU 2.84 s/GiB against 0.46 when quiet). `ownSync`, when given, is the same baseline
 * made durable by fsyncing only its own files and directories (coreutils `sync FILE...`),
 * run interleaved too and reported beside it (ownSyncBaselineSeconds, ownSyncRatio): others'
 * writes cannot reach it, but one fsync per file costs more than one `sync` on a quiet
 * machine (100 files: 0.89 s against 0.29 s), so it is context, not the goal's baseline.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { child } from './ingest.js';
import { log, median, perGiB, round, timedCommand, waitedChildrenCpuSeconds } from './_util.js';

export function compareIngest(mode: 'store-dir' | 'store-origin', source: string, bytes: number, out: string, baseline: string, rounds: number, ownSync?: string): Record<string, unknown> {
  const clean = () => {
    rmSync(out, { recursive: true, force: true });
    spawnSync('sync');
  };
  const cpu = { canopy: [] as number[], ingest: [] as number[], baseline: [] as number[] };
  const t = { canopy: [] as number[], baseline: [] as number[], own: [] as number[], rss: [] as number[] };
  let blocks = 0;
  for (let i = 0; i <= rounds; i++) {
    clean();
    let c0 = waitedChildrenCpuSeconds();
    const base = timedCommand('sh', ['-c', baseline]);
    const baseCpu = waitedChildrenCpuSeconds() - c0;
    clean();
    const own = ownSync === undefined ? NaN : timedCommand('sh', ['-c', ownSync]);
    clean();
    c0 = waitedChildrenCpuSeconds();
    const c = child([mode, source, out]);
    const canopyCpu = waitedChildrenCpuSeconds() - c0;
    blocks = c.blocks;
    // Round 0 warms the page cache and both programs; it is not counted.
    if (i === 0) continue;
    t.baseline.push(base);
    t.own.push(own);
    cpu.baseline.push(baseCpu);
    t.canopy.push(c.seconds);
    cpu.ingest.push(c.cpuSeconds);
    cpu.canopy.push(canopyCpu);
    t.rss.push(c.maxRssBytes);
    log(`round ${i}: canopy ${round(c.seconds)} s (cpu ${round(c.cpuSeconds, 2)} s), baseline ${round(base)} s (cpu ${round(baseCpu, 2)} s)${ownSync === undefined ? '' : `, own-sync baseline ${round(own)} s`}`);
  }
  clean();
  const canopySeconds = median(t.canopy);
  const baselineSeconds = median(t.baseline);
  return {
    bytes,
    rounds,
    blocks,
    baseline,
    canopySeconds: round(canopySeconds),
    baselineSeconds: round(baselineSeconds),
    ratio: round(canopySeconds / baselineSeconds),
    ...(ownSync === undefined ? {} : { ownSyncBaseline: ownSync, ownSyncBaselineSeconds: round(median(t.own)), ownSyncRatio: round(canopySeconds / median(t.own)) }),
    canopyMBps: round(bytes / canopySeconds / 1e6, 1),
    baselineMBps: round(bytes / baselineSeconds / 1e6, 1),
    cpuSecondsPerGiB: perGiB(median(cpu.ingest), bytes),
    processCpuSecondsPerGiB: perGiB(median(cpu.canopy), bytes),
    baselineCpuSecondsPerGiB: perGiB(median(cpu.baseline), bytes),
    peakRssBytes: Math.max(...t.rss),
  };
}
