/**
 * Swarm distribution against the fluid bound and against BitTorrent, on the multi-host
 * harness (needs root): one origin (the root) and N nodes, each in its own namespace with a
 * tbf-shaped link. Canopy publishes one content at the origin and every node fetches it;
 * then aria2c does the same distribution from a seeder with opentracker on fresh, identical
 * links. Options: --nodes 4 --size 64MiB --rate 100mbit --block-size 4MiB [--timeout SECONDS]
 * [--slow 0 (how many nodes get a quarter of the rate, up and down)] [--loss 0 (percent of
 * packets dropped on every host's link, each way, in both runs: a packet between two hosts
 * crosses two links)] [--delay 5-150 (round trips between hosts, in ms: each host's node holds what
 * it sends for a fixed time spread evenly from half the first figure to half the second, so a
 * pair's round trip is the sum of the two; this kernel has no netem, so the delay is emulated in
 * Canopy's processes (test/netns/emulated-delay.ts) and aria2c runs on undelayed links, which
 * makes it a stricter baseline)] [--no-bittorrent] [--floor (also the minimal Node.js swarm of
 * bench/_floor.ts on fresh, identical links: the work a member does with nothing around it)]
 * [--rounds 1 (Canopy and baseline runs, each a fresh swarm, alternating which goes first;
 * headline figures are then medians over the rounds, and `byRound` has each round's)].
 *
 * Tstar = max(F/u_origin, F/d_min, N·F/(u_origin + Σu_i)) with the nominal tc rates; tc's
 * goodput is about 96 % of nominal, so ratio ≈ 1.04 is the practical floor.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { writeSample } from '../src/demo/sample.js';
import { CanopyCluster } from '../test/netns/canopy-cluster.js';
import { NetnsHarness, rateBits, type HostSpec } from '../test/netns/harness.js';
import { runBitTorrent, type BitTorrentResult } from './_bittorrent.js';
import { floorCpu, floorFigures, floorPooled, floorRound, runFloor, type FloorResult } from './_floor.js';
import { procFigures, RunSampler, spread } from './_proc.js';
import { log, median, option, profileWindow, round, sizeOption } from './_util.js';

function specsFor(nodes: number, rate: string, slow: number): HostSpec[] {
  const quarter = `${Math.round(rateBits(rate) / 4 / 1000)}kbit`;
  return [{ name: 'origin', up: rate }, ...Array.from({ length: nodes }, (_, i) => ({ name: `n${i + 1}`, up: i < slow ? quarter : rate }))];
}

export function fluidBound(bytes: number, specs: HostSpec[]): number {
  return Math.max(...specs.slice(1).map((s) => nodeBound(bytes, specs, s.name)));
}

/** One node's own bound: the swarm's shared limits (the origin's upload, everyone's upload) or its own download, whichever is slower. */
export function nodeBound(bytes: number, specs: HostSpec[], name: string): number {
  const up = specs.map((s) => rateBits(s.up!) / 8);
  const node = specs.find((s) => s.name === name)!;
  const n = specs.length - 1;
  return Math.max(bytes / up[0]!, bytes / (rateBits((node.down ?? node.up)!) / 8), (n * bytes) / up.reduce((a, b) => a + b, 0));
}

/** Each node's completion time over its own bound, and the worst of the slow and of the other nodes (issue 17: each slow node within 1.1x its own bound). */
function perNodeRatios(perNode: Record<string, number>, bytes: number, specs: HostSpec[], slow: number) {
  const ratios = Object.fromEntries(Object.entries(perNode).map(([name, t]) => [name, round(t / nodeBound(bytes, specs, name))]));
  const slowNames = new Set(specs.slice(1, 1 + slow).map((s) => s.name));
  const worst = (pick: (name: string) => boolean) => Math.max(0, ...Object.entries(ratios).filter(([n]) => pick(n)).map(([, r]) => r));
  return { perNodeRatio: ratios, slowWorstRatio: slow > 0 ? worst((n) => slowNames.has(n)) : null, fastWorstRatio: worst((n) => !slowNames.has(n)) };
}

interface CanopyRun {
  seconds: number;
  perNode: Record<string, number>;
  originEgressRatio: number;
  cpuSeconds: number;
  /** Per node (not the origin): CPU seconds per GiB received, peak RSS, bytes received (wire and block level) per byte kept. */
  nodeCpuSecondsPerGiB: number[];
  originCpuSeconds: number;
  peakRssMiB: Record<string, number>;
  wireReceivedPerKept: number[];
  blockReceivedPerKept: number | null;
  /** Block bytes relayed while still arriving (cut-through), over all nodes. */
  relayedBytes: number;
  /** Each member's memory by kind (MiB) from its metrics, read when the last member completed. */
  endMemoryMiB: Record<string, number>[];
  treeReparents: number;
  handshakeTimeouts: number;
  /** Warning lines logged during the distribution, per node (the origin included), and the commonest messages. */
  warnings: Record<string, number>;
  warningKinds: Record<string, number>;
  /** Each status poll's time, connecting to the last byte (status-poller.ts). */
  statusAnswerMs: number[];
  machine: ReturnType<RunSampler['finish']>;
}

const REPARENT = /lost tree parent/g;
const HANDSHAKE_TIMEOUT = /handshake[^\n]*(timeout|timed out)|hello request got no answer|connecting to [^ ]+ timed out/gi;

function countInLogs(cluster: CanopyCluster, pattern: RegExp): number {
  let n = 0;
  for (const node of cluster.nodes.values()) n += readFileSync(path.join(node.dataDir, 'node.log'), 'utf8').match(pattern)?.length ?? 0;
  return n;
}

/** Warning lines (and their commonest messages) each node logged since `before` (line counts per log). */
function warningsInLogs(cluster: CanopyCluster, before?: Map<string, number>): { lines: Map<string, number>; byNode: Record<string, number>; kinds: Record<string, number> } {
  const lines = new Map<string, number>();
  const byNode: Record<string, number> = {};
  const kinds: Record<string, number> = {};
  for (const [name, node] of cluster.nodes) {
    const all = readFileSync(path.join(node.dataDir, 'node.log'), 'utf8').split('\n');
    lines.set(name, all.length);
    byNode[name] = 0;
    for (const line of all.slice(before?.get(name) ?? all.length)) {
      if (!line.includes('"level":"warn"')) continue;
      byNode[name]++;
      const msg = /"msg":"([^"]*)"/.exec(line)?.[1] ?? '?';
      kinds[msg] = (kinds[msg] ?? 0) + 1;
    }
  }
  return { lines, byNode, kinds };
}

/** Block bytes a node's swarm received, by outcome, from its own metrics (absent on builds before issue 23), and what it relayed. */
function blockBytes(cluster: CanopyCluster, name: string): { outcomes: Record<string, number>; relayed: number; memoryMiB: Record<string, number> } {
  const node = cluster.nodes.get(name)!;
  const token = readFileSync(cluster.apiTokenFile, 'utf8').trim();
  const text = cluster.harness.exec(node.host.ns, ['curl', '-sS', '--max-time', '10', '-H', `authorization: Bearer ${token}`, `${node.api}/metrics`]);
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^canopy_swarm_block_bytes_total\{outcome="(\w+)"\} (\d+)/gm)) out[m[1]!] = Number(m[2]);
  // Where a member's memory is at the end (RSS alone cannot tell the V8 heap from buffers or the allocator's keep).
  const gauge = (metric: string) => round(Number(new RegExp(`^canopy_${metric} (\\d+)`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20, 1);
  const memoryMiB = { rss: gauge('process_resident_memory_bytes'), heapUsed: gauge('process_heap_used_bytes'), heapTotal: gauge('process_heap_total_bytes'), external: gauge('process_external_bytes'), arrayBuffers: gauge('process_array_buffers_bytes'), poolFree: gauge('block_pool_free_bytes'), poolTrimmed: gauge('block_pool_trimmed_bytes_total') };
  return { outcomes: out, relayed: Number(/^canopy_swarm_relayed_bytes_total (\d+)/m.exec(text)?.[1] ?? 0), memoryMiB };
}

/** One-way send delay of each host (ms), spread evenly so the round trips between hosts run from `min` to `max`. */
export function hostDelays(names: string[], min: number, max: number): Map<string, number> {
  const step = names.length > 1 ? (max - min) / 2 / (names.length - 1) : 0;
  return new Map(names.map((name, i) => [name, round(min / 2 + i * step, 1)]));
}

interface LinkFaults {
  lossPercent: number;
  delays: Map<string, number>;
}

async function runCanopy(specs: HostSpec[], file: string, dir: string, blockSize: string, timeoutMs: number, faults: LinkFaults): Promise<CanopyRun> {
  const harness = NetnsHarness.create(specs);
  try {
    if (faults.lossPercent > 0) for (const h of harness.hosts) harness.setLoss(h, faults.lossPercent);
    const cluster = new CanopyCluster(harness, dir, true);
    for (const [name, ms] of faults.delays) cluster.delays.set(name, ms);
    await cluster.start();
    const [origin, ...members] = harness.hosts;
    const perNode: Record<string, number> = {};
    const publishStart = Date.now();
    const contentId = cluster.publish(file, { blockSize });
    // The clock starts when the origin has the content: ingest is not distribution.
    const t0 = Date.now();
    const txBefore = harness.txBytes(origin!);
    const rxBefore = members.map((h) => harness.rxBytes(h));
    const cpuBefore = harness.cpuSeconds();
    const pids = () => new Map([...cluster.nodes].map(([name, n]) => [name, n.process.pid]));
    const nodeCpuBefore = new Map([...pids()].map(([name, pid]) => [name, procFigures(pid)?.cpuSeconds ?? 0]));
    const reparentsBefore = countInLogs(cluster, REPARENT);
    const handshakesBefore = countInLogs(cluster, HANDSHAKE_TIMEOUT);
    const logLinesBefore = warningsInLogs(cluster).lines;
    const sampler = new RunSampler(pids);
    // Every status poll is timed: the root must answer from what it keeps, however busy the
    // machine. One long-lived poller, not a curl per poll: the aria2c run has no such load.
    const poller = cluster.statusPoller(contentId, 200);
    log(`canopy: published in ${((t0 - publishStart) / 1000).toFixed(1)} s; distributing (load ${sampler.loadAtStart})`);
    // Under `bench profile swarm`, the summaries cover the distribution, not the start-up.
    profileWindow('start');
    const status = await cluster
      .waitComplete(contentId, {
        timeoutMs,
        poller,
        onPoll: (s) => s.nodes.forEach((n) => n.complete && perNode[n.name] === undefined && (perNode[n.name] = (Date.now() - t0) / 1000)),
      })
      .finally(() => poller.stop());
    profileWindow('end');
    const elapsed = (Date.now() - t0) / 1000;
    status.nodes.forEach((n) => (perNode[n.name] ??= elapsed));
    const machine = sampler.finish();
    const size = status.size;
    const gib = size / 2 ** 30;
    const cpuOf = (name: string) => (procFigures(cluster.nodes.get(name)!.process.pid)?.cpuSeconds ?? 0) - (nodeCpuBefore.get(name) ?? 0);
    const counted = members.map((h) => blockBytes(cluster, h.name));
    const blocks = counted.map((c) => c.outcomes);
    const kept = blocks.reduce((a, b) => a + (b.kept ?? 0), 0);
    const warned = warningsInLogs(cluster, logLinesBefore);
    const received = blocks.reduce((a, b) => a + Object.values(b).reduce((x, y) => x + y, 0), 0);
    return {
      seconds: Math.max(...Object.values(perNode)),
      perNode,
      originEgressRatio: (harness.txBytes(origin!) - txBefore) / size,
      cpuSeconds: harness.cpuSeconds() - cpuBefore,
      nodeCpuSecondsPerGiB: members.map((h) => cpuOf(h.name) / gib),
      originCpuSeconds: cpuOf(origin!.name),
      peakRssMiB: machine.peakRssMiB,
      wireReceivedPerKept: members.map((h, i) => (harness.rxBytes(h) - rxBefore[i]!) / size),
      blockReceivedPerKept: kept > 0 ? received / kept : null,
      relayedBytes: counted.reduce((a, c) => a + c.relayed, 0),
      endMemoryMiB: counted.map((c) => c.memoryMiB),
      treeReparents: countInLogs(cluster, REPARENT) - reparentsBefore,
      handshakeTimeouts: countInLogs(cluster, HANDSHAKE_TIMEOUT) - handshakesBefore,
      warnings: warned.byNode,
      warningKinds: Object.fromEntries(Object.entries(warned.kinds).sort((a, b) => b[1] - a[1]).slice(0, 6)),
      statusAnswerMs: poller.answerMs,
      machine,
    };
  } finally {
    await harness.stop();
  }
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/** One Canopy run's figures (the whole JSON of a one-round bench, but for aria2c's). */
function canopyFigures(canopy: CanopyRun, size: number, specs: HostSpec[], slow: number): Record<string, unknown> {
  return {
    perNode: Object.fromEntries(Object.entries(canopy.perNode).map(([k, v]) => [k, round(v, 2)])),
    perNodeBound: Object.fromEntries(specs.slice(1).map((s) => [s.name, round(nodeBound(size, specs, s.name), 2)])),
    ...perNodeRatios(canopy.perNode, size, specs, slow),
    T: round(canopy.seconds, 2),
    Tstar: round(fluidBound(size, specs), 2),
    ratio: round(canopy.seconds / fluidBound(size, specs)),
    originEgressRatio: round(canopy.originEgressRatio),
    cpuSeconds: round(canopy.cpuSeconds, 1),
    cpuSecondsPerGiB: spread(canopy.nodeCpuSecondsPerGiB),
    originCpuSeconds: round(canopy.originCpuSeconds, 1),
    receivedPerKept: canopy.blockReceivedPerKept === null ? null : round(canopy.blockReceivedPerKept),
    // Share of the bytes the nodes received that came relayed while still arriving at the sender (cut-through).
    relayedShare: round(canopy.relayedBytes / (size * (specs.length - 1))),
    wireReceivedPerKept: spread(canopy.wireReceivedPerKept, 3),
    peakRssMiB: spread(memberPeaks(canopy)),
    originPeakRssMiB: round(canopy.peakRssMiB.origin ?? 0, 1),
    // Medians over the members, read from their metrics when the last one completed.
    endMemoryMiB: Object.fromEntries(Object.keys(canopy.endMemoryMiB[0] ?? {}).map((k) => [k, median(canopy.endMemoryMiB.map((m) => m[k]!))])),
    treeReparents: canopy.treeReparents,
    handshakeTimeouts: canopy.handshakeTimeouts,
    originWarnings: canopy.warnings[specs[0]!.name] ?? 0,
    nodeWarnings: spread(specs.slice(1).map((h) => canopy.warnings[h.name] ?? 0)),
    warningKinds: canopy.warningKinds,
    statusAnswerP99Ms: round(percentile(canopy.statusAnswerMs, 99), 0),
    statusPolls: canopy.statusAnswerMs.length,
    machineBusyFraction: round(canopy.machine.busyFraction),
    loadavg: { start: canopy.machine.loadAtStart, end: canopy.machine.loadAtEnd, peak1: canopy.machine.peakLoad1 },
  };
}

const memberPeaks = (canopy: CanopyRun) => Object.entries(canopy.peakRssMiB).filter(([name]) => name !== 'origin').map(([, v]) => v);
const btCpu = (bt: BitTorrentResult, size: number) => bt.perProcess.map((p) => p.cpuSeconds / (size / 2 ** 30));
/** A run's median member, or leecher, CPU per GiB: the two sides of the issue-15 row. */
const memberCpu = (canopy: CanopyRun) => spread(canopy.nodeCpuSecondsPerGiB, 3).median;
const leecherCpu = (bt: BitTorrentResult, size: number) => spread(btCpu(bt, size), 3).median;

/** One aria2c run's figures, and how Canopy's run compares with it. */
function btFigures(bt: BitTorrentResult, canopy: CanopyRun, size: number, specs: HostSpec[], slow: number): Record<string, unknown> {
  const btRatios = perNodeRatios(Object.fromEntries(bt.perNode.map((t, i) => [specs[i + 1]!.name, t])), size, specs, slow);
  return {
    T_bittorrent: round(bt.seconds, 2),
    bittorrentCpuSecondsPerGiB: spread(btCpu(bt, size)),
    // The name every data-path bench uses for its baseline's cost (issue 15): aria2c per leecher.
    baselineCpuSecondsPerGiB: spread(btCpu(bt, size)),
    // A member's CPU per GiB over an aria2c leecher's (medians of each run): the issue-15 row.
    cpuRatioVsBitTorrent: round(memberCpu(canopy) / leecherCpu(bt, size)),
    bittorrentPeakRssMiB: spread(bt.perProcess.map((p) => p.peakRssMiB)),
    bittorrentWireReceivedPerKept: spread(bt.wireReceived.map((b) => b / size), 3),
    bittorrentMachineBusyFraction: round(bt.busyFraction),
    bittorrentSlowWorstRatio: btRatios.slowWorstRatio,
    bittorrentFastWorstRatio: btRatios.fastWorstRatio,
    bittorrentCpuSeconds: round(bt.cpuSeconds, 1),
    bittorrentPerNode: bt.perNode.map((s) => round(s, 2)),
    bittorrentOriginEgressRatio: round(bt.originEgressRatio),
    ratioVsBitTorrent: round(canopy.seconds / bt.seconds),
  };
}

/**
 * With --rounds N: the first round's figures stay as the detail; the headline figures become
 * medians over the rounds (times, ratios), or spreads over every member (or leecher) of every
 * round (CPU per GiB, peak RSS: `max` is the largest member of any round), and `byRound` keeps
 * each round's own.
 */
function pooledFigures(canopyRuns: CanopyRun[], btRuns: BitTorrentResult[], floorRuns: FloorResult[], size: number, specs: HostSpec[]): Record<string, unknown> {
  const tstar = fluidBound(size, specs);
  const vsBt = (bt: BitTorrentResult, cpu: number) => {
    const btCpuMedian = leecherCpu(bt, size);
    return { T_bittorrent: round(bt.seconds, 2), baselineCpuSecondsPerGiB: round(btCpuMedian, 2), cpuRatioVsBitTorrent: round(cpu / btCpuMedian) };
  };
  const byRound = canopyRuns.map((c, i) => {
    const bt = btRuns[i];
    const floor = floorRuns[i];
    const cpu = memberCpu(c);
    return {
      T: round(c.seconds, 2),
      cpuSecondsPerGiB: round(cpu, 2),
      peakRssMiB: round(Math.max(...memberPeaks(c)), 1),
      loadavg: c.machine.loadAtStart,
      ...(bt ? vsBt(bt, cpu) : {}),
      ...(floor ? floorRound(floor, cpu, size) : {}),
    };
  });
  const t = median(canopyRuns.map((c) => c.seconds));
  return {
    T: round(t, 2),
    ratio: round(t / tstar),
    cpuSecondsPerGiB: spread(canopyRuns.flatMap((c) => c.nodeCpuSecondsPerGiB)),
    peakRssMiB: spread(canopyRuns.flatMap(memberPeaks)),
    ...(btRuns.length > 0
      ? {
          T_bittorrent: round(median(btRuns.map((b) => b.seconds)), 2),
          bittorrentCpuSecondsPerGiB: spread(btRuns.flatMap((b) => btCpu(b, size))),
          baselineCpuSecondsPerGiB: spread(btRuns.flatMap((b) => btCpu(b, size))),
          bittorrentPeakRssMiB: spread(btRuns.flatMap((b) => b.perProcess.map((p) => p.peakRssMiB))),
          cpuRatioVsBitTorrent: round(median(byRound.map((r) => r.cpuRatioVsBitTorrent!))),
          ratioVsBitTorrent: round(median(canopyRuns.map((c, i) => c.seconds / btRuns[i]!.seconds))),
        }
      : {}),
    ...(floorRuns.length > 0 ? floorPooled(floorRuns, byRound.map((r) => r.cpuRatioVsFloor!), size) : {}),
    byRound,
  };
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const nodes = Number(option(args, 'nodes', '4'));
  const size = sizeOption(args, 'size', '64MiB');
  const rate = option(args, 'rate', '100mbit');
  const slow = Number(option(args, 'slow', '0'));
  const loss = Number(option(args, 'loss', '0'));
  const delayRange = option(args, 'delay', '');
  const [delayMin, delayMax] = delayRange ? delayRange.split('-').map(Number) : [0, 0];
  if (delayRange && !(delayMin! >= 0 && delayMax! >= delayMin!)) throw new Error(`--delay wants MIN-MAX round trips in ms, e.g. 5-150 (got ${delayRange})`);
  const blockSize = option(args, 'block-size', '4MiB');
  const withBt = !args.includes('--no-bittorrent');
  const withFloor = args.includes('--floor');
  const rounds = Number(option(args, 'rounds', '1'));
  if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error(`--rounds wants a whole number of rounds, 1 or more (got ${option(args, 'rounds', '1')})`);
  const specs = specsFor(nodes, rate, slow);
  const dir = mkdtempSync(path.join(tmpdir(), 'canopy-i5-bench-'));
  const cleanup = () => (args.includes('--keep') ? log(`kept ${dir}`) : rmSync(dir, { recursive: true, force: true }));
  process.once('exit', cleanup);
  try {
    const file = path.join(dir, 'src', 'payload.bin');
    mkdirSync(path.dirname(file), { recursive: true });
    await writeSample(file, size, 'swarm-bench');
    const tstar = fluidBound(size, specs);
    // A starved machine (the shared 2-core VM at load 30+) can take many times the bound: --timeout S raises the limit.
    const timeoutMs = Number(option(args, 'timeout', '0')) * 1000 || Math.max(120_000, tstar * 1000 * 10);
    log(`swarm: ${nodes} nodes, ${size} bytes, ${rate}${slow ? `, ${slow} at a quarter` : ''}${loss ? `, ${loss} % loss per link` : ''}${delayRange ? `, round trips ${delayRange} ms` : ''}; Tstar ${tstar.toFixed(1)} s`);
    const delays = delayRange ? hostDelays(specs.map((s) => s.name), delayMin!, delayMax!) : new Map<string, number>();
    const canopyRuns: CanopyRun[] = [];
    const btRuns: BitTorrentResult[] = [];
    const floorRuns: FloorResult[] = [];
    // Each run in a directory of its own (kept with --keep, removed otherwise).
    const inRunDir = async <T>(name: string, r: number, go: (runDir: string) => Promise<T>): Promise<T> => {
      const runDir = path.join(dir, `${name}-${r + 1}`);
      const result = await go(runDir);
      if (!args.includes('--keep')) rmSync(runDir, { recursive: true, force: true });
      return result;
    };
    const runOnce = async (r: number) => {
      const canopy = await inRunDir('canopy', r, (d) => runCanopy(specs, file, d, blockSize, timeoutMs, { lossPercent: loss, delays }));
      canopyRuns.push(canopy);
      log(`canopy: T ${canopy.seconds.toFixed(1)} s, origin sent ${canopy.originEgressRatio.toFixed(2)} copies, node CPU ${spread(canopy.nodeCpuSecondsPerGiB).median} s/GiB`);
    };
    const btOnce = async (r: number) => {
      const bt = await inRunDir('bt', r, (d) => runBitTorrent(specs, file, d, 2 ** 20, timeoutMs, loss));
      btRuns.push(bt);
      log(`bittorrent: T ${bt.seconds.toFixed(1)} s, origin sent ${bt.originEgressRatio.toFixed(2)} copies, leecher CPU ${spread(btCpu(bt, size)).median} s/GiB`);
    };
    const blockBytes = sizeOption(args, 'block-size', '4MiB');
    const floorOnce = async (r: number) => {
      const floor = await inRunDir('floor', r, (d) => runFloor(specs, file, d, blockBytes, timeoutMs, loss));
      floorRuns.push(floor);
      log(`floor: T ${floor.seconds.toFixed(1)} s, member CPU ${spread(floorCpu(floor, size)).median} s/GiB`);
    };
    const baselines = async (r: number) => {
      if (withBt) await btOnce(r);
      if (withFloor) await floorOnce(r);
    };
    for (let r = 0; r < rounds; r++) {
      // Odd rounds run the baselines first: a load that drifts over the bench weighs on all alike.
      if (r % 2 === 1) await baselines(r);
      await runOnce(r);
      if (r % 2 === 0) await baselines(r);
    }
    const result: Record<string, unknown> = { nodes, bytes: size, rate, slow, lossPercentPerLink: loss, roundTripMs: delayRange ? { min: delayMin, max: delayMax, sendDelayMsByHost: Object.fromEntries(delays) } : null, blockSize, rounds };
    Object.assign(result, canopyFigures(canopyRuns[0]!, size, specs, slow));
    if (withBt) Object.assign(result, btFigures(btRuns[0]!, canopyRuns[0]!, size, specs, slow));
    if (withFloor) Object.assign(result, floorFigures(floorRuns[0]!, memberCpu(canopyRuns[0]!), size));
    if (rounds > 1) Object.assign(result, pooledFigures(canopyRuns, btRuns, floorRuns, size, specs));
    // What the run shared the machine with is in `loadavg` and `machineBusyFraction`, measured.
    result.machine = `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB`;
    return result;
  } finally {
    cleanup();
  }
}
