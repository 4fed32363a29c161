/**
 * End-to-end distribution on loopback: `canopy demo` with N nodes and a sample of SIZE,
 * against the same bytes copied with `cp` N/2 times (the local-disk limit for writing
 * one copy per qualified node). Options: --nodes 4 --size 256MiB.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LocalNetwork } from '../src/demo/local-network.js';
import { runDemo } from '../src/demo/demo.js';
import { writeSample } from '../src/demo/sample.js';
import { log, mbps, mib, option, ownCpuSeconds, perGiB, ProcessMeter, processTree, round, sizeOption, timedCommand, waitedChildrenCpuSeconds } from './_util.js';

export async function run(args: string[]): Promise<Record<string, unknown>> {
  // Nodes run as shipped (dist/, built by `npm run bench`), not through tsx: their RSS is the product's.
  process.env.CANOPY_CLI ??= 'dist';
  const nodes = Number(option(args, 'nodes', '4'));
  const size = sizeOption(args, 'size', '256MiB');
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-bench-'));
  try {
    log(`distributing ${size} bytes to ${nodes} nodes`);
    // Every process below this one (the nodes, curl) plus this one (the publishing client).
    const meter = new ProcessMeter(() => processTree(process.pid).filter((p) => p !== process.pid)).start();
    const ownBefore = ownCpuSeconds();
    const { network, result } = await runDemo({ nodes, size, dir: path.join(dir, 'net'), criteria: 'region=eu', basePort: 0, timeoutMs: 600_000, say: log, progress: undefined });
    const report = meter.stop();
    const canopyCpu = report.cpuSeconds + ownCpuSeconds() - ownBefore;
    await (network as LocalNetwork).stop();
    const src = path.join(dir, 'src.bin');
    await writeSample(src, size, 'bench');
    let cpSeconds = 0;
    const cpCpuBefore = waitedChildrenCpuSeconds();
    for (let i = 0; i < result.qualified; i++) cpSeconds += timedCommand('sh', ['-c', `cp ${src} ${dir}/copy${i} && sync`]);
    const cpCpu = waitedChildrenCpuSeconds() - cpCpuBefore;
    const bytes = size * result.qualified;
    return {
      nodes,
      qualified: result.qualified,
      bytes: size,
      canopySeconds: result.seconds,
      canopyMBps: mbps(bytes, result.seconds),
      cpSyncSeconds: round(cpSeconds),
      cpMBps: mbps(bytes, cpSeconds),
      ratio: round(result.seconds / cpSeconds),
      // CPU of the whole run (start, publish, distribute; every node) per GiB delivered to qualified nodes.
      cpuSecondsPerGiB: perGiB(canopyCpu, bytes),
      baselineCpuSecondsPerGiB: perGiB(cpCpu, bytes),
      peakRssMiB: mib(report.peakRssBytes),
      nodeRunsFrom: process.env.CANOPY_CLI === 'dist' ? 'dist' : 'tsx',
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
