/**
 * Publish + distribute on loopback in a running network: a root and N nodes are started
 * first (not timed: start-up is not the data path), then each round publishes a fresh
 * sample of SIZE with criteria that about half the nodes meet and waits until every
 * qualified node holds it, interleaved with the baseline, `cp` of the same bytes once per
 * qualified node followed by `sync` (the local-disk limit for writing those copies).
 * CPU is counted over the timed part only (every node and this publishing client), RSS
 * per node over the whole run.
 * `coldRatio` adds the network's start-up to Canopy's time (the first version of this
 * bench ran `canopy demo`, whose CPU count included the start-up).
 * Options: --nodes 4 --size 256MiB --rounds 3.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { publishFile } from '../src/client/publish-file.js';
import { demoAttributes, LocalNetwork } from '../src/demo/local-network.js';
import { writeSample } from '../src/demo/sample.js';
import { defaultKeyPath, loadOrCreateKeyFile } from '../src/ingest/publisher-key.js';
import type { ContentStatusView } from '../src/root/content-status.js';
import { log, mbps, median, mib, option, ownCpuSeconds, perGiB, ProcessMeter, processTree, round, sizeOption, timedCommand, waitedChildrenCpuSeconds } from './_util.js';

const CRITERIA = 'region=eu';

export async function run(args: string[]): Promise<Record<string, unknown>> {
  // Nodes run as shipped (dist/, built by `npm run bench`), not through tsx: their RSS is the product's.
  process.env.CANOPY_CLI ??= 'dist';
  const nodes = Number(option(args, 'nodes', '4'));
  const size = sizeOption(args, 'size', '256MiB');
  const rounds = Number(option(args, 'rounds', '3'));
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-bench-distribute-'));
  const network = new LocalNetwork(path.join(dir, 'net'), 0);
  const children = () => processTree(process.pid).filter((p) => p !== process.pid);
  try {
    const startedAt = Date.now();
    await network.start(Array.from({ length: nodes }, (_, i) => ({ name: `node-${i + 1}`, attrs: demoAttributes(i) })));
    const startSeconds = (Date.now() - startedAt) / 1000;
    const qualified = network.nodes.filter((n) => n.attrs.region === 'eu').length;
    const key = loadOrCreateKeyFile(defaultKeyPath());
    const rss = new ProcessMeter(children).start();
    const t = { canopy: [] as number[], cp: [] as number[] };
    const cpu = { canopy: [] as number[], cp: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      // A fresh sample each round: blocks already held would be deduplicated, not moved.
      const src = path.join(dir, `src-${r}.bin`);
      await writeSample(src, size, `bench-distribute-${r}`);
      const copies = path.join(dir, 'copies');
      const cpCpu0 = waitedChildrenCpuSeconds();
      t.cp.push(timedCommand('sh', ['-c', `mkdir -p ${copies} && ${Array.from({ length: qualified }, (_, i) => `cp ${src} ${copies}/c${i}`).join(' && ')} && sync`]));
      cpu.cp.push(waitedChildrenCpuSeconds() - cpCpu0);
      rmSync(copies, { recursive: true, force: true });
      const meter = new ProcessMeter(children, undefined, 50).start();
      const own0 = ownCpuSeconds();
      const t0 = process.hrtime.bigint();
      const published = await publishFile(network.rootApi, src, { criteria: CRITERIA, name: `round-${r}.bin`, key });
      await waitDistributed(network, published.contentId, qualified);
      t.canopy.push(Number(process.hrtime.bigint() - t0) / 1e9);
      cpu.canopy.push(meter.stop().cpuSeconds + ownCpuSeconds() - own0);
      rmSync(src, { force: true });
      log(`round ${r + 1}: canopy ${round(t.canopy[r]!)} s (cpu ${round(cpu.canopy[r]!, 2)} s), cp+sync ${round(t.cp[r]!)} s (cpu ${round(cpu.cp[r]!, 2)} s)`);
    }
    const report = rss.stop();
    const bytes = size * qualified;
    const canopySeconds = median(t.canopy);
    const cpSeconds = median(t.cp);
    return {
      nodes,
      qualified,
      bytes: size,
      rounds,
      startSeconds: round(startSeconds),
      canopySeconds: round(canopySeconds),
      canopyMBps: mbps(bytes, canopySeconds),
      cpSyncSeconds: round(cpSeconds),
      cpMBps: mbps(bytes, cpSeconds),
      ratio: round(canopySeconds / cpSeconds),
      // With the network's start-up added.
      coldRatio: round((canopySeconds + startSeconds) / cpSeconds),
      // CPU of publish + distribute (every node and the publishing client) per GiB delivered to qualified nodes.
      cpuSecondsPerGiB: perGiB(median(cpu.canopy), bytes),
      baselineCpuSecondsPerGiB: perGiB(median(cpu.cp), bytes),
      peakRssMiB: mib(report.peakRssBytes),
      nodeRssMiB: report.processes.filter((p) => p.label === 'node').map((p) => mib(p.peakRssBytes)),
      nodeRunsFrom: process.env.CANOPY_CLI === 'dist' ? 'dist' : 'tsx',
    };
  } finally {
    await network.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Until every qualified node holds the content whole (polled every 50 ms, so the poll adds little to the time). */
async function waitDistributed(network: LocalNetwork, contentId: string, qualified: number): Promise<void> {
  const deadline = Date.now() + 600_000;
  for (;;) {
    const status = await network.rootApi.get<ContentStatusView>(`/api/contents/${contentId}/status`);
    if (status.nodes.filter((n) => n.qualified && n.complete).length >= qualified) return;
    if (Date.now() > deadline) throw new Error(`distribution of ${contentId} did not finish in 600 s`);
    await sleep(50);
  }
}
