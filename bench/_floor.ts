/**
 * The floor of the swarm bench (`--floor`): a minimal Node.js swarm on the multi-host harness,
 * on the same shaped links as the Canopy run, doing the work a Canopy member does with
 * nothing around it: TLS 1.3 AES-128-GCM both ways, one SHA-256 over every received byte, one
 * write of every byte (one fdatasync at the end), relay in 256 KiB stages. Stripe topology:
 * block k is designated to member k % N, which gets it from the origin and relays it to every
 * other member (bench/_floor-origin.mjs, bench/_floor-member.mjs). What a Canopy member's CPU
 * per GiB is above this member's is Canopy's own; aria2c's is another program's design.
 *
 * Both run on process.execPath, so under `--node 24` they are on the same Node as the members.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { NetnsHarness, type Host, type HostSpec } from '../test/netns/harness.js';
import { RunSampler, spread } from './_proc.js';
import { log, median, round } from './_util.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PORT = 9443;

export interface FloorResult {
  seconds: number;
  perNode: number[];
  /** Each member's CPU seconds from the mesh being up to its fdatasync, and its peak RSS. */
  perProcess: { cpuSeconds: number; peakRssMiB: number }[];
  originCpuSeconds: number;
  busyFraction: number;
}

export type Line = Record<string, unknown> & { event?: string; from: string };

/** SHA-256 of each block of the file: what every member must have hashed. */
export function blockHashes(file: string, blockSize: number): string[] {
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(blockSize);
  try {
    const out: string[] = [];
    for (let start = 0; start < size; start += blockSize) {
      const len = Math.min(blockSize, size - start);
      let got = 0;
      while (got < len) {
        const n = readSync(fd, buf, got, len - got, start + got);
        if (n === 0) throw new Error(`${file} ended inside block ${out.length}`);
        got += n;
      }
      out.push(createHash('sha256').update(buf.subarray(0, len)).digest('hex'));
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** A throwaway self-signed certificate: the members do not authenticate, but the TLS work must be there. */
export function makeCert(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=floor', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

/** Collects a child's JSON lines, then its exit with its stderr (on `close`: all of it read by then). */
export function follow(child: ChildProcess, from: string, push: (l: Line) => void): void {
  const stderr: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (s) => (s.startsWith('{') ? push({ ...(JSON.parse(s) as Record<string, unknown>), from }) : log(`floor ${from}: ${s}`)));
  createInterface({ input: child.stderr! }).on('line', (s) => stderr.push(s));
  child.on('close', (code, signal) => push({ event: 'exit', from, code, signal, stderr: stderr.join('\n') }));
}

/** Waits until `pred` holds, failing at once when a process has died or past the deadline. */
export async function waitFor(events: Line[], pred: () => boolean, what: string, deadline: number): Promise<void> {
  while (!pred()) {
    const dead = events.find((e) => e.event === 'exit' && e.code !== 0 && !events.some((d) => d.event === 'done' && d.from === e.from));
    if (dead) throw new Error(`floor: ${dead.from} exited (${String(dead.code ?? dead.signal)}) waiting for ${what}: ${String(dead.stderr)}`);
    if (Date.now() > deadline) throw new Error(`floor: no ${what} in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts the origin, then (once it listens) every member; returns the members. */
async function spawnSwarm(harness: NetnsHarness, file: string, dir: string, blockSize: number, events: Line[], deadline: number): Promise<ChildProcess[]> {
  const [origin, ...members] = harness.hosts as [Host, ...Host[]];
  const common = { nodes: members.length, port: PORT, size: statSync(file).size, blockSize, ...makeCert(dir) };
  const start = (host: Host, script: string, cfg: object) => {
    const child = harness.spawn(host, [process.execPath, path.join(here, script), JSON.stringify({ ...common, ...cfg })], { stdio: ['ignore', 'pipe', 'pipe'] });
    follow(child, host.name, (l) => events.push(l));
    return child;
  };
  start(origin, '_floor-origin.mjs', { ip: origin.ip, file });
  await waitFor(events, () => events.some((e) => e.event === 'listening'), 'origin listening', deadline);
  const ips = members.map((h) => h.ip);
  return members.map((h, i) => start(h, '_floor-member.mjs', { index: i, ips, originIp: origin.ip, out: path.join(dir, `${h.name}.bin`) }));
}

export async function runFloor(specs: HostSpec[], file: string, dir: string, blockSize: number, timeoutMs: number, lossPercent = 0): Promise<FloorResult> {
  mkdirSync(dir, { recursive: true });
  const expected = blockHashes(file, blockSize);
  const harness = NetnsHarness.create(specs);
  try {
    if (lossPercent > 0) for (const h of harness.hosts) harness.setLoss(h, lossPercent);
    const events: Line[] = [];
    const deadline = Date.now() + timeoutMs;
    const members = await spawnSwarm(harness, file, dir, blockSize, events, deadline);
    const n = members.length;
    const done = () => events.filter((e) => e.event === 'done');
    // The clock (the origin's `start`) and the members' CPU start when the mesh is up: start-up and handshakes are not the work.
    await waitFor(events, () => events.some((e) => e.event === 'start'), 'start (every member connected)', deadline);
    const sampler = new RunSampler(() => new Map(members.map((c, i) => [String(i), c.pid])));
    await waitFor(events, () => done().length === n, 'completion', deadline);
    const machine = sampler.finish();
    await waitFor(events, () => events.some((e) => e.event === 'allSent'), 'origin finishing', deadline);
    const t0 = events.find((e) => e.event === 'start')!.t as number;
    const byIndex = done().sort((a, b) => (a.index as number) - (b.index as number));
    // Every member hashed every block it received: any one off means the run measured nothing.
    const wrong = byIndex.map((d) => [d.from, (d.hashes as string[]).filter((h, k) => h !== expected[k]).length] as const).filter(([, bad]) => bad > 0);
    if (wrong.length > 0 || byIndex.some((d) => (d.hashes as string[]).length !== expected.length)) throw new Error(`floor: block hashes differ from the content's: ${wrong.map(([m, bad]) => `${m} ${bad} blocks`).join(', ') || 'block counts'}`);
    const perNode = byIndex.map((d) => ((d.tEnd as number) - t0) / 1000);
    return {
      seconds: Math.max(...perNode),
      perNode,
      perProcess: byIndex.map((d) => ({ cpuSeconds: (d.userSeconds as number) + (d.systemSeconds as number), peakRssMiB: d.maxRssMiB as number })),
      originCpuSeconds: events.find((e) => e.event === 'allSent')!.cpuSeconds as number,
      busyFraction: machine.busyFraction,
    };
  } finally {
    await harness.stop(2_000);
  }
}

export const floorCpu = (floor: FloorResult, size: number) => floor.perProcess.map((p) => p.cpuSeconds / (size / 2 ** 30));
/** A floor run's median member CPU per GiB: the denominator of `cpuRatioVsFloor`. */
const floorMedian = (floor: FloorResult, size: number) => spread(floorCpu(floor, size), 3).median;

/** One floor run's figures, and a Canopy member's median CPU per GiB (`memberCpu`) over the floor member's. */
export function floorFigures(floor: FloorResult, memberCpu: number, size: number): Record<string, unknown> {
  return {
    T_floor: round(floor.seconds, 2),
    floorCpuSecondsPerGiB: spread(floorCpu(floor, size)),
    floorPeakRssMiB: spread(floor.perProcess.map((p) => p.peakRssMiB)),
    floorOriginCpuSeconds: round(floor.originCpuSeconds, 1),
    floorMachineBusyFraction: round(floor.busyFraction),
    cpuRatioVsFloor: round(memberCpu / floorMedian(floor, size)),
  };
}

/** A round's floor figures for `byRound`. */
export function floorRound(floor: FloorResult, memberCpu: number, size: number): { T_floor: number; floorCpuSecondsPerGiB: number; cpuRatioVsFloor: number } {
  const m = floorMedian(floor, size);
  return { T_floor: round(floor.seconds, 2), floorCpuSecondsPerGiB: round(m, 2), cpuRatioVsFloor: round(memberCpu / m) };
}

/** Over the rounds, as the aria2c figures are: spreads over every member of every round, the median of the rounds' times and ratios. */
export function floorPooled(floorRuns: FloorResult[], roundRatios: number[], size: number): Record<string, unknown> {
  return {
    T_floor: round(median(floorRuns.map((f) => f.seconds)), 2),
    floorCpuSecondsPerGiB: spread(floorRuns.flatMap((f) => floorCpu(f, size))),
    floorPeakRssMiB: spread(floorRuns.flatMap((f) => f.perProcess.map((p) => p.peakRssMiB))),
    cpuRatioVsFloor: round(median(roundRatios)),
  };
}
