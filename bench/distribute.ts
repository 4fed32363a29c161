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
 * With `--floor`, each round also runs the same publish and spread by minimal Node.js
 * processes doing only the work (bench/_distribute-floor.ts): `floorVsCp` is what the design's
 * guarantees cost in Node.js against cp + sync, `ratioVsFloor` what Canopy adds to that.
 * Options: --nodes 4 --size 256MiB --rounds 3 [--floor].
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { publishFile } from '../src/client/publish-file.js';
import { runDistributeFloor, type DistributeFloorResult } from './_distribute-floor.js';
import { demoAttributes, LocalNetwork } from '../src/demo/local-network.js';
import { writeSample } from '../src/demo/sample.js';
import { chooseBlockSize } from '../src/ingest/block-size.js';
import { defaultKeyPath, loadOrCreateKeyFile } from '../src/ingest/publisher-key.js';
import type { ContentStatusView } from '../src/root/content-status.js';
import { log, mbps, median, mib, option, ownCpuSeconds, perGiB, ProcessMeter, profileWindow, processTree, round, sizeOption, timedCommand, waitedChildrenCpuSeconds } from './_util.js';

const CRITERIA = 'region=eu';

/** A round's floor, and what the idle network used meanwhile. */
type FloorRound = DistributeFloorResult & { networkCpuSeconds: number };

export async function run(args: string[]): Promise<Record<string, unknown>> {
  // Nodes run as shipped (dist/, built by `npm run bench`), not through tsx: their RSS is the product's.
  process.env.CANOPY_CLI ??= 'dist';
  const nodes = Number(option(args, 'nodes', '4'));
  const size = sizeOption(args, 'size', '256MiB');
  const rounds = Number(option(args, 'rounds', '3'));
  const withFloor = args.includes('--floor');
  // The block size Canopy's publish chooses for the sample (a generic file of this size).
  const floorBlockSize = chooseBlockSize({ size }).blockSize;
  const floors: FloorRound[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-bench-distribute-'));
  const network = new LocalNetwork(path.join(dir, 'net'), 0);
  // Taken once the network is up: walking /proc at every 50 ms sample cost the client (metered too) ~1 s per round.
  let nodePids: number[] = [];
  const children = () => nodePids;
  try {
    const startedAt = Date.now();
    await network.start(Array.from({ length: nodes }, (_, i) => ({ name: `node-${i + 1}`, attrs: demoAttributes(i) })));
    const startSeconds = (Date.now() - startedAt) / 1000;
    nodePids = processTree(process.pid).filter((p) => p !== process.pid);
    log(`network up in ${round(startSeconds)} s: root pid ${network.root!.process.pid}, nodes ${network.nodes.map((n) => `${n.name} pid ${n.process.pid}`).join(', ')}`);
    const qualified = network.nodes.filter((n) => n.attrs.region === 'eu').length;
    const key = loadOrCreateKeyFile(defaultKeyPath());
    const rss = new ProcessMeter(children).start();
    const t = { canopy: [] as number[], cp: [] as number[] };
    const cpu = { canopy: [] as number[], cp: [] as number[] };
    const timeline: Record<string, unknown>[] = [];
    // CPU seconds per round by role: where the CPU goes (the client publishes in this process).
    const names = new Map([network.root!, ...network.nodes].map((n) => [n.process.pid!, n.name]));
    const byRole: Record<string, number>[] = [];
    const faultsByRole: Record<string, number>[] = [];
    for (let r = 0; r < rounds; r++) {
      // A fresh sample each round: blocks already held would be deduplicated, not moved.
      const src = path.join(dir, `src-${r}.bin`);
      await writeSample(src, size, `bench-distribute-${r}`);
      // The sample's own dirty pages are flushed here, untimed: the baseline's `sync` would
      // otherwise write them too (256 MiB more than its copies; until session 18 it did).
      spawnSync('sync');
      const copies = path.join(dir, 'copies');
      const cpCpu0 = waitedChildrenCpuSeconds();
      t.cp.push(timedCommand('sh', ['-c', `mkdir -p ${copies} && ${Array.from({ length: qualified }, (_, i) => `cp ${src} ${copies}/c${i}`).join(' && ')} && sync`]));
      cpu.cp.push(waitedChildrenCpuSeconds() - cpCpu0);
      rmSync(copies, { recursive: true, force: true });
      // Second in the round, on the same sample, before Canopy's run: run after it, the floor's
      // buffered writes often cost up to twice their usual system time (notes/issue-15.md,
      // Session 26), and Canopy's O_DIRECT writes do not.
      if (withFloor) {
        // The idle network's CPU meanwhile: the floor shares the machine with it.
        const idle = new ProcessMeter(children, undefined, 50).start();
        floors.push({ ...(await runDistributeFloor(src, path.join(dir, 'floor'), floorBlockSize)), networkCpuSeconds: idle.stop().cpuSeconds });
      }
      const meter = new ProcessMeter(children, undefined, 50).start();
      const own0 = ownCpuSeconds();
      const t0 = process.hrtime.bigint();
      profileWindow('start');
      profileWindow('start', 'publish');
      const published = await publishFile(network.rootApi, src, { criteria: CRITERIA, name: `round-${r}.bin`, key });
      profileWindow('end', 'publish');
      if (withFloor && published.blockSize !== floorBlockSize) log(`the floor used ${floorBlockSize}-byte blocks, Canopy ${published.blockSize}`);
      const publishedAt = Number(process.hrtime.bigint() - t0) / 1e9;
      profileWindow('start', 'spread');
      const phases = await waitDistributed(network, published.contentId, qualified, t0);
      profileWindow('end', 'spread');
      timeline.push({ publishSeconds: round(publishedAt), ...phases });
      t.canopy.push(Number(process.hrtime.bigint() - t0) / 1e9);
      profileWindow('end');
      const used = meter.stop();
      const client = ownCpuSeconds() - own0;
      cpu.canopy.push(used.cpuSeconds + client);
      byRole.push({ client: round(client, 2), ...Object.fromEntries(used.processes.map((p) => [names.get(p.pid) ?? String(p.pid), p.cpuSeconds])) });
      faultsByRole.push(Object.fromEntries(used.processes.map((p) => [names.get(p.pid) ?? String(p.pid), p.minorFaults])));
      rmSync(src, { force: true });
      const floorSays = withFloor ? `, floor ${round(floors[r]!.seconds)} s (cpu ${round(floors[r]!.cpuSeconds, 2)} s)` : '';
      log(`round ${r + 1}: canopy ${round(t.canopy[r]!)} s (cpu ${round(cpu.canopy[r]!, 2)} s), cp+sync ${round(t.cp[r]!)} s (cpu ${round(cpu.cp[r]!, 2)} s)${floorSays}`);
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
      // Per round, seconds from the publish's start: publish returned, first bytes at a node, each node complete.
      timeline,
      cpuSecondsByProcess: byRole,
      // Fresh memory the kernel had to map in (a block-sized buffer allocated anew is 256 faults per MiB).
      minorFaultsByProcess: faultsByRole,
      nodeRunsFrom: process.env.CANOPY_CLI === 'dist' ? 'dist' : 'tsx',
      ...(withFloor ? floorFigures(floors, median(t.canopy), median(cpu.canopy), cpSeconds, bytes) : {}),
    };
  } finally {
    await network.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Until every qualified node holds the content whole (polled every 50 ms, so the poll adds
 * little to the time). Returns when, after the publish started, the root first saw a node
 * report bytes and each node report complete (seconds): where the time between goes.
 */
async function waitDistributed(network: LocalNetwork, contentId: string, qualified: number, t0: bigint): Promise<{ firstBytesSeconds: number | null; completeSeconds: number[] }> {
  const deadline = Date.now() + 600_000;
  const since = () => round(Number(process.hrtime.bigint() - t0) / 1e9);
  let firstBytesSeconds: number | null = null;
  const completeAt = new Map<string, number>();
  for (;;) {
    const status = await network.rootApi.get<ContentStatusView>(`/api/contents/${contentId}/status`);
    const rows = status.nodes.filter((n) => n.qualified && n.name !== 'root');
    if (firstBytesSeconds === null && rows.some((n) => n.haveBytes > 0)) firstBytesSeconds = since();
    for (const n of rows) if (n.complete && !completeAt.has(n.name)) completeAt.set(n.name, since());
    if (status.nodes.filter((n) => n.qualified && n.complete).length >= qualified) return { firstBytesSeconds, completeSeconds: [...completeAt.values()] };
    if (Date.now() > deadline) throw new Error(`distribution of ${contentId} did not finish in 600 s`);
    await sleep(50);
  }
}

/** The floor's figures over the rounds (medians), against Canopy's and cp + sync's medians. */
function floorFigures(floors: FloorRound[], canopySeconds: number, canopyCpu: number, cpSeconds: number, bytes: number): Record<string, unknown> {
  const seconds = median(floors.map((f) => f.seconds));
  const cpuSeconds = median(floors.map((f) => f.cpuSeconds));
  return {
    floorSeconds: round(seconds),
    floorCpuSecondsPerGiB: perGiB(cpuSeconds, bytes),
    floorPeakRssMiB: round(Math.max(...floors.map((f) => f.peakRssMiB)), 1),
    // What the work itself costs in Node.js against cp + sync: the least `ratio` could be.
    floorVsCp: round(seconds / cpSeconds),
    ratioVsFloor: round(canopySeconds / seconds),
    cpuRatioVsFloor: round(canopyCpu / cpuSeconds),
    floorByRound: floors.map((f) => ({ seconds: round(f.seconds), cpuSeconds: round(f.cpuSeconds, 2), systemSeconds: round(f.systemSeconds, 2), networkCpuSeconds: round(f.networkCpuSeconds, 2), byProcess: Object.fromEntries(Object.entries(f.byProcess).map(([k, v]) => [k, round(v, 2)])) })),
  };
}
