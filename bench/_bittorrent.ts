/**
 * The BitTorrent baseline on the multi-host harness: Debian's opentracker (it chroots to the run directory, so its whitelist path is relative) and an aria2c
 * seeder in host 0, an aria2c leecher in every other host, all on the same shaped links as
 * the Canopy run. DHT, local peer discovery and peer exchange are off, so peers come only
 * from the tracker inside the namespaces. Completion times come from aria2's
 * --on-bt-download-complete hook, which stamps a file when a leecher has every piece.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { NetnsHarness, type HostSpec } from '../test/netns/harness.js';
import { procFigures, RunSampler } from './_proc.js';
import { makeTorrent } from './_torrent.js';

export interface BitTorrentResult {
  seconds: number;
  perNode: number[];
  originEgressRatio: number;
  cpuSeconds: number;
  /** Each leecher's CPU seconds and peak RSS at the end of the run. */
  perProcess: { cpuSeconds: number; peakRssMiB: number }[];
  /** Bytes each leecher's interface received during the run. */
  wireReceived: number[];
  busyFraction: number;
}

const ARIA_COMMON = ['--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false', '--seed-ratio=0.0', '--file-allocation=none', '--console-log-level=warn', '--summary-interval=0', '--bt-tracker-interval=1', '--bt-max-peers=0', '--max-overall-upload-limit=0', '--follow-torrent=false'];

export async function runBitTorrent(specs: HostSpec[], file: string, dir: string, pieceLength: number, timeoutMs: number, lossPercent = 0): Promise<BitTorrentResult> {
  const bytes = statSync(file).size;
  const harness = NetnsHarness.create(specs);
  try {
    if (lossPercent > 0) for (const h of harness.hosts) harness.setLoss(h, lossPercent);
    const [origin, ...leechers] = harness.hosts;
    const announce = `http://${origin!.ip}:6969/announce`;
    const { torrent, infoHash } = await makeTorrent(file, announce, pieceLength);
    mkdirSync(dir, { recursive: true });
    const torrentFile = path.join(dir, 'payload.torrent');
    writeFileSync(torrentFile, torrent);
    writeFileSync(path.join(dir, 'whitelist'), `${infoHash}\n`);
    const hook = path.join(dir, 'done.sh');
    writeFileSync(hook, '#!/bin/sh\ndate +%s.%N > "$3.done"\n');
    chmodSync(hook, 0o755);
    harness.spawn(origin!, ['opentracker', '-i', origin!.ip, '-p', '6969', '-P', '6969', '-d', dir, '-w', 'whitelist'], { stdio: 'ignore' });
    await sleep(300);
    const seedDir = path.dirname(file);
    harness.spawn(origin!, ['aria2c', ...ARIA_COMMON, '-V', '--bt-seed-unverified=true', '-d', seedDir, torrentFile], { stdio: 'ignore' });
    await sleep(1_000);
    const txBefore = harness.txBytes(origin!);
    const cpuBefore = harness.cpuSeconds();
    const rxBefore = leechers.map((h) => harness.rxBytes(h));
    const children: ChildProcess[] = [];
    const sampler = new RunSampler(() => new Map(children.map((c, i) => [String(i), c.pid])));
    const t0 = Date.now();
    const marks = leechers.map((h) => {
      const d = path.join(dir, h.name);
      mkdirSync(d, { recursive: true });
      children.push(harness.spawn(h, ['aria2c', ...ARIA_COMMON, `--on-bt-download-complete=${hook}`, '-d', d, torrentFile], { stdio: 'ignore' }));
      return path.join(d, path.basename(file)) + '.done';
    });
    // A mark exists a moment before the hook has written its time into it.
    const done = (m: string) => existsSync(m) && Number(readFileSync(m, 'utf8').trim()) > 0;
    while (!marks.every(done)) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`BitTorrent run did not finish in ${timeoutMs} ms`);
      await sleep(200);
    }
    const perNode = marks.map((m) => Number(readFileSync(m, 'utf8').trim()) - t0 / 1000);
    const machine = sampler.finish();
    const perProcess = children.map((c, i) => ({ cpuSeconds: procFigures(c.pid)?.cpuSeconds ?? 0, peakRssMiB: machine.peakRssMiB[String(i)] ?? 0 }));
    const wireReceived = leechers.map((h, i) => harness.rxBytes(h) - rxBefore[i]!);
    return { seconds: Math.max(...perNode), perNode, originEgressRatio: (harness.txBytes(origin!) - txBefore) / bytes, cpuSeconds: harness.cpuSeconds() - cpuBefore, perProcess, wireReceived, busyFraction: machine.busyFraction };
  } finally {
    await harness.stop(2_000);
  }
}
