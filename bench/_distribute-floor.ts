/**
 * The floor of the distribute bench (`--floor`): publish and spread on loopback by minimal
 * Node.js processes doing the work Canopy's do, with nothing around it. A publisher reads and
 * hashes the file and sends it over plain TCP (bench/_floor-publish.mjs); a root hashes every
 * block, writes it once and sends it on over TLS 1.3 AES-128-GCM to the member it is
 * designated to (bench/_floor-root.mjs); two members hash, write and relay to each other
 * (bench/_floor-member.mjs, as in the swarm floor); the root and every member start an
 * fdatasync every 32 MiB written and end with one. The clock runs from the publisher's first read to the last fdatasync, as
 * Canopy's from the publish's start to the last qualified node complete. Every process's
 * hashes are checked against the file's: a run that moved wrong bytes measured nothing.
 *
 * What Canopy costs above this is Canopy's own (its protocol, store, index, tree, metrics);
 * what this costs above `cp` + `sync` is the work the design's guarantees need in Node.js.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { blockHashes, follow, makeCert, waitFor, type Line } from './_floor.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// Loopback addresses: all of 127/8 is the loopback device on Linux, so each process has its own.
const ROOT_IP = '127.0.0.1';
const MEMBER_IPS = ['127.0.0.2', '127.0.0.3'];
// The root and the members start an fdatasync each time this much more is written (see _floor-member.mjs).
const SYNC_EVERY = 32 * 2 ** 20;

export interface DistributeFloorResult {
  seconds: number;
  /** When each process finished, in seconds from the publisher's first read (the publisher: its upload acknowledged). */
  doneSeconds: Record<string, number>;
  cpuSeconds: number;
  /** Of which in the kernel (system time). */
  systemSeconds: number;
  byProcess: Record<string, number>;
  peakRssMiB: number;
}

/** A port free on loopback now (the floor's processes bind it a moment later). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, ROOT_IP, resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function runDistributeFloor(file: string, dir: string, blockSize: number, timeoutMs = 300_000): Promise<DistributeFloorResult> {
  mkdirSync(dir, { recursive: true });
  const size = statSync(file).size;
  const expected = blockHashes(file, blockSize);
  const events: Line[] = [];
  const children: ChildProcess[] = [];
  const start = (name: string, script: string, cfg: object) => {
    const child = spawn(process.execPath, [path.join(here, script), JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
    follow(child, name, (l) => events.push(l));
    children.push(child);
  };
  const deadline = Date.now() + timeoutMs;
  try {
    const common = { nodes: MEMBER_IPS.length, size, blockSize, syncEvery: SYNC_EVERY, port: await freePort(), ...makeCert(dir) };
    const uploadPort = await freePort();
    start('root', '_floor-root.mjs', { ...common, ip: ROOT_IP, uploadPort, out: path.join(dir, 'root.bin') });
    await waitFor(events, () => events.some((e) => e.event === 'listening'), 'root listening', deadline);
    MEMBER_IPS.forEach((ip, i) => start(`m${i}`, '_floor-member.mjs', { ...common, index: i, ips: MEMBER_IPS, originIp: ROOT_IP, out: path.join(dir, `m${i}.bin`) }));
    await waitFor(events, () => events.some((e) => e.event === 'start'), 'start (every member connected)', deadline);
    start('publisher', '_floor-publish.mjs', { ip: ROOT_IP, uploadPort, file, size, blockSize });
    const done = (from: string) => events.find((e) => (e.event === 'done' || e.event === 'published') && e.from === from);
    const names = ['publisher', 'root', ...MEMBER_IPS.map((_, i) => `m${i}`)];
    await waitFor(events, () => names.every((n) => done(n) !== undefined), 'completion', deadline);
    const ends = names.map((n) => [n, done(n)!] as const);
    const wrong = ends.filter(([, d]) => (d.hashes as string[]).join() !== expected.join()).map(([n]) => n);
    if (wrong.length > 0) throw new Error(`distribute floor: block hashes differ from the file's in ${wrong.join(', ')}`);
    const t0 = done('publisher')!.t0 as number;
    const byProcess = Object.fromEntries(ends.map(([n, d]) => [n, (d.userSeconds as number) + (d.systemSeconds as number)]));
    const doneSeconds = Object.fromEntries(ends.map(([n, d]) => [n, ((d.tEnd as number) - t0) / 1000]));
    // The publisher's end is its upload answered; the others' ends are the content durable with them.
    const holders = ends.slice(1).map(([, d]) => d);
    return {
      seconds: Math.max(...names.slice(1).map((n) => doneSeconds[n]!)),
      doneSeconds,
      cpuSeconds: Object.values(byProcess).reduce((a, b) => a + b, 0),
      systemSeconds: ends.reduce((a, [, d]) => a + (d.systemSeconds as number), 0),
      byProcess,
      peakRssMiB: Math.max(...holders.map((d) => d.maxRssMiB as number)),
    };
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
